import { Info, Returns, Transaction } from 'fabric-contract-api';
import {
  canonicalJson,
  evaluateConsent,
  GRANTEE_KINDS,
  PURPOSES_OF_USE,
  Roles,
  type AccessRequest,
  type ConsentRecord,
  type Grantee,
  type PurposeOfUse,
} from '@phr/common';
import { PhrContext } from './context';
import { conflict, forbidden, invalidArgument, notFound } from './errors';
import { Indexes, Keys } from './keys';
import { callerPseudonym, requirePatientFor } from './patient-registry';
import { PhrContract, type AccessRules } from './phr-contract';
import {
  parseJson,
  requireCategories,
  requireCodes,
  requireInstant,
  requireOneOf,
  requirePseudonym,
  requireRecordId,
  requireScope,
} from './validate';

/** A patient's consents (grant and revoke by the patient's own identity only). */
@Info({ title: 'Consent', description: "Patients' consents: grantee, scope, purpose, period" })
export class ConsentContract extends PhrContract {
  protected readonly rules: AccessRules = {
    GrantConsent: [Roles.Patient],
    RevokeConsent: [Roles.Patient],
    ReadConsent: [Roles.Patient, Roles.HospitalGateway, Roles.Admin],
    ListConsents: [Roles.Patient, Roles.HospitalGateway, Roles.Admin],
    EvaluateConsent: [Roles.Patient, Roles.HospitalGateway, Roles.Admin, Roles.Clinician, Roles.Researcher],
  };

  constructor() {
    super('Consent');
  }

  /** The patient is the caller; a pseudonym is never taken from arguments here. */
  @Transaction()
  @Returns('string')
  async GrantConsent(
    ctx: PhrContext,
    consentId: string,
    granteeJson: string,
    scopeJson: string,
    purposesJson: string,
    start: string,
    end: string,
  ): Promise<string> {
    requireRecordId(consentId, 'consentId');
    const grantee = parseGrantee(granteeJson);
    const scope = requireScope(parseJson(scopeJson, 'scope'), 'scope');
    const purposes = parsePurposes(purposesJson);
    const period = { start: requireInstant(start, 'start'), end: requireInstant(end, 'end') };
    if (Date.parse(period.end) <= Date.parse(period.start)) throw invalidArgument('end must be after start');
    const pseudonym = await callerPseudonym(ctx);

    const record: ConsentRecord = {
      docType: 'consent',
      consentId,
      pseudonym,
      grantee,
      scope,
      purposes,
      period,
      status: 'active',
      grantedAt: ctx.now,
    };
    const existing = await ctx.state.get<ConsentRecord>(Keys.consent(consentId));
    if (existing) {
      const same =
        existing.pseudonym === pseudonym &&
        canonicalJson([existing.grantee, existing.scope, existing.purposes, existing.period]) ===
          canonicalJson([grantee, scope, purposes, period]);
      if (same) return canonicalJson(existing); // retried grant
      throw conflict(`consent ${consentId} already exists`);
    }
    await ctx.state.put(Keys.consent(consentId), record);
    await ctx.state.putIndex(Indexes.consentByPatient, [pseudonym, consentId]);
    ctx.stub.setEvent('ConsentGranted', Buffer.from(canonicalJson({ consentId, pseudonym, grantee })));
    return canonicalJson(record);
  }

  @Transaction()
  @Returns('string')
  async RevokeConsent(ctx: PhrContext, consentId: string): Promise<string> {
    requireRecordId(consentId, 'consentId');
    const record = await getConsent(ctx, consentId);
    const pseudonym = await callerPseudonym(ctx);
    if (record.pseudonym !== pseudonym) throw forbidden('only the patient who granted a consent may revoke it');
    if (record.status === 'revoked') return canonicalJson(record);
    const revoked: ConsentRecord = { ...record, status: 'revoked', revokedAt: ctx.now };
    await ctx.state.put(Keys.consent(consentId), revoked);
    ctx.stub.setEvent('ConsentRevoked', Buffer.from(canonicalJson({ consentId, pseudonym })));
    return canonicalJson(revoked);
  }

  @Transaction(false)
  @Returns('string')
  async ReadConsent(ctx: PhrContext, consentId: string): Promise<string> {
    const record = await getConsent(ctx, requireRecordId(consentId, 'consentId'));
    await requirePatientFor(ctx, record.pseudonym, 'a patient may only see their own consents');
    return canonicalJson(record);
  }

