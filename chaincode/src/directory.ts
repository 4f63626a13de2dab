import { Info, Returns, Transaction } from 'fabric-contract-api';
import { canonicalJson, Roles, type HospitalRecord } from '@phr/common';
import { PhrContext } from './context';
import { invalidArgument, notFound } from './errors';
import { Keys } from './keys';
import { PhrContract, type AccessRules } from './phr-contract';

const ALL = Object.values(Roles);

/** Hospitals on the network: gateway endpoint and public keys. Each hospital edits only its own entry. */
@Info({ title: 'Directory', description: 'Hospitals, their gateway endpoints and public keys' })
export class DirectoryContract extends PhrContract {
  protected readonly rules: AccessRules = {
    RegisterHospital: [Roles.Admin],
    ReadHospital: ALL,
    ListHospitals: ALL,
  };

  constructor() {
    super('Directory');
  }

  /** Creates or updates the caller's own organisation entry; the MSP ID comes from the certificate. */
  @Transaction()
  @Returns('string')
  async RegisterHospital(
    ctx: PhrContext,
    displayName: string,
    gatewayUrl: string,
    signingCertificate: string,
    encryptionPublicKey: string,
  ): Promise<string> {
    const caller = ctx.caller;
    if (!caller.isHospital) throw invalidArgument('only hospital organisations are listed');
    if (typeof displayName !== 'string' || !/^[\p{L}\p{N} .,'&()-]{2,100}$/u.test(displayName)) {
      throw invalidArgument('displayName must be 2 to 100 letters, digits, spaces or punctuation');
    }
    let url: URL;
    try {
      url = new URL(gatewayUrl);
    } catch {
      throw invalidArgument('gatewayUrl must be an absolute URL');
    }
    if (url.protocol !== 'https:') throw invalidArgument('gatewayUrl must use https');
    if (!/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/.test(signingCertificate)) {
      throw invalidArgument('signingCertificate must be a PEM certificate');
    }
    if (
      typeof encryptionPublicKey !== 'string' ||
      encryptionPublicKey.length < 32 ||
      encryptionPublicKey.length > 4096
    ) {
      throw invalidArgument('encryptionPublicKey must be a PEM or base64 public key');
    }
    const record: HospitalRecord = {
      docType: 'hospital',
      mspId: caller.mspId,
      displayName,
      gatewayUrl: url.toString(),
      signingCertificate: signingCertificate.trim(),
      encryptionPublicKey: encryptionPublicKey.trim(),
      updatedAt: ctx.now,
    };
    await ctx.state.put(Keys.hospital(caller.mspId), record);
    ctx.stub.setEvent('HospitalRegistered', Buffer.from(canonicalJson({ mspId: caller.mspId })));
    return canonicalJson(record);
  }

  @Transaction(false)
  @Returns('string')
  async ReadHospital(ctx: PhrContext, mspId: string): Promise<string> {
    const record = await ctx.state.get<HospitalRecord>(Keys.hospital(mspId));
    if (!record) throw notFound(`hospital ${mspId} is not in the directory`);
    return canonicalJson(record);
  }

  @Transaction(false)
  @Returns('string')
  async ListHospitals(ctx: PhrContext): Promise<string> {
    const [start, end] = Keys.hospitalRange;
    const page = await ctx.state.pageByRange<HospitalRecord>(start, end, 100, '');
    return canonicalJson(page.records);
  }
}
