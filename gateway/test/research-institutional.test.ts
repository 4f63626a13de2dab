import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  fabricX509Id,
  identityKey,
  PATIENTS_MSP_ID,
  type AccessEventRecord,
  type InstitutionalExtractRecord,
} from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import { GatewayHarness, HOSPITAL_MSP, type TestPatient } from '@phr/test-support/gateway';
import { isPatientBundleFile, loadBundle, mrnOf, smallBundle, syntheaFiles, type Bundle } from '@phr/test-support';
import type { LedgerPort } from '../src/ledger/ledger-port';
import { researchExtractCommand } from '../src/research/extract-command';
import { extractIdFor, type ExtractDocument } from '../src/research/extract-service';

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
jest.setTimeout(180_000);

const LOINC = 'http://loinc.org';
const WEIGHT = '29463-7';
const HEIGHT = '8302-2';
const QIS = ['ageBand', 'gender', 'postalCode3'] as const;

interface Enrolled {
  patient: TestPatient;
  bundle: Bundle;
}

/** Every string of the Patient resource that identifies the person: names, identifiers, birth date, address, telecom. */
function identifyingStrings(bundle: Bundle): string[] {
  const p = bundle.entry.find((e) => e.resource.resourceType === 'Patient')!.resource as {
    name?: { given?: string[]; family?: string }[];
    identifier?: { value?: string }[];
    birthDate?: string;
    address?: { line?: string[]; city?: string; postalCode?: string }[];
    telecom?: { value?: string }[];
    id?: string;
  };
  return [
    ...(p.name ?? []).flatMap((n) => [...(n.given ?? []), n.family ?? '']),
    ...(p.identifier ?? []).map((i) => i.value ?? ''),
    p.birthDate ?? '',
    ...(p.address ?? []).flatMap((a) => [...(a.line ?? []), a.city ?? '', a.postalCode ?? '']),
    ...(p.telecom ?? []).map((t) => t.value ?? ''),
    p.id ?? '',
  ].filter((s) => s.length >= 3);
}

function hasCode(bundle: Bundle, code: string): boolean {
  return bundle.entry.some((e) =>
    ((e.resource.code as { coding?: { code?: string }[] } | undefined)?.coding ?? []).some((c) => c.code === code),
  );
}

/** CSV as extractCsv writes it (no field of these extracts needs quoting): a header and rows. */
function readCsv(text: string): Record<string, string>[] {
  const [header, ...lines] = text.trimEnd().split('\r\n');
  const columns = header!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [columns[i], v])));
}

