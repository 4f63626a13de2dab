import type { AccessEventRecord } from '@phr/common';
import { describeAccessEvent } from './describe';

const patient = (id: string) => ({ mspId: 'PatientsMSP', role: 'patient', id });

function event(
  action: AccessEventRecord['action'],
  outcome: AccessEventRecord['outcome'],
  by: string,
): AccessEventRecord {
  return {
    docType: 'access-event',
    eventId: `e-${action}-${outcome}`,
    pseudonym: 'pt' + 'a'.repeat(26),
    action,
    outcome,
    actor: patient(by),
    requester: patient(by),
    references: ['rq-1234-5678'],
    breakGlass: false,
    consentIds: [],
    recordedAt: '2026-12-05T10:00:00.000Z',
    txId: 'tx',
  };
}

describe('describeAccessEvent, recovery events', () => {
  const guardians = new Map([['id-guardian', 'pt' + 'g'.repeat(26)]]);

  it("names a guardian's approval and refusal as the guardian's, with the request", () => {
    expect(describeAccessEvent(event('recovery', 'success', 'id-guardian'), guardians).summary).toBe(
      `Your guardian pt${'g'.repeat(26)} approved a recovery of your records: request rq-1234-5678 — allowed.`,
    );
    expect(describeAccessEvent(event('recovery', 'denied', 'id-guardian'), guardians)).toMatchObject({
      who: `Your guardian pt${'g'.repeat(26)}`,
      summary: `Your guardian pt${'g'.repeat(26)} refused a recovery of your records: request rq-1234-5678 — denied.`,
    });
  });

  it("reads the patient's own recovery, and any event by someone not a guardian, as before", () => {
    expect(describeAccessEvent(event('recovery', 'success', 'id-me'), guardians).summary).toBe(
      'You recovered your records: request rq-1234-5678 — allowed.',
    );
    // A guardian's identity doing something else than a recovery is not labelled a guardian.
    expect(describeAccessEvent(event('backup', 'success', 'id-guardian'), guardians).summary).toBe(
      'You backed up your records: delivery rq-1234-5678 — allowed.',
    );
  });
});

describe('describeAccessEvent, research events', () => {
  it('names the researcher, the study and the purpose', () => {
    const researcher = { mspId: 'Hospital1MSP', role: 'researcher', id: 'id-researcher' };
    const e: AccessEventRecord = {
      ...event('research', 'success', 'id-researcher'),
      actor: researcher,
      requester: researcher,
      purpose: 'HRESCH',
      references: ['offer-hba1c-adults-01', 'rp-participation-1'],
    };
    expect(describeAccessEvent(e).summary).toBe(
      'Hospital1MSP (researcher) used de-identified data from your records for research: study offer-hba1c-adults-01 for research — allowed.',
    );
  });
});
