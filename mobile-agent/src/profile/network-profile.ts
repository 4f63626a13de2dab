import { readFileSync } from 'node:fs';
import { z } from 'zod';

const pem = z.string().includes('-----BEGIN CERTIFICATE-----');
const httpsUrl = z.url({ protocol: /^https$/ });

/** A profile name: what the patient types (`--hospital hospital1`). */
export const HOSPITAL_NAME = /^[a-z][a-z0-9-]*$/;

export const HospitalSchema = z.object({
  name: z.string().regex(HOSPITAL_NAME),
  mspId: z.string().min(1),
  displayName: z.string().min(1),
  gatewayUrl: httpsUrl,
  /** Root of the hospital's CA: it issues the gateway's TLS and signing certificates and the peer's. */
  caRootCertPem: pem,
  /**
   * The hospital's peer, through which the agent can reach the ledger. Absent for a hospital the
   * agent learned from the ledger's directory, which names the gateway and CA but no peer.
   */
  peer: z.object({ address: z.string().regex(/^[^\s:]+:\d+$/), tlsRootCertPem: pem }).optional(),
  /** Set when the agent learned this hospital from the ledger's directory (ISO 8601), not from its profile at init. */
  learnedFromDirectoryAt: z.string().optional(),
});

const ProfileSchema = z.object({
  v: z.literal(1),
  channel: z.string().min(1),
  chaincode: z.string().min(1),
  /** The doorman: the CA that issues patient identities from the device's own CSR. */
  patientsCa: z.object({
    url: httpsUrl,
    caName: z.string().min(1),
    mspId: z.string().min(1),
    tlsRootCertPem: pem,
  }),
  hospitals: z
    .array(HospitalSchema)
    .min(1)
    .refine((hospitals) => hospitals.some((h) => h.peer !== undefined), {
      message: 'at least one hospital must name its peer: the agent reaches the ledger through it',
    }),
});

/**
 * What a device needs to know about the network, and nothing secret: the doorman CA, each
 * hospital's gateway and peer, and the roots that authenticate them. `make network-up` writes one
 * (network/.state/agent-profile.json); `phr-agent init --profile` copies it into the agent's home.
 * The agent adds hospitals that join later from the ledger's directory (profile/directory.ts),
 * never changing one it already has.
 */
export type NetworkProfile = z.infer<typeof ProfileSchema>;
export type HospitalProfile = NetworkProfile['hospitals'][number];

export class ProfileError extends Error {
  override readonly name = 'ProfileError';
  readonly code = 'INVALID_PROFILE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function parseProfile(value: unknown): NetworkProfile {
  const result = ProfileSchema.safeParse(value);
  if (!result.success) {
    throw new ProfileError(`the network profile is invalid: ${z.prettifyError(result.error)}`);
  }
  return result.data;
}

export function loadProfile(file: string): NetworkProfile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ProfileError(`cannot read the network profile ${file}`, { cause: err });
  }
  try {
    return parseProfile(JSON.parse(text));
  } catch (err) {
    if (err instanceof ProfileError) throw err;
    throw new ProfileError(`the network profile ${file} is not JSON`, { cause: err });
  }
}

export function hospitalByName(profile: NetworkProfile, name: string): HospitalProfile {
  const h = profile.hospitals.find((x) => x.name === name || x.mspId === name);
  if (!h)
    throw new ProfileError(
      `no hospital ${name} in the network profile (${profile.hospitals.map((x) => x.name).join(', ')})`,
    );
  return h;
}

/** The named hospital, or the profile's first one when no name is given. */
export function hospitalOrFirst(profile: NetworkProfile, name: string | undefined): HospitalProfile {
  if (name !== undefined) return hospitalByName(profile, name);
  const first = profile.hospitals[0];
  if (!first) throw new ProfileError('the network profile names no hospital');
  return first;
}

/** The peer the agent reaches the ledger through: the first hospital that names one. */
export function ledgerPeer(profile: NetworkProfile): NonNullable<HospitalProfile['peer']> {
  const peer = profile.hospitals.find((h) => h.peer !== undefined)?.peer;
  if (!peer) throw new ProfileError('no hospital in the network profile names a peer to reach the ledger through');
  return peer;
}
