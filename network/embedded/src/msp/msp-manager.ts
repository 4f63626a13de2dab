import { msp as mspProtos } from '@hyperledger/fabric-protos';
import { Identity, Msp, MspError } from './msp';

/** The MSPs of a channel, by MSP id: deserializes `msp.SerializedIdentity` bytes. */
export class MspManager {
  private readonly msps = new Map<string, Msp>();

  constructor(msps: Iterable<Msp>) {
    for (const m of msps) this.msps.set(m.mspId, m);
  }

  get(mspId: string): Msp | undefined {
    return this.msps.get(mspId);
  }

  all(): Msp[] {
    return [...this.msps.values()];
  }

  /**
   * @throws MspError when the bytes are not a SerializedIdentity of a channel MSP, or not valid in it.
   */
  deserialize(serializedIdentity: Uint8Array): Identity {
    let sid: mspProtos.SerializedIdentity;
    try {
      sid = mspProtos.SerializedIdentity.deserializeBinary(serializedIdentity);
    } catch (err) {
      throw new MspError('BAD_IDENTITY', 'could not deserialize a SerializedIdentity', { cause: err });
    }
    const m = this.msps.get(sid.getMspid());
    if (!m) throw new MspError('UNKNOWN_MSP', `MSP ${sid.getMspid()} is not defined on channel`);
    return m.identity(sid.getIdBytes_asU8());
  }
}

export function serializeIdentity(mspId: string, certificatePem: string | Uint8Array): Uint8Array {
  const sid = new mspProtos.SerializedIdentity();
  sid.setMspid(mspId);
  sid.setIdBytes(typeof certificatePem === 'string' ? Buffer.from(certificatePem) : certificatePem);
  return sid.serializeBinary();
}
