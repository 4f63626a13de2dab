import { X509Certificate } from 'node:crypto';
import type { HospitalRecord } from '@phr/common';
import { HOSPITAL_NAME, HospitalSchema, type HospitalProfile, type NetworkProfile } from './network-profile';

const MAX_NAME_LENGTH = 40;
const MSP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A directory entry the agent did not take, and why (no certificate or URL in it: only the MSP ID). */
export interface IgnoredEntry {
  mspId: string;
  reason: string;
}

export interface DirectoryLearning {
  /** Hospitals the profile did not know, as profile entries, in directory order. */
  added: HospitalProfile[];
  ignored: IgnoredEntry[];
}

/**
 * What the ledger's directory adds to a profile: every hospital whose MSP ID the profile does not
 * have yet, with its gateway URL and CA root. A hospital the profile already has is never changed,
 * whatever the directory says of it: the directory cannot override the trust the device was
 * initialised with. Entries that are not usable (no https URL, no CA certificate that issued the
 * gateway's signing certificate, the patients' organisation) are ignored and reported.
 *
 * The chaincode already refuses a CA that did not issue the registering admin's certificate; the
 * checks here only keep a malformed or legacy entry out of the profile.
 */
export function learnFromDirectory(profile: NetworkProfile, records: readonly unknown[], now: Date): DirectoryLearning {
  const known = new Set(profile.hospitals.map((h) => h.mspId));
  // Names and MSP IDs both select a hospital (`hospitalByName`): a new name must clash with neither.
  const taken = new Set(profile.hospitals.flatMap((h) => [h.name, h.mspId]));
  const added: HospitalProfile[] = [];
  const ignored: IgnoredEntry[] = [];
  for (const value of records) {
    const record = (typeof value === 'object' && value !== null ? value : {}) as Partial<
      Record<keyof HospitalRecord, unknown>
    >;
    const mspId = typeof record.mspId === 'string' && MSP_ID.test(record.mspId) ? record.mspId : undefined;
    if (!mspId) {
      ignored.push({ mspId: '(invalid)', reason: 'the entry has no valid MSP ID' });
      continue;
    }
    if (known.has(mspId)) continue;
    const problem = entryProblem(record, profile);
    if (problem) {
      ignored.push({ mspId, reason: problem });
      continue;
    }
    const candidate = {
      name: hospitalSlug(mspId, taken),
      mspId,
      displayName: (record.displayName as string).trim(),
      gatewayUrl: record.gatewayUrl as string,
      caRootCertPem: (record.caCertificate as string).trim() + '\n',
      learnedFromDirectoryAt: now.toISOString(),
    };
    const parsed = HospitalSchema.safeParse(candidate);
    if (!parsed.success) {
      ignored.push({ mspId, reason: 'the entry does not make a valid profile entry' });
      continue;
    }
    added.push(parsed.data);
    known.add(mspId);
    taken.add(parsed.data.name);
    taken.add(mspId);
  }
  return { added, ignored };
}

function entryProblem(
  record: Partial<Record<keyof HospitalRecord, unknown>>,
  profile: NetworkProfile,
): string | undefined {
  if (record.mspId === profile.patientsCa.mspId) return "the patients' organisation is not a hospital";
  if (typeof record.displayName !== 'string' || record.displayName.trim() === '' || record.displayName.length > 200) {
    return 'the entry has no display name';
  }
  if (typeof record.gatewayUrl !== 'string') return 'the entry has no gateway URL';
  let url: URL;
  try {
    url = new URL(record.gatewayUrl);
  } catch {
    return 'the gateway URL is not an absolute URL';
  }
  if (url.protocol !== 'https:') return 'the gateway URL is not https';
  if (typeof record.caCertificate !== 'string' || !record.caCertificate.includes('-----BEGIN CERTIFICATE-----')) {
    return 'the entry has no CA certificate';
  }
  if (record.caCertificate.split('-----BEGIN CERTIFICATE-----').length !== 2) {
    return 'the CA certificate is not one certificate';
  }
  let ca: X509Certificate;
  try {
    ca = new X509Certificate(record.caCertificate);
  } catch {
    return 'the CA certificate cannot be read';
  }
  if (!ca.ca) return 'the CA certificate is not a CA certificate';
  if (typeof record.signingCertificate !== 'string') return 'the entry has no gateway signing certificate';
  try {
    const signing = new X509Certificate(record.signingCertificate);
    if (!signing.checkIssued(ca) || !signing.verify(ca.publicKey)) {
      return "the gateway signing certificate was not issued by the entry's CA";
    }
  } catch {
    return 'the gateway signing certificate cannot be read';
  }
  return undefined;
}

/**
 * A profile name for a hospital known only by its MSP ID: lower-case, a trailing `msp` dropped
 * ('Hospital3MSP' → 'hospital3'), other characters as dashes; `-2`, `-3` … when it is taken.
 */
export function hospitalSlug(mspId: string, taken: ReadonlySet<string>): string {
  let base = mspId
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .replace(/-?msp$/, '')
    .replace(/-+$/, '')
    .slice(0, MAX_NAME_LENGTH)
    .replace(/-+$/, '');
  if (!/^[a-z]/.test(base)) base = base ? `hospital-${base}` : 'hospital';
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
  if (!HOSPITAL_NAME.test(name)) throw new Error(`hospitalSlug made an invalid name from ${mspId}`);
  return name;
}
