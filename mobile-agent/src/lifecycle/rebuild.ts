import { randomUUID } from 'node:crypto';
import type { DeliveryRecord } from '@phr/common';
import type { SyncReport } from '../agent-api';
import type { AgentLedger } from '../ledger/agent-ledger';
import type { Logger } from '../logger';
import type { HospitalProfile } from '../profile/network-profile';
import type { GatewayTransport, RebuildAnswer, RebuildStatus } from '../transport/gateway-transport';
import { TransportError } from '../transport/transport-error';
import type { Vault } from '../vault/vault-types';

/**
 * `phr-agent rebuild`: the vault refilled without a backup, from what the hospitals kept. The
 * ledger lists every delivery made to the pseudonym and who sent it; each sender whose
 * deliveries the vault lacks is asked to seal them again to the patient's current key and mail
 * them; the inbox then verifies each against the ledger's commitment like any delivery (and does
 * not acknowledge again what the patient took before). The report has one row per delivery.
 */

export interface RebuildRow {
  deliveryId: string;
  /** The sending hospital, by name where the agent knows it (else its MSP ID). */
  hospital: string;
  result: 'rebuilt' | 'already-here' | 'not-rebuilt';
  /** Why not, or why it did not need to be. */
  reason?: string;
}

export interface RebuildReport {
  rows: RebuildRow[];
  /** Hospitals that could not be reached. */
  unreachable: string[];
}

export interface RebuildDeps {
  pseudonym: string;
  ledger: AgentLedger;
  vault: Vault;
  /** The hospitals the agent knows (profile and directory). */
  hospitals: readonly HospitalProfile[];
  transport(hospital: HospitalProfile): GatewayTransport;
  /** Drains every mailbox (the agent's sync). */
  sync(): Promise<SyncReport>;
  log: Logger;
}

const GATEWAY_SAYS: Record<Exclude<RebuildStatus, 'resent'>, string> = {
  'not-kept': 'the hospital kept no copy of it',
  expired: 'the hospital’s copy has expired',
  'not-committed': 'the hospital has no commitment for it on the ledger',
};

/**
 * @throws the ledger's error when it cannot list the deliveries or record the event. A hospital
 * that cannot be reached, or refuses, is a row of the report, not an error.
 */
export async function rebuildFromHospitals(d: RebuildDeps): Promise<RebuildReport> {
  const onLedger: DeliveryRecord[] = await d.ledger.listDeliveries(d.pseudonym);
  const before = new Set((await d.vault.deliveries()).map((v) => v.deliveryId));
  const wanted = onLedger.filter((r) => !before.has(r.deliveryId) && r.status !== 'rejected');
  const bySender = new Map<string, HospitalProfile | undefined>();
  for (const r of wanted)
    bySender.set(
      r.sender,
      d.hospitals.find((h) => h.mspId === r.sender),
    );

  const answers = new Map<string, RebuildAnswer['deliveries'][number]>();
  const askFailed = new Map<string, string>();
  const unreachable: string[] = [];
  for (const [mspId, hospital] of bySender) {
    if (!hospital) {
      askFailed.set(mspId, `${mspId} is not a hospital this agent knows`);
      continue;
    }
    try {
      const answer = await d.transport(hospital).requestRebuild();
      for (const a of answer.deliveries ?? []) answers.set(a.deliveryId, a);
    } catch (err) {
      const unreached = err instanceof TransportError && err.code === 'UNREACHABLE';
      if (unreached) unreachable.push(hospital.name);
      askFailed.set(
        mspId,
        unreached ? `${hospital.name} could not be reached` : `${hospital.name} refused: ${text(err)}`,
      );
      d.log.warn({ hospital: hospital.name, err: text(err) }, 'rebuild: hospital not asked');
    }
  }

  const sync = wanted.length > 0 ? await d.sync() : undefined;
  const refused = new Map(
    (sync?.deliveries ?? []).filter((o) => o.result === 'refused').map((o) => [o.deliveryId, o.detail ?? o.reason]),
  );
  const after = new Set((await d.vault.deliveries()).map((v) => v.deliveryId));

  const rows = onLedger.map((r): RebuildRow => {
    const hospital = d.hospitals.find((h) => h.mspId === r.sender)?.name ?? r.sender;
    const row = (result: RebuildRow['result'], reason?: string): RebuildRow =>
      reason === undefined
        ? { deliveryId: r.deliveryId, hospital, result }
        : { deliveryId: r.deliveryId, hospital, result, reason };
    if (before.has(r.deliveryId)) return row('already-here', 'already in your vault');
    if (after.has(r.deliveryId)) return row('rebuilt', 'verified against the ledger and stored');
    if (r.status === 'rejected')
      return row('not-rebuilt', `you refused it earlier (${r.rejectionReason ?? 'refused'})`);
    const failed = askFailed.get(r.sender);
    if (failed) return row('not-rebuilt', failed);
    const answer = answers.get(r.deliveryId);
    if (!answer) return row('not-rebuilt', 'the hospital did not answer for it');
    if (answer.status !== 'resent') {
      return row(
        'not-rebuilt',
        answer.reason ? `${GATEWAY_SAYS[answer.status]}: ${answer.reason}` : GATEWAY_SAYS[answer.status],
      );
    }
    const refusal = refused.get(r.deliveryId);
    if (refusal) return row('not-rebuilt', `re-sent but refused: ${refusal}`);
    return row('not-rebuilt', 're-sent but not arrived yet: run `phr-agent inbox` again later');
  });

  const rebuilt = rows.filter((r) => r.result === 'rebuilt').map((r) => r.deliveryId);
  await d.ledger.recordAccess({
    eventId: randomUUID(),
    pseudonym: d.pseudonym,
    action: 'rebuild',
    outcome: rows.some((r) => r.result === 'not-rebuilt') ? 'failed' : 'success',
    references: rebuilt.slice(0, 256),
  });
  return { rows, unreachable };
}

function text(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 300);
}
