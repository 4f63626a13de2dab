import { Info, Returns, Transaction } from 'fabric-contract-api';
import {
  ACCESS_ACTIONS,
  ACCESS_OUTCOMES,
  canonicalJson,
  evaluateConsent,
  isRecordId,
  isRole,
  PURPOSES_OF_USE,
  Roles,
  type AccessEventRecord,
  type ConsentScope,
  type IdentityRef,
  type PatientRecord,
} from '@phr/common';
import { findAccessEvent, storeAccessEvent } from './access-events';
import { PhrContext } from './context';
import { conflict, consentRequired, forbidden, invalidArgument, notFound } from './errors';
import { Keys } from './keys';
import { loadConsents } from './consent';
import { requirePatient, requirePatientFor } from './patients';
import { PhrContract, type AccessRules } from './phr-contract';
import {
  parseJson,
  requireInstant,
  requireOneOf,
  requirePseudonym,
  requireRecordId,
  requireScope,
  requireSha256,
} from './validate';

/** Actions a patient's own agent reports about its own records. */
const PATIENT_ACTIONS: readonly string[] = [
  'backup',
  'restore',
  'export',
  'recovery',
  'rebuild',
  'erasure',
  'delivery-failed',
];
/** What a guardian reports on the patient it guards: its approval, or its refusal, of a recovery. */
const GUARDIAN_OUTCOMES: readonly string[] = ['success', 'denied'];

interface RequesterInput {
  id?: string;
  role?: string;
  emergency?: boolean;
}

interface AccessEventInput {
  eventId: string;
  pseudonym: string;
  action: string;
  outcome: string;
  purpose?: string;
  scope?: ConsentScope;
  references?: string[];
  queryHash?: string;
  breakGlass?: boolean;
  requester?: RequesterInput;
}

/** Access history (seed 003 SC-3): who did what with whose records, with what outcome. */
@Info({ title: 'AccessLog', description: 'Append-only access events per patient' })
export class AccessLogContract extends PhrContract {
  protected readonly rules: AccessRules = {
    RecordAccess: [Roles.HospitalGateway, Roles.Clinician, Roles.Researcher, Roles.Patient],
    ReadAccessEvent: [Roles.Patient, Roles.HospitalGateway, Roles.Admin],
    ListAccessEvents: [Roles.Patient, Roles.HospitalGateway, Roles.Admin],
  };

  constructor() {
    super('AccessLog');
  }

  /**
   * Appends an event. A successful pull must be covered by the patient's consent at this moment,
   * unless it is a flagged break-glass access by an emergency clinician.
   */
  @Transaction()
  @Returns('string')
  async RecordAccess(ctx: PhrContext, eventJson: string): Promise<string> {
    const input = parseJson<AccessEventInput | null>(eventJson, 'event');
    if (!input || typeof input !== 'object') throw invalidArgument('event must be an object');
    const eventId = requireRecordId(String(input.eventId), 'eventId');
    const pseudonym = requirePseudonym(String(input.pseudonym));
    const action = requireOneOf(String(input.action), ACCESS_ACTIONS, 'action');
    const outcome = requireOneOf(String(input.outcome), ACCESS_OUTCOMES, 'outcome');
    const purpose =
      input.purpose === undefined ? undefined : requireOneOf(String(input.purpose), PURPOSES_OF_USE, 'purpose');
    const scope = input.scope === undefined ? undefined : requireScope(input.scope, 'scope');
    const references = parseReferences(input.references);
    const queryHash = input.queryHash === undefined ? undefined : requireSha256(String(input.queryHash), 'queryHash');
    const breakGlass = input.breakGlass === true;
    const patient = await requirePatient(ctx, pseudonym);

    const caller = ctx.caller;
    const requester = resolveRequester(ctx, input.requester);

    if (caller.role === Roles.Patient) await checkPatientEvent(ctx, patient, action, outcome);
    // Research use is logged by the Research contract, from its own records, never on a client's word.
    if (action === 'research') throw forbidden('research events are written by the Research contract');
    if (action === 'push' && caller.role !== Roles.HospitalGateway)
      throw forbidden('only a hospital gateway logs pushes');
    if (breakGlass && (action !== 'pull' || purpose !== 'ETREAT' || !requester.emergency)) {
      throw forbidden('break-glass is only for pulls with purpose ETREAT by a clinician with emergency access');
    }

    let consentIds: string[] = [];
    if (action === 'pull' && outcome === 'success') {
      if (!purpose || !scope) throw invalidArgument('a successful pull must state its purpose and scope');
      const evaluation = evaluateConsent(
        await loadConsents(ctx, pseudonym),
        {
          requesterOrg: requester.ref.mspId,
          requesterId: requester.ref.id,
          purpose,
          categories: scope.categories,
          codes: scope.codes,
        },
        ctx.now,
      );
      if (evaluation.decision === 'permit') consentIds = evaluation.consentIds;
      else if (!breakGlass) {
        throw consentRequired(`the pull is not covered by consent (${evaluation.reason})`);
      }
    }

    const existing = await findAccessEvent(ctx, eventId);
    if (existing) {
      if (existing.pseudonym === pseudonym && existing.action === action && existing.actor.id === caller.id) {
        return canonicalJson(existing); // retried append
      }
      throw conflict(`access event ${eventId} already exists`);
    }

    const now = ctx.now;
    const record: AccessEventRecord = {
      docType: 'access-event',
      eventId,
      pseudonym,
      action,
      outcome,
      actor: caller.ref,
      requester: requester.ref,
      references,
      breakGlass,
      consentIds,
      recordedAt: now,
      txId: ctx.stub.getTxID(),
    };
    if (purpose) record.purpose = purpose;
    if (scope) record.scope = scope;
    if (queryHash) record.queryHash = queryHash;
    await storeAccessEvent(ctx, record);
    ctx.stub.setEvent(
      breakGlass ? 'BreakGlassAccess' : 'AccessRecorded',
      Buffer.from(canonicalJson({ eventId, pseudonym, action, outcome, breakGlass })),
    );
    return canonicalJson(record);
  }

