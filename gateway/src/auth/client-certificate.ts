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
    const issuer = this.issuers.find((i) => cert.checkIssued(i.ca) && cert.verify(i.ca.publicKey));
    if (!issuer) throw unauthorized('the client certificate was not issued by a trusted CA');
    const now = Date.now();
    if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) {
      throw unauthorized('the client certificate is not valid now');
    }
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
