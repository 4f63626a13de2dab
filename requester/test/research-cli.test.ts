import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  canonicalJson,
  checkSafeHarbor,
  DeliveryTree,
  elementLeafHash,
  knownIdentifiersFromBundle,
  MAX_LEDGER_PAGE_SIZE,
  PATIENTS_MSP_ID,
  readAllPages,
  RESEARCH_EXTRACT_PURPOSE,
  seal,
  yearOf,
  type CreditAccountRecord,
  type DataElement,
  type DeliveryPayload,
  type ExtractDemographics,
  type ExtractElement,
  type Page,
  type ParticipationRecord,
  type ResearchExtract,
  type ResearchOfferRecord,
} from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import { forNewPatient, loadBundle, mrnOf, syntheaFiles, type Issued } from '@phr/test-support';
import { acceptStudyOffer, GatewayHarness, HOSPITAL_MSP, type TestPatient } from '@phr/test-support/gateway';
import { readReceipt } from '../../gateway/src/ingest/bundle-response';
import { main, type ResearchCliDeps } from '../src/research-cli/main';
import type { ResearchLedger } from '../src/research-cli/research-ledger';

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
jest.setTimeout(120_000);

const DAY = 86_400_000;
const HBA1C = { system: 'http://loinc.org', code: '4548-4' };
const MARITAL = 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus';

