import { createHash } from 'node:crypto';
import type { AccessEventRecord } from '@phr/common';
import { PhrContext } from './context';
import { Keys } from './keys';

/**
 * Storage of access events, shared by AccessLog (events clients report) and Research (events the
 * chaincode writes itself), so both land where AccessLog:ListAccessEvents and ReadAccessEvent look.
 */
export async function findAccessEvent(ctx: PhrContext, eventId: string): Promise<AccessEventRecord | undefined> {
  const key = await ctx.state.get<string>(Keys.accessEventId(eventId));
  return key ? ctx.state.get<AccessEventRecord>(key) : undefined;
}

/** Writes the event under the patient's time-ordered key and its id index. */
export async function storeAccessEvent(ctx: PhrContext, record: AccessEventRecord): Promise<void> {
  const key = Keys.accessEvent(record.pseudonym, record.recordedAt, record.eventId);
  await ctx.state.put(key, record);
  await ctx.state.put(Keys.accessEventId(record.eventId), key);
}

/**
 * The id of an event the chaincode writes: the same on every endorser, one per transaction,
 * subject and patient. The pseudonym is hashed in, so the id does not reveal it.
 */
export function chaincodeEventId(ctx: PhrContext, prefix: string, subject: string, pseudonym: string): string {
  const digest = createHash('sha256').update(`${ctx.stub.getTxID()}|${subject}|${pseudonym}`).digest('hex');
  return `${prefix}-${digest.slice(0, 40)}`;
}
