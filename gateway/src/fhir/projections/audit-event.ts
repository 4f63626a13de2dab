import {
  BREAK_THE_GLASS,
  canonicalJson,
  fhirIdOf,
  PhrSystems,
  purposeOfUseConcept,
  Roles,
  type AccessEventRecord,
  type IdentityRef,
} from '@phr/common';
import {
  ACCESS_ACTION_TYPES,
  ACCESS_OUTCOME_CODES,
  accessActionCoding,
  AgentType,
  EntityRole,
  EntityType,
  SourceType,
} from './audit-event-codes';
import { identityReference, patientReference, roleConcept } from './references';

/** A data element id: `<segment uuid>.<n>`; any other reference is a delivery id. */
const ELEMENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.\d+$/;

/** Why the query entity carries a digest and no `query`. */
export const QUERY_HASH_DESCRIPTION =
  'SHA-256 of the salted canonical query (seed 003 SC-3). The ledger never holds the query itself, ' +
  "so BALP's entity.query (the base64 query) cannot be given; the digest lets whoever holds the query " +
  'and its salt prove it was this one.';

/**
 * A ledger access event as an R4 AuditEvent after IHE BALP (Basic Audit Log Patterns).
 *
 * - Type, subtype and action by ledger action (audit-event-codes.ts): a pull is BALP's
 *   PatientQuery (rest, search-type, E), a push its PatientCreate (rest, create, C); our own action
 *   code is always a further subtype.
 * - Outcome 0 success, 4 denied (a refusal), 8 failed.
 * - Agents: the requester (identity key assigned by its MSP, its role, `requestor: true`, BALP's
 *   user: information recipient, for a pull); and, when someone else wrote the event — a hospital
 *   gateway logging for one of its users — that writer as BALP's server (Destination Role ID).
 *   `source` is the writer too: it observed the event and put it on the ledger.
 * - Entities: the patient (by pseudonym; Person, role Patient); the query (System Object, role
 *   Query) with its digest in `detail` (see QUERY_HASH_DESCRIPTION) and the scope asked for; each
 *   delivery or element referenced (System Object, Domain Resource); each consent that covered the
 *   access (Security Resource); and the ledger record itself (event id, transaction id).
 * - Purpose: `purposeOfEvent` and the requester's `purposeOfUse` from the PurposeOfUse (v3-ActReason).
 *   A break-glass access adds v3-ActReason BTG to both: the R4 way of saying that policy, here the
 *   patient's consent, was overridden for emergency treatment (ETREAT). No security label is set:
 *   `meta.security` would classify the audit record, not the access.
 */
export function auditEventResource(record: AccessEventRecord): fhir4.AuditEvent {
  const kind = ACCESS_ACTION_TYPES[record.action];
  const purposes: fhir4.CodeableConcept[] = [];
  if (record.purpose) purposes.push(purposeOfUseConcept(record.purpose));
  if (record.breakGlass) purposes.push({ coding: [{ ...BREAK_THE_GLASS }] });

  const requester: fhir4.AuditEventAgent = {
    ...(record.action === 'pull' ? { type: { coding: [{ ...AgentType.user }] } } : {}),
    role: [roleConcept(record.requester.role)],
    who: identityReference(record.requester),
    requestor: true,
    ...(purposes.length > 0 ? { purposeOfUse: purposes } : {}),
  };
  const agent = [requester];
  if (record.actor.id !== record.requester.id) {
    agent.push({
      type: { coding: [{ ...AgentType.server }] },
      role: [roleConcept(record.actor.role)],
      who: identityReference(record.actor),
      requestor: false,
    });
  }

  const event: fhir4.AuditEvent = {
    resourceType: 'AuditEvent',
    id: fhirIdOf(record.eventId),
    meta: { lastUpdated: record.recordedAt },
    type: { ...kind.type },
    subtype: [...('subtype' in kind ? [{ ...kind.subtype }] : []), accessActionCoding(record.action)],
    action: kind.action,
    recorded: record.recordedAt,
    outcome: ACCESS_OUTCOME_CODES[record.outcome],
    outcomeDesc: outcomeDescription(record),
    ...(purposes.length > 0 ? { purposeOfEvent: purposes } : {}),
    agent,
    source: {
      site: record.actor.mspId,
      observer: identityReference(record.actor),
      type: [{ ...sourceTypeOf(record.actor) }],
    },
    entity: entities(record),
  };
  return event;
}

function entities(record: AccessEventRecord): fhir4.AuditEventEntity[] {
  const out: fhir4.AuditEventEntity[] = [
    { what: patientReference(record.pseudonym), type: { ...EntityType.person }, role: { ...EntityRole.patient } },
  ];
  if (record.queryHash || record.scope) {
    const detail: fhir4.AuditEventEntityDetail[] = [];
    if (record.queryHash) detail.push({ type: 'query-sha256', valueString: record.queryHash });
    if (record.scope) detail.push({ type: 'scope', valueString: canonicalJson(record.scope) });
    out.push({
      type: { ...EntityType.systemObject },
      role: { ...EntityRole.query },
      ...(record.queryHash ? { description: QUERY_HASH_DESCRIPTION } : {}),
      detail,
    });
  }
  for (const ref of record.references) {
    const element = ELEMENT_ID.test(ref);
    out.push({
      what: { identifier: { system: element ? PhrSystems.elementId : PhrSystems.deliveryId, value: ref } },
      type: { ...EntityType.systemObject },
      role: { ...EntityRole.domainResource },
      description: element ? 'a data element of a delivery' : 'a delivery of records',
    });
  }
  for (const consentId of record.consentIds) {
    out.push({
      what: { type: 'Consent', identifier: { system: PhrSystems.consentId, value: consentId } },
      type: { ...EntityType.systemObject },
      role: { ...EntityRole.securityResource },
      description: 'the consent that permitted this access',
    });
  }
  out.push({
    what: { identifier: { system: PhrSystems.accessEventId, value: record.eventId } },
    type: { ...EntityType.systemObject },
    description: 'the ledger record of this event',
    detail: [{ type: 'fabric-transaction-id', valueString: record.txId }],
  });
  return out;
}

function sourceTypeOf(actor: IdentityRef): fhir4.Coding {
  if (actor.role === Roles.HospitalGateway) return SourceType.applicationServer;
  if (actor.role === Roles.Patient) return SourceType.userDevice;
  return SourceType.other;
}

function outcomeDescription(record: AccessEventRecord): string {
  if (record.outcome === 'denied') return "refused: not covered by the patient's consent or not allowed";
  if (record.outcome === 'failed') return 'failed: the action did not complete';
  if (record.breakGlass) {
    return record.consentIds.length > 0
      ? 'break-glass access (emergency treatment); a consent also covered it'
      : 'break-glass access (emergency treatment) without consent; the patient is notified';
  }
  if (record.consentIds.length > 0) return `permitted by consent ${record.consentIds.join(', ')}`;
  return 'completed';
}
