import type { CreditAccountRecord, CreditEntryRecord, Page } from '@phr/common';
import { makeResearchWorld, type ResearchWorld } from './testing/research';
import { PSEUDONYM_A, type World } from './testing/world';

type Who = World['id'][keyof World['id']];

describe('Credits', () => {
  let w: ResearchWorld;
  beforeEach(async () => {
    w = await makeResearchWorld(0);
  });

  const fund = (amount: unknown, entryId = 'funding-0001', as: Who = w.id.h2Admin, accountId = w.researcherId) =>
    w.ledger.call<CreditEntryRecord>(w.credits, 'Fund', [accountId, amount, entryId], as);
  const read = (as: Who) => w.ledger.call<CreditAccountRecord>(w.credits, 'ReadAccount', [], as);
  const entries = (as: Who, pageSize = 10, bookmark = '') =>
    w.ledger.call<Page<CreditEntryRecord>>(w.credits, 'ListEntries', [pageSize, bookmark], as);

  it("opens a researcher's institute account under its identity key, once", async () => {
    const account = await read(w.id.h2Researcher);
    expect(account).toEqual({
      docType: 'credit-account',
      accountId: w.researcherId,
      kind: 'institute',
      mspId: 'Hospital2MSP',
      balance: 0,
      createdAt: account.createdAt,
      updatedAt: account.createdAt,
    });
    expect(w.researcherId).toMatch(/^id[0-9a-f]{40}$/);
    expect(await w.ledger.call(w.credits, 'OpenAccount', [], w.id.h2Researcher)).toEqual(account);
    for (const as of [w.id.patientA, w.id.h2Admin, w.id.h1Gateway]) {
      await expect(w.ledger.invoke(w.credits, 'OpenAccount', [], as)).rejects.toThrow(/FORBIDDEN: Credits:OpenAccount/);
    }
  });

  it('is funded by an admin of its own organisation; a retried funding counts once', async () => {
    const entry = await fund(500);
    expect(entry).toMatchObject({
      docType: 'credit-entry',
      accountId: w.researcherId,
      entryId: 'funding-0001',
      kind: 'fund',
      amount: 500,
      balanceAfter: 500,
    });
    expect(w.ledger.events.at(-1)).toEqual({
      name: 'CreditsFunded',
      payload: { subject: w.researcherId, credits: 500 },
    });
    expect(await fund(500)).toEqual(entry);
    expect((await read(w.id.h2Researcher)).balance).toBe(500);
    await expect(fund(700)).rejects.toThrow(/CONFLICT: credit entry funding-0001/);
    await fund(250, 'funding-0002');
    expect((await read(w.id.h2Researcher)).balance).toBe(750);
  });

  it('refuses funding by another organisation, another role, of an unknown account, or of a bad amount', async () => {
    await expect(fund(500, 'funding-0001', w.id.h1Admin)).rejects.toThrow(/FORBIDDEN: only an admin of Hospital2MSP/);
    await expect(fund(500, 'funding-0001', w.id.h2Researcher)).rejects.toThrow(/FORBIDDEN: Credits:Fund/);
    await expect(fund(500, 'funding-0001', w.id.h2Gateway)).rejects.toThrow(/FORBIDDEN: Credits:Fund/);
    await expect(fund(500, 'funding-0001', w.id.h2Admin, `id${'0'.repeat(40)}`)).rejects.toThrow(/NOT_FOUND/);
    await expect(fund(500, 'funding-0001', w.id.h2Admin, PSEUDONYM_A)).rejects.toThrow(/INVALID_ARGUMENT: accountId/);
    for (const amount of [0, -5, 1.5, '500', 1e13]) {
      await expect(fund(amount)).rejects.toThrow(/INVALID_ARGUMENT: amount/);
    }
    expect((await read(w.id.h2Researcher)).balance).toBe(0);
  });

  it("reads only the caller's own account and statement", async () => {
    // a patient before any payment: an empty account, nothing stored
    expect(await read(w.id.patientA)).toMatchObject({
      accountId: PSEUDONYM_A,
      kind: 'patient',
      mspId: 'PatientsMSP',
      balance: 0,
    });
    expect((await entries(w.id.patientA)).records).toEqual([]);
    await expect(read(w.id.h1Researcher)).rejects.toThrow(/NOT_FOUND: the caller has no credit account/);
    for (const as of [w.id.h2Admin, w.id.h1Gateway, w.id.h2Clinician]) {
      await expect(read(as)).rejects.toThrow(/FORBIDDEN: Credits:ReadAccount/);
      await expect(entries(as)).rejects.toThrow(/FORBIDDEN: Credits:ListEntries/);
    }
    await fund(1, 'funding-0001');
    await fund(2, 'funding-0002');
    await fund(3, 'funding-0003');
    const first = await entries(w.id.h2Researcher, 2);
    expect(first.records.map((e) => e.balanceAfter)).toEqual([1, 3]);
    const rest = await entries(w.id.h2Researcher, 2, first.bookmark);
    expect(rest.records.map((e) => e.balanceAfter)).toEqual([6]);
    await w.ledger.invoke(w.credits, 'OpenAccount', [], w.id.h1Researcher);
    expect((await entries(w.id.h1Researcher)).records).toEqual([]);
    expect((await read(w.id.h1Researcher)).balance).toBe(0);
  });
});
