import { formatCodeRef } from './code-ref';
import type { CodeRef, ConsentRecord, ConsentScope, Grantee, PurposeOfUse } from './ledger-model';

/** What a requester asks for. Codes may carry their category so a category-wide consent covers them. */
export interface AccessRequest {
  requesterOrg: string;
  /** Identity key of the individual requester, when known. */
  requesterId?: string;
  purpose: PurposeOfUse;
  categories: string[];
  codes: (CodeRef & { category?: string })[];
}

export type ConsentDecision = 'permit' | 'partial' | 'deny';

export interface ConsentEvaluation {
  decision: ConsentDecision;
  /** Active consents that cover at least one requested item. */
  consentIds: string[];
  permitted: ConsentScope;
  denied: ConsentScope;
  reason: string;
}

/**
 * A study consent matches no requester: it is the patient's consent to one research offer, used by
 * Research.Accept and Deliver only, never a licence to pull (an offerId may even look like an
 * identity key, so the kind is checked, not just the id).
 */
function granteeMatches(grantee: Grantee, request: AccessRequest): boolean {
  switch (grantee.kind) {
    case 'organization':
      return grantee.id === request.requesterOrg;
    case 'identity':
      return request.requesterId !== undefined && grantee.id === request.requesterId;
    case 'study':
      return false;
  }
}

/** Half-open interval [start, end): a consent ending at T no longer applies at T. */
export function consentInForce(consent: ConsentRecord, now: string): boolean {
  const t = Date.parse(now);
  return consent.status === 'active' && Date.parse(consent.period.start) <= t && t < Date.parse(consent.period.end);
}

/**
 * Decides which requested items the patient's consents cover. Pure and deterministic, so the
 * chaincode (at endorsement), the gateway and the patient's agent reach the same answer.
 */
export function evaluateConsent(
  consents: readonly ConsentRecord[],
  request: AccessRequest,
  now: string,
): ConsentEvaluation {
  const applicable = consents.filter(
    (c) => consentInForce(c, now) && granteeMatches(c.grantee, request) && c.purposes.includes(request.purpose),
  );
  const used = new Set<string>();
  const permitted: ConsentScope = { categories: [], codes: [] };
  const denied: ConsentScope = { categories: [], codes: [] };

  for (const category of request.categories) {
    const covering = applicable.filter((c) => c.scope.categories.includes(category));
    covering.forEach((c) => used.add(c.consentId));
    (covering.length > 0 ? permitted : denied).categories.push(category);
  }
  for (const code of request.codes) {
    const covering = applicable.filter(
      (c) =>
        c.scope.codes.some((k) => formatCodeRef(k) === formatCodeRef(code)) ||
        (code.category !== undefined && c.scope.categories.includes(code.category)),
    );
    covering.forEach((c) => used.add(c.consentId));
    const ref: CodeRef = { system: code.system, code: code.code };
    (covering.length > 0 ? permitted : denied).codes.push(ref);
  }

  const asked = request.categories.length + request.codes.length;
  const granted = permitted.categories.length + permitted.codes.length;
  let decision: ConsentDecision;
  let reason: string;
  if (asked === 0) {
    decision = 'deny';
    reason = 'the request names no category or code';
  } else if (applicable.length === 0) {
    decision = 'deny';
    reason = 'no active consent in force for this requester and purpose';
  } else if (granted === asked) {
    decision = 'permit';
    reason = 'every requested item is covered';
  } else if (granted === 0) {
    decision = 'deny';
    reason = 'consent exists but covers none of the requested items';
  } else {
    decision = 'partial';
    reason = `${granted} of ${asked} requested items are covered`;
  }
  return { decision, consentIds: [...used].sort(), permitted, denied, reason };
}