  @Transaction(false)
  @Returns('string')
  async ListConsents(ctx: PhrContext, pseudonym: string): Promise<string> {
    await requirePatientFor(ctx, requirePseudonym(pseudonym), 'a patient may only see their own consents');
    return canonicalJson(await loadConsents(ctx, pseudonym));
  }

  /**
   * Which of the requested items the patient's consents cover, now. Gateways and admins may ask
   * for any requester of their own organisation; everyone else only for themselves.
   */
  @Transaction(false)
  @Returns('string')
  async EvaluateConsent(ctx: PhrContext, pseudonym: string, requestJson: string): Promise<string> {
    await requirePatientFor(ctx, requirePseudonym(pseudonym), 'a patient may only see their own consents');
    const request = parseAccessRequest(ctx, requestJson);
    return canonicalJson(evaluateConsent(await loadConsents(ctx, pseudonym), request, ctx.now));
  }
}

export async function getConsent(ctx: PhrContext, consentId: string): Promise<ConsentRecord> {
  const record = await ctx.state.get<ConsentRecord>(Keys.consent(consentId));
  if (!record) throw notFound(`consent ${consentId} does not exist`);
  return record;
}

export async function loadConsents(ctx: PhrContext, pseudonym: string): Promise<ConsentRecord[]> {
  const entries = await ctx.state.allByIndex(Indexes.consentByPatient, [pseudonym]);
  const out: ConsentRecord[] = [];
  for (const [, consentId] of entries) {
    const record = await ctx.state.get<ConsentRecord>(Keys.consent(consentId ?? ''));
    if (record) out.push(record);
  }
  return out;
}

/**
 * Requester of an access request. Gateways and admins speak for identities of their own MSP;
 * clinicians, researchers and patients are always themselves.
 */
export function parseAccessRequest(ctx: PhrContext, requestJson: string): AccessRequest {
  const raw = parseJson<Partial<AccessRequest> | null>(requestJson, 'request');
  if (!raw || typeof raw !== 'object') throw invalidArgument('request must be an object');
  const caller = ctx.caller;
  const speaksForOthers = caller.role === Roles.HospitalGateway || caller.role === Roles.Admin;
  const requesterOrg = raw.requesterOrg ?? caller.mspId;
  if (requesterOrg !== caller.mspId) throw forbidden(`the caller may not act for organisation ${requesterOrg}`);
  let requesterId = raw.requesterId;
  if (!speaksForOthers) {
    if (requesterId !== undefined && requesterId !== caller.id) throw forbidden('the caller may only ask for itself');
    requesterId = caller.id;
  }
  if (requesterId !== undefined && (typeof requesterId !== 'string' || !/^id[0-9a-f]{40}$/.test(requesterId))) {
    throw invalidArgument('requesterId must be an identity key');
  }
  const purpose = requireOneOf(String(raw.purpose), PURPOSES_OF_USE, 'purpose');
  const categories = requireCategories(raw.categories ?? [], 'categories');
  const codes = requireCodes(raw.codes ?? [], 'codes');
  // keep per-code categories so a category-wide consent covers them
  const codeCategories = new Map(
    (Array.isArray(raw.codes) ? raw.codes : []).map((c) => [`${c.system}|${c.code}`, c.category] as const),
  );
  const request: AccessRequest = {
    requesterOrg,
    purpose,
    categories,
    codes: codes.map((c) => {
      const category = codeCategories.get(`${c.system}|${c.code}`);
      return typeof category === 'string' && requireCategories([category], 'code category').length === 1
        ? { ...c, category }
        : c;
    }),
  };
  if (requesterId !== undefined) request.requesterId = requesterId;
  return request;
}

function parseGrantee(json: string): Grantee {
  const raw = parseJson<Partial<Grantee> | null>(json, 'grantee');
  if (!raw || typeof raw !== 'object') throw invalidArgument('grantee must be an object');
  const kind = requireOneOf(String(raw.kind), GRANTEE_KINDS, 'grantee.kind');
  const id = raw.id;
  const valid = kind === 'organization' ? /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/ : /^id[0-9a-f]{40}$/;
  if (typeof id !== 'string' || !valid.test(id)) {
    throw invalidArgument(
      kind === 'organization' ? 'grantee.id must be an MSP ID' : 'grantee.id must be an identity key',
    );
  }
  return { kind, id };
}

function parsePurposes(json: string): PurposeOfUse[] {
  const raw = parseJson<unknown>(json, 'purposes');
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > PURPOSES_OF_USE.length) {
    throw invalidArgument('purposes must be a non-empty array of PurposeOfUse codes');
  }
  return [...new Set(raw.map((p) => requireOneOf(String(p), PURPOSES_OF_USE, 'purposes')))].sort();
}
