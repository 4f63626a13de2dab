import type { AccessEventRecord, Page } from '@phr/common';
import { makeWorld, PSEUDONYM_A, PSEUDONYM_B, withPatients, type World } from './testing/world';

const LOINC = 'http://loinc.org';
const scope = { categories: ['vital-signs'], codes: [] };
const pull = (eventId: string, extra: object = {}) =>
  JSON.stringify({
    eventId,
    pseudonym: PSEUDONYM_A,
    action: 'pull',
    outcome: 'success',
    purpose: 'TREAT',
    scope,
    queryHash: 'ef'.repeat(32),
    ...extra,
  });

async function grantVitalSigns(w: World): Promise<void> {
  await w.ledger.invoke(
    w.consent,
    'GrantConsent',
    [
      'consent-0001',
      '{"kind":"organization","id":"Hospital2MSP"}',
      JSON.stringify({ categories: ['vital-signs'], codes: [] }),
      '["TREAT"]',
      '2026-01-01T00:00:00Z',
      '2027-01-01T00:00:00Z',
    ],
    w.id.patientA,
  );
}

describe('AccessLog', () => {
  let w: World;
  beforeEach(async () => {
    w = await withPatients(await makeWorld());
  });

  it('refuses a pull not covered by consent', async () => {
    await expect(w.ledger.invoke(w.accessLog, 'RecordAccess', [pull('event-0001')], w.id.h2Clinician)).rejects.toThrow(
      /CONSENT_REQUIRED/,
    );
  });

  it('records a consented pull with actor from the certificate and the covering consent', async () => {
    await grantVitalSigns(w);
    const rec = await w.ledger.call<AccessEventRecord>(
      w.accessLog,
      'RecordAccess',
      [pull('event-0001')],
      w.id.h2Clinician,
    );
    expect(rec).toMatchObject({
      action: 'pull',
      outcome: 'success',
      breakGlass: false,
      consentIds: ['consent-0001'],
      actor: { mspId: 'Hospital2MSP', role: 'clinician' },
      queryHash: 'ef'.repeat(32),
    });
    expect(rec.requester).toEqual(rec.actor);
  });

  it('refuses a pull after revocation and a pull beyond the consented scope', async () => {
    await grantVitalSigns(w);
    const wider = pull('event-0002', {
      scope: { categories: ['vital-signs'], codes: [{ system: LOINC, code: '718-7' }] },
    });
    await expect(w.ledger.invoke(w.accessLog, 'RecordAccess', [wider], w.id.h2Clinician)).rejects.toThrow(
      /CONSENT_REQUIRED: .*1 of 2/,
    );
    await w.ledger.invoke(w.consent, 'RevokeConsent', ['consent-0001'], w.id.patientA);
    await expect(w.ledger.invoke(w.accessLog, 'RecordAccess', [pull('event-0003')], w.id.h2Clinician)).rejects.toThrow(
      /CONSENT_REQUIRED/,
    );
  });

  it('always records denials, so the patient sees them', async () => {
    const rec = await w.ledger.call<AccessEventRecord>(
      w.accessLog,
      'RecordAccess',
      [pull('event-0001', { outcome: 'denied' })],
      w.id.h2Gateway,
    );
    expect(rec.outcome).toBe('denied');
  });

  it('allows break-glass only for emergency clinicians, with ETREAT, flagged and announced', async () => {
    const bg = pull('event-0001', { breakGlass: true, purpose: 'ETREAT' });
    await expect(w.ledger.invoke(w.accessLog, 'RecordAccess', [bg], w.id.h2Clinician)).rejects.toThrow(/break-glass/);
    await expect(
      w.ledger.invoke(w.accessLog, 'RecordAccess', [pull('event-0001', { breakGlass: true })], w.id.h2Emergency),
    ).rejects.toThrow(/break-glass/);
    const rec = await w.ledger.call<AccessEventRecord>(w.accessLog, 'RecordAccess', [bg], w.id.h2Emergency);
    expect(rec).toMatchObject({ breakGlass: true, consentIds: [] });
    expect(w.ledger.events.at(-1)?.name).toBe('BreakGlassAccess');
  });

  it('lets a gateway speak for a requester of its own organisation only', async () => {
    await grantVitalSigns(w);
    const requester = { id: 'id' + '1'.repeat(40), role: 'clinician' };
    const rec = await w.ledger.call<AccessEventRecord>(
      w.accessLog,
      'RecordAccess',
      [pull('event-0001', { requester })],
      w.id.h2Gateway,
    );
    expect(rec.requester).toEqual({ mspId: 'Hospital2MSP', ...requester });
    expect(rec.actor.role).toBe('hospital-gateway');
    // Hospital1's gateway cannot borrow Hospital2's consent by naming a Hospital2 requester
    await expect(
      w.ledger.invoke(w.accessLog, 'RecordAccess', [pull('event-0002', { requester })], w.id.h1Gateway),
    ).rejects.toThrow(/CONSENT_REQUIRED/);
    const bgViaGateway = pull('event-0003', {
      requester: { ...requester, emergency: true },
      breakGlass: true,
      purpose: 'ETREAT',
    });
    expect(
      (await w.ledger.call<AccessEventRecord>(w.accessLog, 'RecordAccess', [bgViaGateway], w.id.h1Gateway)).breakGlass,
    ).toBe(true);
  });

  it('limits patients to their own records and patient-side actions; only gateways log pushes', async () => {
    const backup = (p: string) =>
      JSON.stringify({ eventId: 'event-0001', pseudonym: p, action: 'backup', outcome: 'success' });
    await expect(w.ledger.invoke(w.accessLog, 'RecordAccess', [backup(PSEUDONYM_B)], w.id.patientA)).rejects.toThrow(
      /their own records/,
    );
    expect(
      (await w.ledger.call<AccessEventRecord>(w.accessLog, 'RecordAccess', [backup(PSEUDONYM_A)], w.id.patientA))
        .action,
    ).toBe('backup');
    await expect(
      w.ledger.invoke(w.accessLog, 'RecordAccess', [pull('event-0002', { outcome: 'denied' })], w.id.patientA),
    ).rejects.toThrow(/may not log pull/);
    const push = JSON.stringify({ eventId: 'event-0003', pseudonym: PSEUDONYM_A, action: 'push', outcome: 'success' });
    await expect(w.ledger.invoke(w.accessLog, 'RecordAccess', [push], w.id.h2Clinician)).rejects.toThrow(
      /only a hospital gateway logs pushes/,
    );
    await expect(w.ledger.invoke(w.accessLog, 'RecordAccess', [push], w.id.h1Admin)).rejects.toThrow(/FORBIDDEN/);
  });

  it('is idempotent on retried events and refuses reuse of an id', async () => {
    const deny = pull('event-0001', { outcome: 'denied' });
    const first = await w.ledger.invoke(w.accessLog, 'RecordAccess', [deny], w.id.h2Gateway);
    expect(await w.ledger.invoke(w.accessLog, 'RecordAccess', [deny], w.id.h2Gateway)).toBe(first);
    await expect(w.ledger.invoke(w.accessLog, 'RecordAccess', [deny], w.id.h1Gateway)).rejects.toThrow(/CONFLICT/);
  });

  it('lists events per patient by time range in pages, own log only for patients', async () => {
    for (let i = 1; i <= 5; i++) {
      w.ledger.clock = Date.parse(`2026-06-0${i}T10:00:00Z`) / 1000;
      await w.ledger.invoke(
        w.accessLog,
        'RecordAccess',
        [pull(`event-000${i}`, { outcome: 'denied' })],
        w.id.h2Gateway,
      );
    }
    const range = await w.ledger.call<Page<AccessEventRecord>>(
      w.accessLog,
      'ListAccessEvents',
      [PSEUDONYM_A, '2026-06-02T00:00:00Z', '2026-06-05T00:00:00Z', 2, ''],
      w.id.patientA,
    );
    expect(range.records.map((r) => r.eventId)).toEqual(['event-0002', 'event-0003']);
    const rest = await w.ledger.call<Page<AccessEventRecord>>(
      w.accessLog,
      'ListAccessEvents',
      [PSEUDONYM_A, '2026-06-02T00:00:00Z', '2026-06-05T00:00:00Z', 2, range.bookmark],
      w.id.patientA,
    );
    expect(rest.records.map((r) => r.eventId)).toEqual(['event-0004']);
    const all = await w.ledger.call<Page<AccessEventRecord>>(
      w.accessLog,
      'ListAccessEvents',
      [PSEUDONYM_A, '', '', 100, ''],
      w.id.h1Admin,
    );
    expect(all.records).toHaveLength(5);
    const none = await w.ledger.call<Page<AccessEventRecord>>(
      w.accessLog,
      'ListAccessEvents',
      [PSEUDONYM_B, '', '', 100, ''],
      w.id.patientB,
    );
    expect(none).toMatchObject({ records: [], bookmark: '' }); // the shim gives no metadata for an empty last page
    await expect(
      w.ledger.invoke(w.accessLog, 'ListAccessEvents', [PSEUDONYM_A, '', '', 10, ''], w.id.patientB),
    ).rejects.toThrow(/their own access log/);
    await expect(w.ledger.invoke(w.accessLog, 'ReadAccessEvent', ['event-0001'], w.id.patientB)).rejects.toThrow(
      /their own access log/,
    );
  });
});