  @Transaction(false)
  @Returns('string')
  async ReadAccessEvent(ctx: PhrContext, eventId: string): Promise<string> {
    const record = await findAccessEvent(ctx, requireRecordId(eventId, 'eventId'));
    if (!record) throw notFound(`access event ${eventId} does not exist`);
    await requirePatientFor(ctx, record.pseudonym, 'a patient may only see their own access log');
    return canonicalJson(record);
  }

  /** One patient's events in [from, to), oldest first, a page at a time. Empty bounds mean "all". */
  @Transaction(false)
  @Returns('string')
  async ListAccessEvents(
    ctx: PhrContext,
    pseudonym: string,
    from: string,
    to: string,
    pageSize: number,
    bookmark: string,
  ): Promise<string> {
    await requirePatientFor(ctx, requirePseudonym(pseudonym), 'a patient may only see their own access log');
    const start = from === '' ? '0' : requireInstant(from, 'from');
    const end = to === '' ? '9' : requireInstant(to, 'to');
    const [startKey, endKey] = Keys.accessRange(pseudonym, start, end);
    return canonicalJson(await ctx.state.pageByRange<AccessEventRecord>(startKey, endKey, pageSize, bookmark));
  }
}

/**
 * What a patient may log: its own housekeeping on its own record, or, as one of the record's
 * guardians (PatientRegistry.SetGuardians), its approval or refusal of a recovery.
 */
async function checkPatientEvent(ctx: PhrContext, patient: PatientRecord, action: string, outcome: string) {
  if (patient.owner === ctx.caller.id) {
    if (!PATIENT_ACTIONS.includes(action)) throw forbidden(`a patient may not log ${action} events`);
    return;
  }
  const own = await ctx.state.get<string>(Keys.patientOwner(ctx.caller.id));
  if (own === undefined || !(patient.guardians ?? []).includes(own)) {
    throw forbidden('a patient may only log access to their own records, or a recovery of a patient they guard');
  }
  if (action !== 'recovery' || !GUARDIAN_OUTCOMES.includes(outcome)) {
    throw forbidden("a guardian may only log its approval or refusal of a recovery on the patient's record");
  }
}

/**
 * Gateways log on behalf of users of their own organisation (the MSP is always the caller's);
 * everyone else is their own requester, with the emergency flag from their certificate.
 */
function resolveRequester(
  ctx: PhrContext,
  input: RequesterInput | undefined,
): { ref: IdentityRef; emergency: boolean } {
  const caller = ctx.caller;
  if (caller.role !== Roles.HospitalGateway || input === undefined) {
    return { ref: caller.ref, emergency: caller.role === Roles.Clinician && caller.emergency };
  }
  if (typeof input.id !== 'string' || !/^id[0-9a-f]{40}$/.test(input.id)) {
    throw invalidArgument('requester.id must be an identity key');
  }
  if (!isRole(input.role) || input.role === Roles.Patient) throw invalidArgument('requester.role must be a staff role');
  return {
    ref: { mspId: caller.mspId, role: input.role, id: input.id },
    emergency: input.role === Roles.Clinician && input.emergency === true,
  };
}

function parseReferences(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > 256 || !value.every(isRecordId)) {
    throw invalidArgument('references must be an array of at most 256 record ids');
  }
  return [...new Set(value)].sort();
}