describe('institutional research extract over the Synthea population (issue 16)', () => {
  let h: GatewayHarness;
  const enrolled: Enrolled[] = [];
  let optedOut: Enrolled;
  let researcher: string;
  let configFile: string;
  const lines: { out: string[]; err: string[] } = { out: [], err: [] };
  const io = {
    out: (l: string) => lines.out.push(l),
    err: (l: string) => lines.err.push(l),
  };
  const run = (args: string[], ledger: LedgerPort = h.ledger) => researchExtractCommand(args, io, { ledger });
  const gatewayAs = () => ({ mspId: HOSPITAL_MSP, certificatePem: h.clients.gatewayIdentity.certificatePem });

  beforeAll(async () => {
    h = await GatewayHarness.create({ threads: 1 });
    for (const file of syntheaFiles().filter(isPatientBundleFile)) {
      const full = loadBundle(file);
      const bundle = smallBundle(full, 40);
      const patient = await h.newPatient(file.slice(0, 20));
      await h.link(patient, mrnOf(bundle));
      const posted = await h.request(h.clients.ehr, 'POST', '/fhir', bundle);
      if (posted.status !== 200) throw new Error(`ingest ${file}: ${posted.status} ${posted.text}`);
      enrolled.push({ patient, bundle });
    }
    await h.gateway.outbox.idle();
    // a woman whose weight the hospital holds opts out of research altogether
    optedOut = enrolled.find(
      (e) =>
        hasCode(e.bundle, WEIGHT) &&
        (e.bundle.entry.find((x) => x.resource.resourceType === 'Patient')!.resource as { gender?: string }).gender ===
          'female',
    )!;
    await h.ledger.invokeAs(h.ledger.research, 'SetOptOut', ['true'], {
      mspId: PATIENTS_MSP_ID,
      certificatePem: optedOut.patient.identity.certificatePem,
    });
    const researcherCert = await h.hospitalCa.issue('study-office', { attrs: { 'phr.role': 'researcher' } });
    researcher = identityKey(HOSPITAL_MSP, fabricX509Id(researcherCert.certificatePem));
    configFile = join(h.dir, 'gateway.json');
    writeFileSync(configFile, JSON.stringify(h.config));
  });
  afterAll(async () => {
    await h?.close();
  });

  function requestFile(name: string, body: Record<string, unknown>): string {
    const file = join(h.dir, name);
    writeFileSync(
      file,
      JSON.stringify({
        requestId: 'irb-2026-0042',
        researcher,
        approval: 'IRB decision 2026/42 of the hospital ethics board',
        codes: [
          { system: LOINC, code: WEIGHT },
          { system: LOINC, code: HEIGHT },
        ],
        quasiIdentifiers: QIS,
        k: 5,
        ...body,
      }),
    );
    return file;
  }

  it('keeps coarse demographics only: birth year, gender and 3-digit postal area', () => {
    const db = new DatabaseSync(join(h.config.dataDir, 'gateway.db'), { readOnly: true });
    try {
      const rows = db.prepare('SELECT * FROM std_patient').all() as Record<string, unknown>[];
      expect(rows).toHaveLength(enrolled.length);
      const first = enrolled[0]!;
      const resource = first.bundle.entry[0]!.resource as unknown as {
        birthDate: string;
        gender: string;
        address: { postalCode: string }[];
      };
      const row = rows.find((r) => r.pseudonym === first.patient.pseudonym)!;
      expect(row).toMatchObject({
        birth_year: Number(resource.birthDate.slice(0, 4)),
        gender: resource.gender,
        postal_code3: resource.address[0]!.postalCode.slice(0, 3),
      });
      expect(Object.keys(row).sort()).toEqual(['birth_year', 'gender', 'postal_code3', 'pseudonym', 'updated_at']);
    } finally {
      db.close();
    }
  });

  it('produces a k-anonymous extract without opted-out patients, recorded on the ledger and on the patients’ access logs', async () => {
    const out = join(h.dir, 'extract-1');
    // a budget for suppression, so the ladder stops before it generalises everything away
    const request = requestFile('request.json', { maxSuppressed: 0.3 });
    const code = await run(['--request', request, '--out', out, '--config', configFile]);
    expect(lines.err).toEqual([]);
    expect(code).toBe(0);

    const csv = readFileSync(join(out, 'extract.csv'), 'utf8');
    const document = JSON.parse(readFileSync(join(out, 'extract.json'), 'utf8')) as ExtractDocument;
    const { report } = document;
    expect(lines.out.join('\n')).toContain(`k: ${report.kReached} reached (5 requested)`);

    // k ≥ 5 over the quasi-identifiers, counted here in distinct participants
    const rows = readCsv(csv);
    expect(rows.length).toBe(report.rows);
    expect(rows.length).toBeGreaterThan(0);
    const classes = new Map<string, Set<string>>();
    for (const r of rows) {
      const key = QIS.map((q) => r[q]).join('|');
      (classes.get(key) ?? classes.set(key, new Set()).get(key))!.add(r.participant!);
    }
    const smallest = Math.min(...[...classes.values()].map((s) => s.size));
    expect(smallest).toBeGreaterThanOrEqual(5);
    expect(report.kReached).toBe(smallest);
    expect(report.excluded.optedOut).toBe(1);
    expect(report.generalisation.gender).toBe('kept');
    expect(report.linkedRows).toBe(true);
    expect(report.suppressedRows).toBeGreaterThan(0);
    expect(report.suppressedRows).toBeLessThanOrEqual(0.3 * (report.rows + report.suppressedRows));
    expect(new Set(rows.map((r) => r.code))).toEqual(new Set([WEIGHT, HEIGHT]));
    expect(document.rows).toEqual(rows.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== ''))));

    // the ledger holds the hash of extract.csv, k and the members
    const extractHash = createHash('sha256').update(csv).digest('hex');
    const record = await h.ledger.invokeAs<InstitutionalExtractRecord>(
      h.ledger.research,
      'ReadExtract',
      [document.extractId],
      gatewayAs(),
    );
    expect(record).toMatchObject({
      extractHash,
      k: report.kReached,
      requestId: 'irb-2026-0042',
      researcher,
      hospital: HOSPITAL_MSP,
      patientCount: report.participants,
      rowCount: report.rows,
    });

    // every member, and only members, sees the extract on their access log; the opted-out patient does not
    const members: TestPatient[] = [];
    for (const { patient } of enrolled) {
      const events = await h.ledger.listAccessEvents(patient.pseudonym, '', '');
      const research = events.filter((e: AccessEventRecord) => e.action === 'research');
      if (research.length > 0) {
        members.push(patient);
        expect(research).toHaveLength(1);
        expect(research[0]).toMatchObject({ outcome: 'success', references: [document.extractId] });
      }
    }
    expect(members).toHaveLength(report.participants);
    expect(members).not.toContain(optedOut.patient);
    const withCodes = enrolled.filter((e) => hasCode(e.bundle, WEIGHT) || hasCode(e.bundle, HEIGHT));
    expect(report.participants + report.suppressedParticipants + 1).toBe(withCodes.length);
    for (const m of members) expect(withCodes.map((e) => e.patient)).toContain(m);

    // nothing that identifies anyone: no pseudonym, name, MRN, address, birth date or any full date
    for (const text of [csv, readFileSync(join(out, 'extract.json'), 'utf8')]) {
      expect(text).not.toMatch(/pt[a-z2-7]{26}/);
      expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}/);
      expect(text).not.toMatch(/\d{4}-\d{2}\b/);
      for (const { patient, bundle } of enrolled) {
        expect(text).not.toContain(patient.pseudonym);
        for (const s of identifyingStrings(bundle)) expect(text).not.toContain(s);
      }
    }

    // the hospital's own log of it
    const db = new DatabaseSync(join(h.config.dataDir, 'gateway.db'), { readOnly: true });
    try {
      expect(db.prepare('SELECT extract_id, extract_hash, k, request_id FROM research_extract_log').all()).toEqual([
        { extract_id: document.extractId, extract_hash: extractHash, k: report.kReached, request_id: 'irb-2026-0042' },
      ]);
    } finally {
      db.close();
    }
  });

  it('refuses a k below 5, an unknown code, a folder holding an extract, and bad arguments with clear exit codes', async () => {
    lines.err.length = 0;
    const out = join(h.dir, 'extract-2');
    const extract = (file: string, request: Record<string, unknown>, to = out) =>
      run(['--request', requestFile(file, request), '--out', to, '--config', configFile]);
    expect(await extract('k4.json', { k: 4 })).toBe(2);
    expect(lines.err.join('\n')).toMatch(/k: .*5/);
    expect(await extract('none.json', { requestId: 'irb-2026-0044', codes: [{ system: LOINC, code: '0000-0' }] })).toBe(
      3,
    );
    expect(lines.err.join('\n')).toMatch(/no element with the requested codes/);
    // a data window after every delivery: the same codes, nothing received in it
    lines.err.length = 0;
    const later = new Date(Date.now() + 60_000).toISOString();
    expect(await extract('window.json', { requestId: 'irb-2026-0045', received: { from: later } })).toBe(3);
    expect(lines.err.join('\n')).toMatch(/no element with the requested codes/);
    lines.err.length = 0;
    expect(await extract('bad-window.json', { requestId: 'irb-2026-0046', received: { from: later, to: later } })).toBe(
      2,
    );
    expect(lines.err.join('\n')).toMatch(/received: from must be before to/);
    expect(await extract('other.json', { requestId: 'irb-2026-0043' }, join(h.dir, 'extract-1'))).toBe(2);
    expect(lines.err.join('\n')).toMatch(/exists: choose an empty folder/);
    expect(await run(['--out', out, '--config', configFile])).toBe(2);
    expect(lines.err.join('\n')).toMatch(/--request FILE is required/);
  });

  /** The ledger, but its RecordExtract answers with `failure` after (or instead of) committing. */
  function failingLedger(failure: LedgerError, commit: boolean): LedgerPort {
    return new Proxy(h.ledger, {
      get(target, prop) {
        if (prop === 'recordExtract') {
          return async (...args: Parameters<LedgerPort['recordExtract']>) => {
            if (commit) await target.recordExtract(...args);
            throw failure;
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
  const lostAnswer = () => new LedgerError('UNAVAILABLE', 'ledger unavailable: no commit status before the deadline');

  async function researchEventsOf(extractId: string): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const { patient } of enrolled) {
      const events = await h.ledger.listAccessEvents(patient.pseudonym, '', '');
      const n = events.filter((e) => e.action === 'research' && e.references?.includes(extractId)).length;
      if (n > 0) counts.set(patient.pseudonym, n);
    }
    return counts;
  }

  function logRows(extractId: string): unknown[] {
    const db = new DatabaseSync(join(h.config.dataDir, 'gateway.db'), { readOnly: true });
    try {
      return db.prepare('SELECT extract_id FROM research_extract_log WHERE extract_id = ?').all(extractId);
    } finally {
      db.close();
    }
  }

  const pendingIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.pending')) : []);

  it('a re-run of a request whose record committed but whose answer was lost finishes it without recording twice', async () => {
    lines.out.length = 0;
    lines.err.length = 0;
    const out = join(h.dir, 'extract-retry');
    const request = requestFile('retry.json', { requestId: 'irb-2026-0050', maxSuppressed: 0.3 });
    const extractId = extractIdFor(HOSPITAL_MSP, 'irb-2026-0050');

    // the ledger commits, then the call times out: nothing is in place, the pending files wait (0600)
    expect(
      await run(['--request', request, '--out', out, '--config', configFile], failingLedger(lostAnswer(), true)),
    ).toBe(1);
    expect(lines.err.join('\n')).toMatch(/did not record the extract/);
    expect(existsSync(join(out, 'extract.csv'))).toBe(false);
    expect(existsSync(join(out, 'extract.json'))).toBe(false);
    const pending = pendingIn(out);
    expect(pending).toHaveLength(2);
    for (const f of pending) expect(statSync(join(out, f)).mode & 0o777).toBe(0o600);
    const record = await h.ledger.readExtract(extractId);
    expect(record).toBeDefined();
    const events = await researchEventsOf(extractId);
    expect(events.size).toBe(record!.patientCount);
    expect(logRows(extractId)).toEqual([]);

    // the same request again: found on the ledger, its files put in place, nothing recorded again
    lines.out.length = 0;
    lines.err.length = 0;
    expect(await run(['--request', request, '--out', out, '--config', configFile, '--json'])).toBe(0);
    expect(lines.err).toEqual([]);
    const summary = JSON.parse(lines.out.join('\n')) as {
      extractId: string;
      alreadyRecorded: boolean;
      extractHash: string;
    };
    expect(summary).toMatchObject({ extractId, alreadyRecorded: true, extractHash: record!.extractHash });
    const csv = readFileSync(join(out, 'extract.csv'));
    expect(createHash('sha256').update(csv).digest('hex')).toBe(record!.extractHash);
    expect((JSON.parse(readFileSync(join(out, 'extract.json'), 'utf8')) as ExtractDocument).extractId).toBe(extractId);
    expect(pendingIn(out)).toEqual([]);
    expect(await researchEventsOf(extractId)).toEqual(events);
    expect([...events.values()].every((n) => n === 1)).toBe(true);
    expect(logRows(extractId)).toHaveLength(1);

    // and once more, finished: the same answer, still one record, one event each, one log row
    lines.out.length = 0;
    expect(await run(['--request', request, '--out', out, '--config', configFile])).toBe(0);
    expect(lines.out.join('\n')).toMatch(/recorded on the ledger before/);
    expect(await researchEventsOf(extractId)).toEqual(events);
    expect(logRows(extractId)).toHaveLength(1);
  });

  it('refuses to answer a request again when its recorded extract’s files are gone', async () => {
    lines.err.length = 0;
    const out = join(h.dir, 'extract-lost');
    const request = requestFile('lost.json', { requestId: 'irb-2026-0051', maxSuppressed: 0.3 });
    const extractId = extractIdFor(HOSPITAL_MSP, 'irb-2026-0051');
    expect(
      await run(['--request', request, '--out', out, '--config', configFile], failingLedger(lostAnswer(), true)),
    ).toBe(1);
    for (const f of pendingIn(out)) rmSync(join(out, f));
    const events = await researchEventsOf(extractId);

    lines.err.length = 0;
    expect(await run(['--request', request, '--out', out, '--config', configFile])).toBe(1);
    expect(lines.err.join('\n')).toContain(`request irb-2026-0051 was answered: extract ${extractId}`);
    expect(existsSync(join(out, 'extract.csv'))).toBe(false);
    expect(await researchEventsOf(extractId)).toEqual(events);
  });

  it('leaves nothing behind when the ledger refuses the extract', async () => {
    lines.err.length = 0;
    const out = join(h.dir, 'extract-refused');
    const request = requestFile('refused.json', { requestId: 'irb-2026-0052', maxSuppressed: 0.3 });
    const refusal = new LedgerError('INVALID_STATE', 'chaincode refused: 1 patient opted out of research');
    expect(await run(['--request', request, '--out', out, '--config', configFile], failingLedger(refusal, false))).toBe(
      1,
    );
    expect(lines.err.join('\n')).toMatch(/opted out/);
    expect(pendingIn(out)).toEqual([]);
    expect(existsSync(join(out, 'extract.csv'))).toBe(false);
    expect(await h.ledger.readExtract(extractIdFor(HOSPITAL_MSP, 'irb-2026-0052'))).toBeUndefined();
  });
});
