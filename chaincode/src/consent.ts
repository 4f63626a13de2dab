import { Info, Returns, Transaction } from 'fabric-contract-api';
import {
  canonicalJson,
  evaluateConsent,
  type ConsentEventName,
  type ConsentEventPayload,
  GRANTEE_KINDS,
  PURPOSES_OF_USE,
  RECORD_ID_PATTERN,
  RESEARCH_PURPOSE,
  Roles,
  verifyConsentSignature,
  type AccessRequest,
  type ConsentGrantPayload,
  type ConsentRecord,
  type Grantee,
  type GranteeKind,
  type PurposeOfUse,
} from '@phr/common';
import { PhrContext } from './context';
import { conflict, forbidden, invalidArgument, notFound } from './errors';
import { Indexes, Keys } from './keys';
import { callerPseudonym, requireNotErased, requirePatient, requirePatientFor } from './patients';
import { PhrContract, type AccessRules } from './phr-contract';
import { requireOpenOffer } from './research-offers';
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
    // The patient's signature authorizes; only a hospital gateway relays it onto the ledger.
    GrantSignedConsent: [Roles.HospitalGateway],
    RevokeConsent: [Roles.Patient],
    ReadConsent: [Roles.Patient, Roles.HospitalGateway, Roles.Admin],
    ListConsents: [Roles.Patient, Roles.HospitalGateway, Roles.Admin],
    EvaluateConsent: [Roles.Patient, Roles.HospitalGateway, Roles.Admin, Roles.Clinician, Roles.Researcher],
  };

  constructor() {
    super('Consent');
  }

  /**
   * The patient is the caller; a pseudonym is never taken from arguments here. A study consent
   * (grantee `{kind:'study', id: offerId}`) is purpose HRESCH only and only for an offer still
   * taking participants.
   * @throws ChaincodeError INVALID_ARGUMENT for bad terms; NOT_FOUND / INVALID_STATE for a study
   *   consent to an unknown offer or one no longer taking participants; CONFLICT for other terms
   *   under the id.
   */
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
    const terms = validateGrant({
      consentId,
      grantee: parseJson(granteeJson, 'grantee'),
      scope: parseJson(scopeJson, 'scope'),
      purposes: parseJson(purposesJson, 'purposes'),
      start,
      end,
    });
    const pseudonym = await callerPseudonym(ctx);
    requireNotErased(await requirePatient(ctx, pseudonym));
    return storeConsent(ctx, { ...terms, pseudonym }, {});
  }

  /**
   * A consent the patient signed on their device, relayed by a hospital gateway (`POST
   * /fhir/Consent`). The pseudonym comes from the payload, so the patient's signature over it,
   * checked against the signing certificate the registry holds, is what authorizes the grant;
   * the relaying gateway only delivers it and is recorded as `relayedBy`.
   */
  @Transaction()
  @Returns('string')
  async GrantSignedConsent(ctx: PhrContext, payloadJson: string, signature: string): Promise<string> {
    const raw = parseJson<Partial<Record<keyof ConsentGrantPayload, unknown>> | null>(payloadJson, 'payload');
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalidArgument('payload must be an object');
    const terms = validateGrant(raw);
    const pseudonym = requirePseudonym(String(raw.pseudonym));
    if (typeof signature !== 'string' || signature.length === 0 || signature.length > 512) {
      throw invalidArgument('signature must be a base64 ECDSA signature');
    }
    const patient = requireNotErased(await requirePatient(ctx, pseudonym));
    // Verified over the validated, normalized terms: what is stored is exactly what was signed.
    const payload: ConsentGrantPayload = {
      consentId: terms.consentId,
      pseudonym,
      grantee: terms.grantee,
      scope: terms.scope,
      purposes: terms.purposes,
      start: terms.period.start,
      end: terms.period.end,
    };
    if (!verifyConsentSignature(payload, signature, patient.signingCertificate)) {
      throw forbidden(`the consent is not signed by the registered signing key of patient ${pseudonym}`);
    }
    return storeConsent(ctx, { ...terms, pseudonym }, { signature, relayedBy: ctx.caller.mspId });
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
    emitConsentEvent(ctx, 'ConsentRevoked', revoked);
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
 * Revokes every consent of the patient not revoked yet, in the calling transaction, and returns
 * them as they now stand. For PatientRegistry.Erase, which announces them in its own event (a
 * transaction has one event), so nothing is emitted here.
 */
export async function revokeActiveConsents(ctx: PhrContext, pseudonym: string): Promise<ConsentRecord[]> {
  const revokedAt = ctx.now;
  const revoked: ConsentRecord[] = [];
  for (const record of await loadConsents(ctx, pseudonym)) {
    if (record.status === 'revoked') continue;
    const updated: ConsentRecord = { ...record, status: 'revoked', revokedAt };
    await ctx.state.put(Keys.consent(record.consentId), updated);
    revoked.push(updated);
  }
  return revoked;
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

const GRANTEE_IDS: Record<GranteeKind, { pattern: RegExp; what: string }> = {
  organization: { pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, what: 'an MSP ID' },
  identity: { pattern: /^id[0-9a-f]{40}$/, what: 'an identity key' },
  study: { pattern: RECORD_ID_PATTERN, what: 'a research offer id' },
};

function parseGrantee(value: unknown): Grantee {
  const raw = value as Partial<Grantee> | null;
  if (!raw || typeof raw !== 'object') throw invalidArgument('grantee must be an object');
  const kind = requireOneOf(String(raw.kind), GRANTEE_KINDS, 'grantee.kind');
  const id = raw.id;
  if (typeof id !== 'string' || !GRANTEE_IDS[kind].pattern.test(id)) {
    throw invalidArgument(`grantee.id must be ${GRANTEE_IDS[kind].what}`);
  }
  return { kind, id };
}

function parsePurposes(raw: unknown): PurposeOfUse[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > PURPOSES_OF_USE.length) {
    throw invalidArgument('purposes must be a non-empty array of PurposeOfUse codes');
  }
  return [...new Set(raw.map((p) => requireOneOf(String(p), PURPOSES_OF_USE, 'purposes')))].sort();
}

type ConsentTerms = Pick<ConsentRecord, 'consentId' | 'grantee' | 'scope' | 'purposes' | 'period'>;

/** The one validation of a grant's terms, for GrantConsent and GrantSignedConsent alike. */
function validateGrant(raw: Partial<Record<keyof ConsentGrantPayload, unknown>>): ConsentTerms {
  const consentId = requireRecordId(raw.consentId as string, 'consentId');
  const grantee = parseGrantee(raw.grantee);
  const scope = requireScope(raw.scope, 'scope');
  const purposes = parsePurposes(raw.purposes);
  const period = { start: requireInstant(raw.start as string, 'start'), end: requireInstant(raw.end as string, 'end') };
  if (Date.parse(period.end) <= Date.parse(period.start)) throw invalidArgument('end must be after start');
  // A study consent is for research only, so it can never be read as a licence for anything else.
  if (grantee.kind === 'study' && (purposes.length !== 1 || purposes[0] !== RESEARCH_PURPOSE)) {
    throw invalidArgument(`a study consent's purposes must be exactly ["${RESEARCH_PURPOSE}"]`);
  }
  return { consentId, grantee, scope, purposes, period };
}

/**
 * The one place a consent is written. A retried grant of the same terms for the same patient is
 * answered with the record already there (a signed consent relayed twice, even with another
 * signature, or a revoked one relayed again, changes nothing); other terms under that id conflict.
 */
async function storeConsent(
  ctx: PhrContext,
  terms: ConsentTerms & { pseudonym: string },
  signed: { signature?: string; relayedBy?: string },
): Promise<string> {
  const { consentId, pseudonym, grantee, scope, purposes, period } = terms;
  const existing = await ctx.state.get<ConsentRecord>(Keys.consent(consentId));
  if (existing) {
    const same =
      existing.pseudonym === pseudonym &&
      canonicalJson([existing.grantee, existing.scope, existing.purposes, existing.period]) ===
        canonicalJson([grantee, scope, purposes, period]);
    if (same) return canonicalJson(existing); // retried grant
    throw conflict(`consent ${consentId} already exists`);
  }
  // Checked for new grants only: a retry after Research.Accept filled the last place still answers.
  if (grantee.kind === 'study') await requireOpenOffer(ctx, grantee.id);
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
    ...(signed.signature !== undefined ? { signature: signed.signature } : {}),
    ...(signed.relayedBy !== undefined ? { relayedBy: signed.relayedBy } : {}),
  };
  await ctx.state.put(Keys.consent(consentId), record);
  await ctx.state.putIndex(Indexes.consentByPatient, [pseudonym, consentId]);
  emitConsentEvent(ctx, 'ConsentGranted', record);
  return canonicalJson(record);
}

/**
 * Gateways keep their consent caches current from these (see @phr/common consent-events). A study
 * consent has no event: it never covers a pull, so no cache needs it, and every channel member
 * could read the event, the researcher's organisation too, which would learn who takes part.
 */
function emitConsentEvent(ctx: PhrContext, name: ConsentEventName, consent: ConsentRecord): void {
  if (consent.grantee.kind === 'study') return;
  const payload: ConsentEventPayload = { consentId: consent.consentId, pseudonym: consent.pseudonym, consent };
  ctx.stub.setEvent(name, Buffer.from(canonicalJson(payload)));
}