/** Issue 16: `phr-research` against the real gateway and the real chaincode in memory. */
describe('phr-research', () => {
  let h: GatewayHarness;
  let researcher: Issued;
  let dir: string;
  let stateDir: string;
  let flags: string[];
  let stdout: string;
  let stderr: string;
  const as = (who: Issued, mspId = HOSPITAL_MSP) => ({ mspId, certificatePem: who.certificatePem });

  /** The chaincode as the researcher's CLI sees it through a peer. */
  function researchLedger(): ResearchLedger & { close(): void } {
    const me = as(researcher);
    const call = <T>(contract: 'research' | 'credits', fn: string, args: unknown[]) =>
      h.ledger.invokeAs<T>(h.ledger[contract], fn, args, me);
    const orUndefined = async <T>(p: Promise<T>) => {
      try {
        return await p;
      } catch (err) {
        if (err instanceof LedgerError && err.code === 'NOT_FOUND') return undefined;
        throw err;
      }
    };
    return {
      openAccount: () => call('credits', 'OpenAccount', []),
      readAccount: () => call('credits', 'ReadAccount', []),
      listEntries: () => readAllPages((b) => call<Page<never>>('credits', 'ListEntries', [MAX_LEDGER_PAGE_SIZE, b])),
      postOffer: (terms) => call('research', 'PostOffer', [JSON.stringify(terms)]),
      withdrawOffer: (offerId) => call('research', 'WithdrawOffer', [offerId]),
      readOffer: (offerId) => orUndefined(call<ResearchOfferRecord>('research', 'ReadOffer', [offerId])),
      listOffers: (status) =>
        readAllPages((b) =>
          call<Page<ResearchOfferRecord>>('research', 'ListOffers', [status, MAX_LEDGER_PAGE_SIZE, b]),
        ),
      readParticipation: (id) => orUndefined(call<ParticipationRecord>('research', 'ReadParticipation', [id])),
      listParticipations: (offerId) =>
        readAllPages((b) =>
          call<Page<ParticipationRecord>>('research', 'ListParticipations', [offerId, MAX_LEDGER_PAGE_SIZE, b]),
        ),
      declareUse: (subject, useId, use) => call('research', 'DeclareUse', [subject, useId, use]),
      close: () => undefined,
    };
  }
  const deps: ResearchCliDeps = { connectLedger: () => researchLedger() };

  async function cli(...args: string[]): Promise<number> {
    stdout = '';
    stderr = '';
    const [command, ...rest] = args;
    const sub = command === 'offer' ? [command, rest.shift() as string] : [command as string];
    return main([...sub, ...flags, ...rest], deps);
  }

  function termsFile(offerId: string, overrides: Record<string, unknown> = {}): string {
    const file = join(dir, `${offerId}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        offerId,
        title: 'HbA1c (LOINC 4548-4) of adults 18+',
        criteria: { codes: [HBA1C], ageBand: { min: 18 } },
        wanted: { codes: [HBA1C, { system: MARITAL }], demographics: ['age', 'gender', 'postalCode3'] },
        dates: 'year',
        creditsPerParticipant: 10,
        quota: 10,
        expiresAt: new Date(Date.now() + 30 * DAY).toISOString(),
        collectVia: HOSPITAL_MSP,
        ...overrides,
      }),
    );
    return file;
  }

  /** A Synthea patient whose record the hospital delivered: the payload, as the agent holds it. */
  async function patientWithRecord(file: string, tag: string) {
    const bundle = forNewPatient(loadBundle(file), tag);
    const patient = await h.newPatient(tag);
    await h.link(patient, mrnOf(bundle));
    const res = await h.request(h.clients.ehr, 'POST', '/fhir', bundle, { 'content-type': 'application/fhir+json' });
    if (res.status !== 200) throw new Error(`ingest: ${res.status} ${res.text}`);
    await h.gateway.outbox.idle();
    const deliveryId = readReceipt(res.json)!.deliveryId;
    return { patient, bundle, deliveryId, payload: h.openDelivery(patient, deliveryId) };
  }

  /**
   * What the patient's agent does on acceptance (H2 builds the real one): consent, study key,
   * Accept, a de-identified extract (HbA1c results changed: time cut to the year; marital status
   * unchanged with its proof), sealed to the offer's key and posted to the gateway, then Deliver.
   */
  async function participate(
    who: { patient: TestPatient; deliveryId: string; payload: DeliveryPayload },
    offer: ResearchOfferRecord,
    options: { demographics?: ExtractDemographics; deliveredHashOf?: (real: Buffer) => Buffer } = {},
  ): Promise<string> {
    const { patient, deliveryId, payload } = who;
    const { participationId, signer } = await acceptStudyOffer(h.ledger, patient.identity, offer, [HBA1C]);

    const tree = new DeliveryTree(
      payload.segments.map((s) => s.elements.map((e) => elementLeafHash(e.element, e.salt))),
    );
    const elements: ExtractElement[] = [];
    payload.segments.forEach((s, si) =>
      s.elements.forEach((e, ei) => {
        const el = e.element;
        if (el.kind !== 'coded') return;
        if (el.system === MARITAL) {
          elements.push({ status: 'unchanged', element: el, salt: e.salt, proof: tree.proof(si, ei), root: tree.root });
        } else if (el.system === HBA1C.system && el.code === HBA1C.code) {
          // The agent's changed element: no id (it would link back to the proof), no resource.
          const changed: Partial<DataElement> = { ...el, time: yearOf(el.time)! };
          delete changed.id;
          delete changed.resource;
          elements.push({
            status: 'changed',
            element: changed as Omit<DataElement, 'id' | 'resource'>,
            changes: [{ field: 'time', rule: 'year' }],
          });
        }
      }),
    );
    const extract: ResearchExtract = {
      version: 1,
      offerId: offer.offerId,
      participationId,
      nonce: randomUUID().replace(/-/g, ''),
      dates: 'year',
      demographics: options.demographics ?? { age: 68, gender: 'male', postalCode3: '021' },
      elements,
    };
    const plaintext = Buffer.from(canonicalJson(extract), 'utf8');
    const envelope = seal(
      plaintext,
      { algorithm: 'X25519', publicKey: offer.encryptionPublicKey },
      { purpose: RESEARCH_EXTRACT_PURPOSE, offerId: offer.offerId, participationId },
      signer,
    );
    const posted = await h.request(patient.identity, 'POST', '/research/extracts', {
      offerId: offer.offerId,
      participationId,
      envelope,
    });
    if (posted.status !== 201) throw new Error(`post extract: ${posted.status} ${posted.text}`);
    const hashed = options.deliveredHashOf ? options.deliveredHashOf(plaintext) : plaintext;
    await h.ledger.invokeAs(
      h.ledger.research,
      'Deliver',
      [
        participationId,
        JSON.stringify([deliveryId]),
        createHash('sha256').update(hashed).digest('hex'),
        elements.length,
      ],
      as(patient.identity, PATIENTS_MSP_ID),
    );
    return participationId;
  }

  const readOffer = (offerId: string) =>
    h.ledger.invokeAs<ResearchOfferRecord>(h.ledger.research, 'ReadOffer', [offerId], as(researcher));

  beforeAll(async () => {
    h = await GatewayHarness.create({ threads: 1 });
    h.ledger.world.clock = Math.floor(Date.now() / 1000);
    researcher = await h.hospitalCa.issue('researcher-cli', { attrs: { 'phr.role': 'researcher' } });
    await h.ledger.invokeAs(
      h.ledger.directory,
      'RegisterHospital',
      [
        'Hospital 1',
        'https://gw.hospital1.example/fhir',
        h.clients.gatewayIdentity.certificatePem,
        h.hospitalCa.certificatePem,
      ],
      as(h.clients.admin),
    );
    dir = mkdtempSync(join(tmpdir(), 'phr-research-'));
    stateDir = join(dir, 'state');
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    flags = [
      '--cert',
      file('cert.pem', researcher.certificatePem),
      '--key',
      file('key.pem', researcher.privateKeyPem),
      '--msp-id',
      HOSPITAL_MSP,
      '--peer',
      '127.0.0.1:1',
      '--peer-ca',
      file('ca.pem', h.hospitalCa.certificatePem),
      '--gateway',
      h.url,
      '--ca',
      join(dir, 'ca.pem'),
      '--state-dir',
      stateDir,
    ];
  });
  afterAll(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  });
  afterEach(() => jest.restoreAllMocks());

  it('opens the account, posts an offer with a key kept here, collects, verifies, exports and declares', async () => {
    expect(await cli('account')).toBe(0);
    const accountId = /account (id[0-9a-f]{40})/.exec(stdout)?.[1] as string;
    expect(accountId).toBeDefined();
    await h.ledger.invokeAs<CreditAccountRecord>(
      h.ledger.credits,
      'Fund',
      [accountId, 500, 'fund-cli-0001'],
      as(h.clients.admin),
    );

    expect(await cli('offer', 'post', '--file', termsFile('offer-cli-hba1c'))).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain('offer-cli-hba1c  open');
    const keyFile = join(stateDir, 'offers', 'offer-cli-hba1c', 'sealing-key.json');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const offer = await readOffer('offer-cli-hba1c');
    expect(offer.encryptionPublicKey).toBe(
      (JSON.parse(readFileSync(keyFile, 'utf8')) as { publicKeyPem: string }).publicKeyPem,
    );
    // A retry posts the same terms with the same key: the ledger answers the record.
    expect(await cli('offer', 'post', '--file', join(dir, 'offer-cli-hba1c.json'))).toBe(0);
    expect(await cli('offer', 'list', '--json')).toBe(0);
    expect((JSON.parse(stdout) as ResearchOfferRecord[]).map((o) => o.offerId)).toEqual(['offer-cli-hba1c']);

    const files = syntheaFiles();
    const hilario = await patientWithRecord(
      files.find((f) => f.startsWith('Hilario_Barton'))!,
      'hilario',
    );
    const jesus = await patientWithRecord(
      files.find((f) => f.startsWith('Jesus_Smitham'))!,
      'jesus',
    );
    const p1 = await participate(hilario, offer);
    const p2 = await participate(jesus, offer, { demographics: { age: 71, gender: 'male', postalCode3: '017' } });

    expect(await cli('collect', 'offer-cli-hba1c', '--json')).toBe(0);
    const report = JSON.parse(stdout) as {
      verified: { participationId: string; unchanged: number; changed: { changes: unknown[] }[]; roots: string[] }[];
      refused: unknown[];
      waiting: unknown[];
    };
    expect(report.refused).toEqual([]);
    expect(report.waiting).toEqual([]);
    expect(report.verified.map((v) => v.participationId).sort()).toEqual([p1, p2].sort());
    for (const v of report.verified) {
      expect(v.unchanged).toBe(1); // marital status, proven against the delivery root on the ledger
      expect(v.changed).toHaveLength(10); // the HbA1c results, time cut to the year
      expect(v.roots).toHaveLength(1);
    }
    // Kept here (0600), gone from the gateway.
    const kept = readdirSync(join(stateDir, 'offers', 'offer-cli-hba1c', 'extracts'));
    expect(kept.sort()).toEqual([`${p1}.json`, `${p2}.json`].sort());
    for (const f of kept)
      expect(statSync(join(stateDir, 'offers', 'offer-cli-hba1c', 'extracts', f)).mode & 0o777).toBe(0o600);
    const left = await h.request(researcher, 'GET', '/research/offers/offer-cli-hba1c/extracts');
    expect(left.json).toEqual({ extracts: [], more: false });
    expect(await cli('collect', 'offer-cli-hba1c')).toBe(0);
    expect(stdout).toContain('0 extract(s) verified');

    // A dataset holding anything on the researcher's own list of identifiers is refused: nothing
    // written, nothing declared on the participants' logs.
    writeFileSync(join(dir, 'known-p001.json'), JSON.stringify({ other: ['P001'] }));
    const refusedOut = join(dir, 'refused-dataset');
    expect(
      await cli('export', 'offer-cli-hba1c', '--out', refusedOut, '--known-identifiers', join(dir, 'known-p001.json')),
    ).toBe(1);
    expect(stderr).toMatch(/Safe Harbor/);
    expect(existsSync(refusedOut)).toBe(false);

    // Export: the Safe Harbor check with the identifiers of both source records, then the files.
    const known = knownIdentifiersFromBundle(hilario.bundle);
    const other = knownIdentifiersFromBundle(jesus.bundle);
    for (const k of Object.keys(other) as (keyof typeof other)[]) known[k] = [...(known[k] ?? []), ...(other[k] ?? [])];
    writeFileSync(join(dir, 'known.json'), JSON.stringify(known));
    const out = join(dir, 'dataset');
    expect(
      await cli(
        'export',
        'offer-cli-hba1c',
        '--out',
        out,
        '--known-identifiers',
        join(dir, 'known.json'),
        '--use-id',
        'export-cli-0001',
      ),
    ).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain('2 participants, 22 rows');
    const csv = readFileSync(join(out, 'dataset.csv'), 'utf8');
    const bundle = JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8')) as {
      type: string;
      entry: { resource: { resourceType: string; id: string; identifier?: unknown } }[];
    };
    expect(checkSafeHarbor({ csv, bundle, known })).toEqual([]);
    expect(csv.split('\r\n')[0]).toBe(
      'participant,age,gender,postal_code3,resource_type,system,code,display,value,unit,year,verified,changes',
    );
    expect(csv).toContain('ledger-proof');
    expect(bundle.type).toBe('collection');
    const types = bundle.entry.map((e) => e.resource.resourceType);
    expect(types.filter((t) => t === 'Patient')).toHaveLength(2);
    expect(types.filter((t) => t === 'Observation')).toHaveLength(22);
    expect(types.filter((t) => t === 'Provenance')).toHaveLength(1);
    expect(bundle.entry.filter((e) => e.resource.resourceType === 'Patient').map((e) => e.resource.id)).toEqual([
      'P001',
      'P002',
    ]);
    expect(bundle.entry.some((e) => e.resource.identifier !== undefined)).toBe(false);
    // Nothing of the participations (the link back to the ledger) in the dataset.
    for (const id of [p1, p2]) expect(csv + JSON.stringify(bundle)).not.toContain(id);

    // Both participants see the export on their access log; then a later use.
    expect(await cli('use', 'offer-cli-hba1c', '--use', 'analysis', '--use-id', 'analysis-cli-0001')).toBe(0);
    expect(stdout).toContain('2 participants');
    for (const who of [hilario, jesus]) {
      const events = await h.ledger.listAccessEvents(who.patient.pseudonym, '', '');
      const research = events.filter((e) => e.action === 'research');
      // (the ledger keeps an event's references sorted)
      expect(research.map((e) => [...(e.references ?? [])].sort())).toEqual(
        expect.arrayContaining([
          ['export-cli-0001', 'offer-cli-hba1c'],
          ['analysis-cli-0001', 'offer-cli-hba1c'],
        ]),
      );
      // the refused export declared nothing
      expect(research.filter((e) => (e.references ?? []).some((r) => r.startsWith('export-')))).toHaveLength(1);
    }

    // Balance: 500 funded, 100 in escrow, 20 paid out of it; withdrawing refunds the 80 unspent.
    expect(await cli('offer', 'withdraw', 'offer-cli-hba1c')).toBe(0);
    expect(await cli('balance', '--json')).toBe(0);
    const { account, entries } = JSON.parse(stdout) as {
      account: CreditAccountRecord;
      entries: { kind: string; amount: number }[];
    };
    expect(account.balance).toBe(480);
    expect(entries.map((e) => [e.kind, e.amount])).toEqual([
      ['fund', 500],
      ['escrow', -100],
      ['refund', 80],
    ]);
  });

  it('refuses an extract that is not the one the ledger paid for, and leaves it at the gateway', async () => {
    const offer = await (async () => {
      expect(await cli('offer', 'post', '--file', termsFile('offer-cli-tamper'))).toBe(0);
      return readOffer('offer-cli-tamper');
    })();
    const who = await patientWithRecord(
      syntheaFiles().find((f) => f.startsWith('Hilario_Barton'))!,
      'tamper',
    );
    const pid = await participate(who, offer, { deliveredHashOf: (real) => Buffer.concat([real, Buffer.from(' ')]) });
    expect(await cli('collect', 'offer-cli-tamper', '--json')).toBe(0);
    const report = JSON.parse(stdout) as { verified: unknown[]; refused: { participationId: string; code: string }[] };
    expect(report.verified).toEqual([]);
    expect(report.refused).toEqual([expect.objectContaining({ participationId: pid, code: 'HASH_MISMATCH' })]);
    const left = (await h.request(researcher, 'GET', '/research/offers/offer-cli-tamper/extracts')).json as {
      extracts: { participationId: string }[];
    };
    expect(left.extracts.map((e) => e.participationId)).toEqual([pid]);
    expect(existsSync(join(stateDir, 'offers', 'offer-cli-tamper', 'extracts'))).toBe(false);
  });

  it('refuses an extract not in Safe Harbor form at collect: nothing kept, written or declared', async () => {
    expect(await cli('offer', 'post', '--file', termsFile('offer-cli-unsafe'))).toBe(0);
    const offer = await readOffer('offer-cli-unsafe');
    const who = await patientWithRecord(
      syntheaFiles().find((f) => f.startsWith('Jesus_Smitham'))!,
      'unsafe',
    );
    // An agent that forgot to group ages over 89: refused at collect (left at the gateway), never kept.
    const pid = await participate(who, offer, { demographics: { age: 93, gender: 'male', postalCode3: '017' } });
    expect(await cli('collect', 'offer-cli-unsafe', '--json')).toBe(0);
    const report = JSON.parse(stdout) as { refused: { participationId: string; code: string; message: string }[] };
    expect(report.refused).toEqual([expect.objectContaining({ participationId: pid, code: 'MALFORMED' })]);
    // the age itself is not echoed (the report's random ids may hold the digits, so they are left out)
    expect(JSON.stringify(report.refused.map((r) => ({ ...r, participationId: '' })))).not.toContain('93');
    const out = join(dir, 'unsafe');
    expect(await cli('export', 'offer-cli-unsafe', '--out', out)).toBe(1);
    expect(stderr).toContain('no verified extracts');
    expect(existsSync(out)).toBe(false);
    const events = await h.ledger.listAccessEvents(who.patient.pseudonym, '', '');
    expect(
      events.filter((e) => e.action === 'research' && (e.references ?? []).some((r) => r.startsWith('export-'))),
    ).toEqual([]);
  });

  it('says what is wrong with its options before it connects', async () => {
    expect(await cli('use', 'offer-cli-hba1c', '--use', 'selling')).not.toBe(0);
    const bad = join(dir, 'bad-terms.json');
    writeFileSync(bad, JSON.stringify({ offerId: 'x', title: 't' }));
    expect(await cli('offer', 'post', '--file', bad)).toBe(1);
    expect(stderr).toMatch(/offerId/);
  });
});
