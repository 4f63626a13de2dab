/**
 * A research consent names a study (an offer id), not an organisation or identity: it records that
 * the patient agreed to one study and never lets anyone pull records. The agent shows it as such
 * everywhere, and only organisation and identity grantees can be granted or matched for a pull.
 */
import type { Grantee, GranteeKind } from '@phr/common';

/** The grantee kinds a patient can grant, and a pull can be authorised by. */
export const PULL_GRANTEE_KINDS = ['organization', 'identity'] as const satisfies readonly GranteeKind[];
export type PullGranteeKind = (typeof PULL_GRANTEE_KINDS)[number];

export function isPullGrantee(kind: unknown): kind is PullGranteeKind {
  return (PULL_GRANTEE_KINDS as readonly unknown[]).includes(kind);
}

export function isStudyGrantee(grantee: Pick<Grantee, 'kind'>): boolean {
  return grantee.kind === 'study';
}

/** "study offer-1 (research, via the Research offer)". */
export function studyGranteeText(offerId: string): string {
  return `study ${offerId} (research, via the Research offer)`;
}
