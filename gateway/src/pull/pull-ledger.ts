import type { AccessEventRecord, AccessRequest, ConsentEvaluation, ConsentScope, PurposeOfUse } from '@phr/common';

/** An access event the gateway writes for one of its own organisation's requesters. */
export interface GatewayAccessEvent {
  eventId: string;
  pseudonym: string;
  action: 'pull';
  outcome: 'success' | 'denied' | 'failed';
  purpose: PurposeOfUse;
  scope: ConsentScope;
  references: string[];
  queryHash: string;
  breakGlass: boolean;
  requester: { id: string; role: string; emergency: boolean };
}

/**
 * The ledger calls of the pull flow: the consent decision (Consent.EvaluateConsent, the same pure
 * function the chaincode and the agent run) and the audit trail (AccessLog.RecordAccess, which
 * refuses a successful pull that the patient's consent does not cover).
 */
export interface PullLedger {
  evaluateConsent(pseudonym: string, request: AccessRequest): Promise<ConsentEvaluation>;
  recordAccess(event: GatewayAccessEvent): Promise<AccessEventRecord>;
}

export function isPullLedger(value: unknown): value is PullLedger {
  const v = value as Partial<PullLedger> | null;
  return typeof v?.evaluateConsent === 'function' && typeof v.recordAccess === 'function';
}
