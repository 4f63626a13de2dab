import { X509Certificate } from 'node:crypto';
import { fabricAttributes, Roles } from '@phr/common';

/** The hospital whose gateway the mail came from, as the network profile names it. */
export interface ExpectedSender {
  mspId: string;
  /** Root of the hospital's CA: the gateway's signing certificate must chain to it. */
  caRootCertPem: string;
}

/**
 * Why a certificate may not speak for a hospital's gateway, or undefined when it may: it must be
 * issued by that hospital's CA for the hospital-gateway role. Deliveries and relayed pull
 * requests are both judged by this one rule.
 */
export function gatewayCertificateProblem(pem: string, sender: ExpectedSender, now: Date): string | undefined {
  let cert: X509Certificate;
  let root: X509Certificate;
  try {
    cert = new X509Certificate(pem);
    root = new X509Certificate(sender.caRootCertPem);
  } catch {
    return 'the sender certificate cannot be read';
  }
  if (!cert.checkIssued(root) || !cert.verify(root.publicKey)) {
    return `the sender certificate was not issued by ${sender.mspId}'s CA`;
  }
  // Old mail outlives certificates, but nothing may claim to be signed before the certificate existed.
  if (Date.parse(cert.validFrom) > now.getTime()) return 'the sender certificate is not valid yet';
  if (fabricAttributes(pem)['phr.role'] !== Roles.HospitalGateway) {
    return 'the sender certificate is not a hospital gateway identity';
  }
  return undefined;
}
