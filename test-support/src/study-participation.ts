import { createPublicKey, randomUUID } from 'node:crypto';
import { PATIENTS_MSP_ID, type CodeRef, type ResearchOfferRecord } from '@phr/common';
import type { ChaincodeLedger } from './chaincode-ledger';
import { makeCa, type TestCa } from './pki';

export interface StudyParticipation {
  participationId: string;
  consentId: string;
  /** The participation's study key: a self-signed P-256 certificate, as the agent makes one. */
  signer: TestCa;
}

/**
 * What a patient's agent does on the ledger when it accepts a research offer (issue 16): a study
 * consent for the offer's codes (purpose HRESCH, from a day ago until the offer expires), then
 * `Research:Accept` with a new study key. Signed with the patient's own certificate.
 */
export async function acceptStudyOffer(
  ledger: ChaincodeLedger,
  patient: { certificatePem: string },
  offer: ResearchOfferRecord,
  codes: readonly CodeRef[],
): Promise<StudyParticipation> {
  const as = { mspId: PATIENTS_MSP_ID, certificatePem: patient.certificatePem };
  const consentId = `consent-${randomUUID()}`;
  await ledger.invokeAs(
    ledger.consent,
    'GrantConsent',
    [
      consentId,
      JSON.stringify({ kind: 'study', id: offer.offerId }),
      JSON.stringify({ categories: [], codes }),
      JSON.stringify(['HRESCH']),
      new Date(Date.now() - 86_400_000).toISOString(),
      offer.expiresAt,
    ],
    as,
  );
  const signer = await makeCa(`study-${randomUUID().slice(0, 8)}`);
  const studyKey = createPublicKey(signer.privateKeyPem).export({ type: 'spki', format: 'der' }).toString('base64');
  const participationId = `part-${randomUUID()}`;
  await ledger.invokeAs(ledger.research, 'Accept', [offer.offerId, participationId, consentId, studyKey], as);
  return { participationId, consentId, signer };
}
