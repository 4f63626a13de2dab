import { createHash, verify, X509Certificate } from 'node:crypto';
import 'reflect-metadata';
import { X509Certificate as ParsedCertificate, X509Crl } from '@peculiar/x509';
import { verifyFabric } from '../crypto/ecdsa';
import { splitPemCertificates } from '../crypto/pem';

/** The roles a certificate can carry through NodeOUs (`msp/mspimplvalidate.go`). */
export type NodeRole = 'client' | 'peer' | 'admin' | 'orderer';
export const NODE_ROLES: readonly NodeRole[] = ['client', 'peer', 'admin', 'orderer'];

/** What a channel configuration says of one organisation's MSP (`msp.FabricMSPConfig`). */
export interface MspDefinition {
  mspId: string;
  rootCertsPem: string[];
  intermediateCertsPem: string[];
  tlsRootCertsPem: string[];
  tlsIntermediateCertsPem: string[];
  /** Admin certificates listed explicitly (empty with NodeOUs). */
  adminCertsPem: string[];
  /** DER CRLs: certificates they list are refused. */
  revocationListDer: Uint8Array[];
  /** NodeOU identifiers: OU value per role, or undefined when NodeOUs are off. */
  nodeOUs?: Record<NodeRole, string>;
}

export class MspError extends Error {
  override readonly name = 'MspError';
  constructor(
    readonly code: 'UNKNOWN_MSP' | 'BAD_IDENTITY' | 'UNTRUSTED' | 'EXPIRED' | 'NODE_OU' | 'REVOKED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A deserialized, validated identity of a channel member. */
export class Identity {
  constructor(
    readonly mspId: string,
    readonly certificate: X509Certificate,
    /** SerializedIdentity.id_bytes exactly as received. */
    readonly idBytes: Uint8Array,
    readonly role: NodeRole | undefined,
    readonly isAdmin: boolean,
  ) {}

  /** Fabric's ECDSA check: SHA-256, DER, low S only. */
  verify(message: Uint8Array, signature: Uint8Array): boolean {
    return verifyFabric(this.certificate, message, signature);
  }

  /** MSP id plus the certificate's hash: equal for the same identity however its PEM was written. */
  get key(): string {
    return `${this.mspId}\u0000${createHash('sha256').update(this.certificate.raw).digest('hex')}`;
  }
}

/**
 * Every OU value of the subject. Parsed from the DER, not from Node's `subject` text: Fabric CA
 * writes the type and the affiliation as one multi-valued RDN, which that text shows on one line
 * as `OU=org1 + OU=peer` (with escapes).
 */
function subjectOUs(cert: X509Certificate): string[] {
  return new ParsedCertificate(cert.raw).subjectName.getField('OU');
}

/** A CRL of the MSP: the serials it lists (lower-case hex, no leading zeros) and what its issuer signed. */
interface RevocationList {
  serials: Set<string>;
  tbs: Buffer;
  signature: Buffer;
  hash: string;
}

/** The bytes of the first element inside a DER SEQUENCE (a CertificateList's tbsCertList). */
function firstElement(der: Buffer): Buffer {
  const lengthAt = (at: number): [number, number] => {
    const b = der[at] ?? 0;
    if (b < 0x80) return [b, 1];
    const n = b & 0x7f;
    let len = 0;
    for (let i = 1; i <= n; i++) len = len * 256 + (der[at + i] ?? 0);
    return [len, 1 + n];
  };
  const [, outerLen] = lengthAt(1);
  const start = 1 + outerLen;
  const [len, lenLen] = lengthAt(start + 1);
  return der.subarray(start, start + 1 + lenLen + len);
}

function parseCrl(der: Uint8Array): RevocationList {
  try {
    const crl = new X509Crl(Buffer.from(der));
    // x509 types the hash as the DOM's Algorithm, which Node's typings don't declare
    const hash = crl.signatureAlgorithm.hash as { name: string };
    return {
      serials: new Set(crl.entries.map((e) => BigInt(`0x${e.serialNumber}`).toString(16))),
      tbs: firstElement(Buffer.from(der)),
      signature: Buffer.from(crl.signature),
      hash: hash.name.replace('-', '').toLowerCase(),
    };
  } catch (err) {
    throw new MspError('BAD_IDENTITY', 'the MSP carries a revocation list that is not a DER CRL', { cause: err });
  }
}

/**
 * One organisation's MSP: validates certificates the way Fabric's bccsp MSP does for what this
 * network uses — a chain to the org's root (or intermediate) CA, validity period, not revoked,
 * and with NodeOUs on, exactly one of the client/peer/admin/orderer OUs.
 */
export class Msp {
  private readonly roots: X509Certificate[];
  private readonly intermediates: X509Certificate[];
  private readonly admins: Set<string>;
  private readonly crls: RevocationList[];
  private readonly cache = new Map<string, Identity | MspError>();

  constructor(readonly definition: MspDefinition) {
    this.roots = definition.rootCertsPem.flatMap(splitPemCertificates);
    this.intermediates = definition.intermediateCertsPem.flatMap(splitPemCertificates);
    this.admins = new Set(definition.adminCertsPem.flatMap(splitPemCertificates).map((c) => c.fingerprint256));
    this.crls = definition.revocationListDer.map(parseCrl);
  }

  get mspId(): string {
    return this.definition.mspId;
  }

  /**
   * @throws MspError when the certificate is not a valid identity of this MSP.
   */
  identity(idBytes: Uint8Array): Identity {
    const cacheKey = Buffer.from(idBytes).toString('base64');
    const cached = this.cache.get(cacheKey);
    if (cached instanceof Identity) return this.checkTime(cached);
    if (cached) throw cached;
    let result: Identity | MspError;
    try {
      result = this.validate(idBytes);
    } catch (err) {
      result = err instanceof MspError ? err : new MspError('BAD_IDENTITY', String(err), { cause: err });
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(cacheKey, result);
    if (result instanceof MspError) throw result;
    return this.checkTime(result);
  }

  private checkTime(identity: Identity): Identity {
    const now = Date.now();
    const c = identity.certificate;
    if (now < Date.parse(c.validFrom) || now > Date.parse(c.validTo)) {
      throw new MspError('EXPIRED', `the certificate of ${c.subject.replace(/\n/g, ',')} is not valid at this time`);
    }
    return identity;
  }

  private validate(idBytes: Uint8Array): Identity {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(Buffer.from(idBytes));
    } catch (err) {
      throw new MspError('BAD_IDENTITY', `could not deserialize a certificate for ${this.mspId}`, { cause: err });
    }
    if (cert.ca) throw new MspError('BAD_IDENTITY', 'a CA certificate cannot be used as an identity');
    const issuer = this.chainOf(cert);
    // As Fabric: a CRL revokes only when the certificate's own issuer signed it; others are ignored.
    const serial = BigInt(`0x${cert.serialNumber}`).toString(16);
    for (const crl of this.crls) {
      if (!crl.serials.has(serial)) continue;
      if (!verify(crl.hash, crl.tbs, issuer.publicKey, crl.signature)) continue;
      throw new MspError('REVOKED', `the certificate ${cert.serialNumber} has been revoked by ${this.mspId}`);
    }
    let role: NodeRole | undefined;
    const ous = this.definition.nodeOUs;
    if (ous) {
      const mine = subjectOUs(cert);
      const matches = NODE_ROLES.filter((r) => mine.includes(ous[r]));
      if (matches.length === 0) {
        throw new MspError(
          'NODE_OU',
          'the identity does not contain any OU identifying it as a client, a peer, an orderer or an admin',
        );
      }
      if (matches.length > 1) {
        throw new MspError(
          'NODE_OU',
          'the identity must be a client, a peer, an orderer or an admin identity to be valid, not a combination of them',
        );
      }
      role = matches[0];
    }
    const isAdmin = role === 'admin' || this.admins.has(cert.fingerprint256);
    return new Identity(this.mspId, cert, idBytes, role, isAdmin);
  }

  /** The CA certificate that issued `cert`, chaining to a root of this MSP. */
  private chainOf(cert: X509Certificate): X509Certificate {
    const issuedBy = (c: X509Certificate, ca: X509Certificate) => c.checkIssued(ca) && c.verify(ca.publicKey);
    const root = this.roots.find((r) => issuedBy(cert, r));
    if (root) return root;
    for (const mid of this.intermediates) {
      if (issuedBy(cert, mid) && this.roots.some((r) => issuedBy(mid, r))) return mid;
    }
    throw new MspError('UNTRUSTED', `the certificate is not issued by a CA of ${this.mspId}`);
  }
}
