import { peer } from '@hyperledger/fabric-protos';
import { parseSignaturePolicy } from '@phr/embedded-fabric';

/**
 * A signature policy as its protobuf bytes, from Fabric's policy language (`OutOf(2,'A.peer',…)`)
 * or from the base64 ApplicationPolicy `peer lifecycle chaincode querycommitted -O json` prints as
 * `validation_parameter`. Both are re-encoded here, so equal policies give equal bytes.
 */
function policyBytes(policy: string): Buffer {
  if (/[(']/.test(policy)) return Buffer.from(parseSignaturePolicy(policy).serializeBinary());
  const app = peer.ApplicationPolicy.deserializeBinary(Buffer.from(policy, 'base64'));
  const sig = app.getSignaturePolicy();
  if (!sig) throw new Error('not a signature policy');
  return Buffer.from(sig.serializeBinary());
}

/** Whether two endorsement policies are the same signature policy. */
export function sameSignaturePolicy(a: string, b: string): boolean {
  try {
    return policyBytes(a).equals(policyBytes(b));
  } catch {
    return false;
  }
}
