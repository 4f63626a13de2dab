import { ACCESS_ACTIONS, badRequest, PhrSystems, type AccessAction, type AccessEventRecord } from '@phr/common';
import type { LedgerPort } from '../../ledger/ledger-port';
import {
  ACCESS_ACTION_TYPES,
  AUDIT_EVENT_ACTIONS,
  auditEventResource,
  searchsetBundle,
  type AuditEventAction,
} from '../projections';
import { dateParamsRange, ledgerBounds } from './date-range';
import type { FhirRequest, FhirResult } from './fhir-handler';
import { readLedger } from './ledger-errors';
import { ignoredParamsOutcome } from './outcomes';
import {
  authorizePatientReader,
  paramValues,
  patientParam,
  unknownParams,
  type PatientReaderDeps,
} from './patient-reader';

export interface AuditEventSearchDeps extends PatientReaderDeps {
  ledger: Pick<LedgerPort, 'listAccessEvents'>;
  /** `{base}/fhir`, for the entries' fullUrl. */
  fhirBaseUrl: string;
}

export const AUDIT_EVENT_SEARCH_PARAMS = ['patient', 'date', 'agent', 'action'] as const;

/**
 * `GET /fhir/AuditEvent?patient=<pseudonym>[&date=..][&agent=..][&action=..]`: the patient's access
 * events, oldest first. `date` narrows the ledger read itself (AccessLog.ListAccessEvents over
 * [from, to), every page of at most 100); `agent` and `action` filter what it returns. Repeated
 * parameters AND, comma-separated values OR, as FHIR search does.
 */
export async function searchAuditEvents(
  request: FhirRequest,
  deps: AuditEventSearchDeps,
): Promise<FhirResult<fhir4.Bundle<fhir4.AuditEvent>>> {
  const pseudonym = await authorizePatientReader(request.principal, () => patientParam(request), deps);
  const range = dateParamsRange(paramValues(request, 'date'));
  const agentFilters = paramValues(request, 'agent').map((alternatives) => alternatives.map(parseAgent));
  const actionFilters = paramValues(request, 'action').map((alternatives) => alternatives.map(parseAction));

  let records: AccessEventRecord[] = [];
  if (range.from < range.to) {
    const { from, to } = ledgerBounds(range);
    records = await readLedger<AccessEventRecord[]>(
      () => deps.ledger.listAccessEvents(pseudonym, from, to),
      () => [],
    );
  }
  const matches = records.filter(
    (r) =>
      inRange(r.recordedAt, range) &&
      agentFilters.every((any) => any.some((match) => match(r))) &&
      actionFilters.every((any) => any.some((match) => match(r))),
  );
  return [
    ignoredParamsOutcome(unknownParams(request, AUDIT_EVENT_SEARCH_PARAMS)),
    searchsetBundle(matches.map(auditEventResource), { selfUrl: request.selfUrl, fhirBaseUrl: deps.fhirBaseUrl }),
  ];
}

type Matcher = (r: AccessEventRecord) => boolean;

const IDENTITY_KEY = /^id[0-9a-f]{40}$/;

/**
 * An agent is an identity key (requester or the identity that wrote the event) or an MSP ID (of
 * either); `urn:phr-ledger:identity|<key>` and `urn:phr-ledger:msp|<MSP ID>` say which explicitly.
 */
function parseAgent(value: string): Matcher {
  const bar = value.indexOf('|');
  const system = bar >= 0 ? value.slice(0, bar) : undefined;
  const v = bar >= 0 ? value.slice(bar + 1) : value;
  if (!v) throw badRequest('agent needs a value', ['agent']);
  if (system === PhrSystems.identityKey || (system === undefined && IDENTITY_KEY.test(v))) {
    return (r) => r.requester.id === v || r.actor.id === v;
  }
  if (system === PhrSystems.mspId || system === undefined) {
    return (r) => r.requester.mspId === v || r.actor.mspId === v;
  }
  throw badRequest(`agent system must be ${PhrSystems.identityKey} or ${PhrSystems.mspId}`, ['agent']);
}

/** An R4 AuditEvent.action code (C R U D E) or one of the ledger's action names (pull, push, ...). */
function parseAction(value: string): Matcher {
  if ((AUDIT_EVENT_ACTIONS as readonly string[]).includes(value)) {
    const code = value as AuditEventAction;
    return (r) => ACCESS_ACTION_TYPES[r.action].action === code;
  }
  if ((ACCESS_ACTIONS as readonly string[]).includes(value)) {
    const action = value as AccessAction;
    return (r) => r.action === action;
  }
  throw badRequest(`action must be one of ${AUDIT_EVENT_ACTIONS.join(', ')} or ${ACCESS_ACTIONS.join(', ')}`, [
    'action',
  ]);
}

function inRange(recordedAt: string, range: { from: number; to: number }): boolean {
  const t = Date.parse(recordedAt);
  return t >= range.from && t < range.to;
}
