import { Hl7Systems, PhrSystems, type AccessAction, type AccessOutcome } from '@phr/common';

/** R4 AuditEvent.action (http://hl7.org/fhir/audit-event-action). */
export const AUDIT_EVENT_ACTIONS = ['C', 'R', 'U', 'D', 'E'] as const;
export type AuditEventAction = (typeof AUDIT_EVENT_ACTIONS)[number];

/** The BALP event type for RESTful interactions. */
export const REST_EVENT_TYPE = {
  system: Hl7Systems.auditEventType,
  code: 'rest',
  display: 'RESTful Operation',
} as const;

/**
 * How each ledger action is typed. Requests that arrived as FHIR REST interactions follow BALP:
 * a pull is a search (IHE.BasicAudit.PatientQuery: subtype search-type, action E); a push is the
 * EHR's create through the gateway (IHE.BasicAudit.PatientCreate: subtype create, action C). The
 * patient agent's own housekeeping is not REST, so it takes DICOM's Export (backup, export: the
 * records leave the vault, R) and Import (restore, recovery, rebuild: they come back, C;
 * delivery-failed: a delivery the agent refused to import); an erasure is DICOM's Patient Record
 * event with action D, as for any deletion of a patient's record. Our own action code is always a second subtype, so the
 * exact ledger action is never lost.
 */
export const ACCESS_ACTION_TYPES = {
  pull: {
    type: REST_EVENT_TYPE,
    subtype: { system: Hl7Systems.restfulInteraction, code: 'search-type', display: 'search type' },
    action: 'E',
  },
  push: {
    type: REST_EVENT_TYPE,
    subtype: { system: Hl7Systems.restfulInteraction, code: 'create', display: 'create' },
    action: 'C',
  },
  backup: { type: { system: Hl7Systems.dicom, code: '110106', display: 'Export' }, action: 'R' },
  export: { type: { system: Hl7Systems.dicom, code: '110106', display: 'Export' }, action: 'R' },
  restore: { type: { system: Hl7Systems.dicom, code: '110107', display: 'Import' }, action: 'C' },
  recovery: { type: { system: Hl7Systems.dicom, code: '110107', display: 'Import' }, action: 'C' },
  'delivery-failed': { type: { system: Hl7Systems.dicom, code: '110107', display: 'Import' }, action: 'C' },
  rebuild: { type: { system: Hl7Systems.dicom, code: '110107', display: 'Import' }, action: 'C' },
  erasure: { type: { system: Hl7Systems.dicom, code: '110110', display: 'Patient Record' }, action: 'D' },
  // de-identified data handed to (or used by) a researcher: it leaves the records, as an export does
  research: { type: { system: Hl7Systems.dicom, code: '110106', display: 'Export' }, action: 'R' },
} as const satisfies Record<AccessAction, { type: fhir4.Coding; subtype?: fhir4.Coding; action: AuditEventAction }>;

export const ACCESS_ACTION_DISPLAYS = {
  push: 'records delivered by a hospital',
  pull: 'records requested',
  backup: 'vault backed up',
  restore: 'vault restored',
  export: 'records exported',
  recovery: 'keys recovered',
  'delivery-failed': 'delivery refused by the agent',
  rebuild: 'records rebuilt from the hospitals',
  erasure: 'records erased',
  research: 'de-identified data used for research',
} as const satisfies Record<AccessAction, string>;

export function accessActionCoding(action: AccessAction): fhir4.Coding {
  return { system: PhrSystems.accessAction, code: action, display: ACCESS_ACTION_DISPLAYS[action] };
}

/**
 * R4 AuditEvent.outcome: success 0; a refusal (no consent, not allowed) is a minor failure 4 —
 * the system worked as intended — and a failure is serious 8: the action did not complete.
 */
export const ACCESS_OUTCOME_CODES = {
  success: '0',
  denied: '4',
  failed: '8',
} as const satisfies Record<AccessOutcome, '0' | '4' | '8' | '12'>;

/** Entity types (audit-entity-type) and roles (object-role) as BALP uses them. */
export const EntityType = {
  person: { system: Hl7Systems.auditEntityType, code: '1', display: 'Person' },
  systemObject: { system: Hl7Systems.auditEntityType, code: '2', display: 'System Object' },
} as const;

export const EntityRole = {
  patient: { system: Hl7Systems.objectRole, code: '1', display: 'Patient' },
  domainResource: { system: Hl7Systems.objectRole, code: '4', display: 'Domain Resource' },
  securityResource: { system: Hl7Systems.objectRole, code: '13', display: 'Security Resource' },
  job: { system: Hl7Systems.objectRole, code: '20', display: 'Job' },
  query: { system: Hl7Systems.objectRole, code: '24', display: 'Query' },
} as const;

/**
 * Agent types as BALP names them: the client is the Source Role ID and the server the Destination
 * Role ID (the DICOM pattern: the request flows client → server), the user is the information
 * recipient.
 */
export const AgentType = {
  client: { system: Hl7Systems.dicom, code: '110153', display: 'Source Role ID' },
  server: { system: Hl7Systems.dicom, code: '110152', display: 'Destination Role ID' },
  user: { system: Hl7Systems.participationType, code: 'IRCP', display: 'information recipient' },
} as const;

/** AuditEvent.source.type (security-source-type). */
export const SourceType = {
  userDevice: { system: Hl7Systems.securitySourceType, code: '1', display: 'User Device' },
  applicationServer: { system: Hl7Systems.securitySourceType, code: '4', display: 'Application Server' },
  other: { system: Hl7Systems.securitySourceType, code: '9', display: 'Other' },
} as const;
