/**
 * The error contract between the chaincode and every ledger client: the only codes the chaincode
 * refuses with. The chaincode's error class takes nothing else, and each client maps them in a
 * `Record<ChaincodeErrorCode, ...>`, so a code added here fails to compile until every client
 * decides what it means for its caller. chaincode/src/errors.test.ts checks that the chaincode
 * throws each of them and nothing outside them.
 */
export const CHAINCODE_ERROR_CODES = [
  /** The caller's role, organisation or identity may not do this (or a signature does not verify). */
  'FORBIDDEN',
  /** The named patient, delivery, consent, event or hospital is not on the ledger. */
  'NOT_FOUND',
  /** The id is taken by a different record; a retry of the same write is answered, not refused. */
  'CONFLICT',
  /** An argument is malformed; the same call can never succeed. */
  'INVALID_ARGUMENT',
  /** The record exists but is not in a state that allows this change (e.g. a delivery already rejected). */
  'INVALID_STATE',
  /** A pull's success is not covered by the patient's consents at the ledger's time of the write. */
  'CONSENT_REQUIRED',
] as const;

export type ChaincodeErrorCode = (typeof CHAINCODE_ERROR_CODES)[number];

export function isChaincodeErrorCode(value: unknown): value is ChaincodeErrorCode {
  return (CHAINCODE_ERROR_CODES as readonly unknown[]).includes(value);
}

/**
 * The message of a refusal. Clients see only the endorsement error text, which Fabric prefixes
 * with its own words, so the code leads the chaincode's part: "CODE: detail".
 */
export function chaincodeErrorMessage(code: ChaincodeErrorCode, detail: string): string {
  return `${code}: ${detail}`;
}

const REFUSAL = new RegExp(`\\b(${CHAINCODE_ERROR_CODES.join('|')}): ([^\\n]*)`);

/** The chaincode's refusal inside an error text (whatever Fabric put around it), if it holds one. */
export function parseChaincodeError(text: string): { code: ChaincodeErrorCode; detail: string } | undefined {
  const m = REFUSAL.exec(text);
  return m ? { code: m[1] as ChaincodeErrorCode, detail: m[2] as string } : undefined;
}
