import { X509Certificate } from 'node:crypto';
import { Info, Returns, Transaction } from 'fabric-contract-api';
import { canonicalJson, Roles, type HospitalRecord } from '@phr/common';
import { PhrContext } from './context';
import { invalidArgument, notFound } from './errors';
import { Keys } from './keys';
import { PhrContract, type AccessRules } from './phr-contract';

const ALL = Object.values(Roles);

const PEM_CERTIFICATE = /^\s*-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*$/;
const MAX_PEM_LENGTH = 16_384;

/**
 * Hospitals on the network: gateway endpoint, the gateway's signing certificate and the root of
 * the hospital's CA. Each hospital edits only its own entry.
 */
@Info({ title: 'Directory', description: 'Hospitals, their gateway endpoints, signing certificates and CA roots' })
export class DirectoryContract extends PhrContract {
  protected readonly rules: AccessRules = {
    RegisterHospital: [Roles.Admin],
    ReadHospital: ALL,
    ListHospitals: ALL,
  };

  constructor() {
    super('Directory');
  }

  /**
   * Creates or updates the caller's own organisation entry; the MSP ID comes from the certificate.
   * `caCertificate` must be one PEM CA certificate that issued both `signingCertificate` and the
   * caller's own certificate (which the MSP has already validated against the channel's roots), so
   * a hospital can publish only its own CA, never another organisation's.
   */
  @Transaction()
  @Returns('string')
  async RegisterHospital(
    ctx: PhrContext,
    displayName: string,
    gatewayUrl: string,
    signingCertificate: string,
    caCertificate: string,
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
    const signing = parseCertificate(signingCertificate, 'signingCertificate');
    const ca = parseCertificate(caCertificate, 'caCertificate');
    if (!ca.ca) throw invalidArgument('caCertificate must be a CA certificate (basic constraints CA:TRUE)');
    if (!issuedBy(signing, ca)) throw invalidArgument('signingCertificate was not issued by caCertificate');
    let own: X509Certificate;
    try {
      own = new X509Certificate(caller.certificatePem);
    } catch {
      throw invalidArgument("the caller's certificate cannot be read");
    }
    if (!issuedBy(own, ca)) {
      throw invalidArgument(
        `caCertificate did not issue the caller's certificate: it is not the CA of ${caller.mspId}`,
      );
    }
    const record: HospitalRecord = {
      docType: 'hospital',
      mspId: caller.mspId,
      displayName,
      gatewayUrl: url.toString(),
      signingCertificate: signingCertificate.trim(),
      caCertificate: caCertificate.trim(),
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

/** Exactly one PEM certificate that X.509 parsing accepts. */
function parseCertificate(pem: string, what: string): X509Certificate {
  if (
    typeof pem !== 'string' ||
    pem.length > MAX_PEM_LENGTH ||
    !PEM_CERTIFICATE.test(pem) ||
    pem.split('-----BEGIN CERTIFICATE-----').length !== 2
  ) {
    throw invalidArgument(`${what} must be one PEM certificate`);
  }
  try {
    return new X509Certificate(pem);
  } catch {
    throw invalidArgument(`${what} is not a readable X.509 certificate`);
  }
}

/** Names match and the issuer's key verifies the signature: deterministic, no clock involved. */
function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}
