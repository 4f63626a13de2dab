/**
 * How tests seal a patient agent's keystore: scrypt N = 2^10 instead of the shipped 2^17. An unlock
 * at the shipped cost takes ~0.4 s of CPU by design; suites that make and open hundreds of agents
 * spent more than half their CPU in it (107 runs, 42 s, in three mobile-agent suites). The shipped
 * cost keeps its own tests: keystore.test.ts, and the e2e agents made by the `phr-agent` CLI, which
 * has no way to ask for less. Structural, so this package does not depend on the agent's.
 */
export const TEST_KEYSTORE: { readonly kdf: { readonly N: number }; readonly allowWeakKdf: true } = Object.freeze({
  kdf: Object.freeze({ N: 2 ** 10 }),
  allowWeakKdf: true,
});
