import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import {
  EMERGENCY_ATTRIBUTE,
  fabricAttributes,
  fabricX509Id,
  forbiddenError,
  identityKey,
  isRole,
  PATIENTS_MSP_ID,
  ROLE_ATTRIBUTE,
  Roles,
  unauthorized,
} from '@phr/common';
import type { Principal } from './principal';

/** Enough for every identity of a hospital's staff and systems; the oldest is forgotten first. */
const MAX_KNOWN_CERTIFICATES = 10_000;

export interface TrustedIssuer {
  mspId: string;
  caPem: string;
}

/**
 * Mutual TLS: the TLS layer has already checked the chain against the trusted CAs
 * (`socket.authorized`). Here the certificate becomes a Principal: its MSP from the CA that
 * issued it, its role from the Fabric CA attribute, its id exactly as the chaincode derives it.
 */
export class ClientCertificateAuthenticator {
  private readonly issuers: { mspId: string; ca: X509Certificate }[];
  /**
   * Principals by certificate fingerprint: an EHR posts with the same certificate thousands of
   * times, and reading its Fabric attributes (an ASN.1 parse) and checking its issuer cost ~1 ms a
   * request. Only what the certificate's bytes decide is kept; its validity is checked every time.
   */
  private readonly known = new Map<string, { principal: Principal; notBefore: number; notAfter: number }>();

  constructor(issuers: readonly TrustedIssuer[]) {
    this.issuers = issuers.map((i) => ({ mspId: i.mspId, ca: new X509Certificate(i.caPem) }));
  }

  authenticate(socket: TLSSocket): Principal {
    const peer = socket.getPeerX509Certificate?.();
    if (!peer) throw unauthorized('a client certificate is required (mutual TLS)');
    if (!socket.authorized) {
      throw unauthorized(`the client certificate is not trusted: ${String(socket.authorizationError ?? 'unknown')}`);
    }
    return this.principalOf(peer);
  }

  /** For certificates that arrive some other way (tests, relayed identities). */
  principalOf(cert: X509Certificate): Principal {
    const fingerprint = cert.fingerprint256;
    let known = this.known.get(fingerprint);
    if (!known) {
      known = {
        principal: this.derive(cert),
        notBefore: Date.parse(cert.validFrom),
        notAfter: Date.parse(cert.validTo),
      };
      if (this.known.size >= MAX_KNOWN_CERTIFICATES) this.known.delete(this.known.keys().next().value as string);
      this.known.set(fingerprint, known);
    }
    const now = Date.now();
    if (known.notBefore > now || known.notAfter < now) throw unauthorized('the client certificate is not valid now');
    return { ...known.principal };
  }

  private derive(cert: X509Certificate): Principal {
    const issuer = this.issuers.find((i) => cert.checkIssued(i.ca) && cert.verify(i.ca.publicKey));
    if (!issuer) throw unauthorized('the client certificate was not issued by a trusted CA');
    const pem = cert.toString();
    const attrs = fabricAttributes(pem);
    const role = attrs[ROLE_ATTRIBUTE];
    if (!isRole(role)) throw forbiddenError(`the client certificate has no valid ${ROLE_ATTRIBUTE} attribute`);
    if ((role === Roles.Patient) !== (issuer.mspId === PATIENTS_MSP_ID)) {
      throw forbiddenError(`role ${role} is not valid for identities of ${issuer.mspId}`);
    }
    return {
      mspId: issuer.mspId,
      role,
      id: identityKey(issuer.mspId, fabricX509Id(pem)),
      emergency: attrs[EMERGENCY_ATTRIBUTE] === 'true',
      certificatePem: pem,
    };
  }
}
