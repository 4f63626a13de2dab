import { generateKeyPairSync } from 'node:crypto';
import type { CreditAccountRecord, OfferTerms, PurposeOfUse } from '@phr/common';
import type { TestIdentity } from './identities';
import { withPatients, makeWorld, type World } from './world';

export const LOINC = 'http://loinc.org';
export const HBA1C = { system: LOINC, code: '4548-4' };
export const EXPIRES = '2026-07-01T00:00:00.000Z';

/** The researcher's X25519 key the extracts are sealed to (PEM, SPKI). */
export const SEALING_KEY = generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();

/** A per-participation study key as the agent makes one: Ed25519, SPKI DER in base64. */
export function studyKey(): string {
  return generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
}

/** HbA1c of adults, 10 credits each, 10 places, collected by hospital 1. */
export function offerTerms(overrides: Partial<OfferTerms> = {}): OfferTerms {
  return {
    offerId: 'offer-hba1c-01',
    title: 'HbA1c in adults',
    criteria: { codes: [HBA1C], ageBand: { min: 18 } },
    wanted: { codes: [HBA1C], demographics: ['age', 'gender', 'postalCode3'] },
    dates: 'year',
    creditsPerParticipant: 10,
    quota: 10,
    expiresAt: EXPIRES,
    collectVia: 'Hospital1MSP',
    encryptionPublicKey: SEALING_KEY,
    ...overrides,
  };
}

export interface ResearchWorld extends World {
  /** Identity key of h2Researcher: its account id and the institute of the offers it posts. */
  researcherId: string;
}

/**
 * Patients A and B registered, hospital 1 in the directory, and hospital 2's researcher with an
 * account its admin funded with `funding` credits.
 */
export async function makeResearchWorld(funding = 1000): Promise<ResearchWorld> {
  const w = await withPatients(await makeWorld());
  await w.ledger.invoke(
    w.directory,
    'RegisterHospital',
    [
      'General Hospital 1',
      'https://gw.hospital1.example/fhir',
      w.id.h1Gateway.certificatePem,
      w.caCertificate.hospital1,
    ],
    w.id.h1Admin,
  );
  const account = await w.ledger.call<CreditAccountRecord>(w.credits, 'OpenAccount', [], w.id.h2Researcher);
  if (funding > 0) {
    await w.ledger.invoke(w.credits, 'Fund', [account.accountId, funding, 'funding-0001'], w.id.h2Admin);
  }
  return Object.assign(w, { researcherId: account.accountId });
}

/**
 * The patient's study consent for `offerId` (grantee `{kind:'study', id: offerId}`, purpose
 * HRESCH), in force from 2026 until `end`. `grantee` and `purposes` let a test grant another kind.
 */
export async function grantResearchConsent(
  w: World,
  patient: TestIdentity,
  consentId: string,
  offerId: string,
  purposes: PurposeOfUse[] = ['HRESCH'],
  grantee: { kind: string; id: string } = { kind: 'study', id: offerId },
  end = '2027-01-01T00:00:00Z',
): Promise<void> {
  await w.ledger.invoke(
    w.consent,
    'GrantConsent',
    [
      consentId,
      JSON.stringify(grantee),
      JSON.stringify({ categories: [], codes: [HBA1C] }),
      JSON.stringify(purposes),
      '2026-01-01T00:00:00Z',
      end,
    ],
    patient,
  );
}
