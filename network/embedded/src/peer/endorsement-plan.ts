import type { SignaturePolicy } from '../policy/signature-policy';

/**
 * The fewest organisations whose peers' endorsements satisfy the policy, preferring sets that
 * include `local` (the gateway's own organisation endorses first, as Fabric's gateway does).
 * Undefined when no set of the candidates can satisfy it.
 */
export function planOrganizations(policy: SignaturePolicy, local: string, candidates: string[]): string[] | undefined {
  const all = [local, ...candidates.filter((c) => c !== local)];
  const satisfies = (orgs: string[]) =>
    policy.satisfiedByIdentities(orgs.map((mspId) => ({ mspId, role: 'peer' as const, isAdmin: false })));
  for (let size = 1; size <= all.length; size++) {
    // Combinations in index order: those with `local` (index 0) come first.
    const pick = (from: number, chosen: string[]): string[] | undefined => {
      if (chosen.length === size) return satisfies(chosen) ? chosen : undefined;
      for (let i = from; i <= all.length - (size - chosen.length); i++) {
        const found = pick(i + 1, [...chosen, all[i] as string]);
        if (found) return found;
      }
      return undefined;
    };
    const found = pick(0, []);
    if (found) return found;
  }
  return undefined;
}
