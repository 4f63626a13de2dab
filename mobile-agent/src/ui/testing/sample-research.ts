/**
 * Study offers as the agent shows them, for the page's tests: one that matches, one that does not,
 * and (on its own) one whose delivery was interrupted after its quota filled.
 */
import type { ResearchOfferView } from '../../agent-api';

export const SAMPLE_STUDY = 'offer-hba1c-adults';
export const SAMPLE_OTHER_STUDY = 'offer-asthma-children';
export const SAMPLE_FULL_STUDY = 'offer-lipids-full';

export function sampleResearchOffers(): ResearchOfferView[] {
  return [
    {
      offerId: SAMPLE_STUDY,
      // markup in a researcher's title is shown as text
      title: 'HbA1c of adults <b>18+</b> & "diabetes"',
      institute: 'Hospital1MSP',
      collectVia: 'Hospital1MSP',
      creditsPerParticipant: 10,
      expiresAt: '2099-06-30T00:00:00.000Z',
      dates: 'year',
      criteria: { codes: [{ system: 'http://loinc.org', code: '4548-4' }], ageBand: { min: 18 } },
      wanted: {
        codes: [{ system: 'http://loinc.org', code: '4548-4' }],
        demographics: ['age', 'gender', 'postalCode3'],
      },
      status: 'open',
      matches: true,
      reasons: [],
      preview: {
        demographics: { age: 54, gender: 'female', postalCode3: '021' },
        elements: [
          {
            status: 'changed',
            resourceType: 'Observation',
            system: 'http://loinc.org',
            code: '4548-4',
            display: 'Hemoglobin A1c/Hemoglobin.total in Blood',
            value: '6.1',
            unit: '%',
            time: '2025',
            changes: [{ field: 'time', rule: 'year' }],
          },
        ],
      },
    },
    {
      offerId: SAMPLE_OTHER_STUDY,
      title: 'Asthma in children',
      institute: 'Hospital2MSP',
      collectVia: 'Hospital2MSP',
      creditsPerParticipant: 5,
      expiresAt: '2099-06-30T00:00:00.000Z',
      dates: 'shift',
      criteria: { codes: [{ system: 'http://snomed.info/sct', code: '195967001' }], ageBand: { max: 17 } },
      wanted: { codes: [{ system: 'http://snomed.info/sct', code: '195967001' }], demographics: ['age'] },
      status: 'open',
      matches: false,
      reasons: ['no record with the codes the study looks for', 'your age is outside the age band of the study'],
      preview: { demographics: { age: 54 }, elements: [] },
    },
  ];
}

/**
 * Accepted, its extract posted, the delivery interrupted; the quota has filled since (`closed`),
 * yet the ledger still takes the delivery until expiry.
 */
export function sampleInterruptedStudy(): ResearchOfferView {
  return {
    offerId: SAMPLE_FULL_STUDY,
    title: 'Lipids of adults',
    institute: 'Hospital2MSP',
    collectVia: 'Hospital1MSP',
    creditsPerParticipant: 7,
    expiresAt: '2099-06-30T00:00:00.000Z',
    dates: 'year',
    criteria: { codes: [{ system: 'http://loinc.org', code: '2093-3' }] },
    wanted: { codes: [{ system: 'http://loinc.org', code: '2093-3' }], demographics: ['age'] },
    status: 'closed',
    matches: true,
    reasons: [],
    preview: {
      demographics: { age: 54 },
      elements: [
        {
          status: 'changed',
          resourceType: 'Observation',
          system: 'http://loinc.org',
          code: '2093-3',
          display: 'Cholesterol [Mass/volume] in Serum or Plasma',
          value: '187',
          unit: 'mg/dL',
          time: '2024',
          changes: [{ field: 'time', rule: 'year' }],
        },
      ],
    },
    decision: 'accepted',
    stage: 'posted',
    finishable: true,
  };
}
