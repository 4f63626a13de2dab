/**
 * Research on the patient's terms, on the real network: a researcher at hospital1 offers credits
 * for the HbA1c results of adults; every Synthea patient has an agent; the five whose records the
 * test knows best decide (two accept, one declines, two do not match). The researcher collects,
 * verifies and exports a dataset that an automated Safe Harbor check passes; credits add up. Then
 * hospital1 produces an institutional extract over the whole population with k ≥ 5, leaving out
 * the patients who opted out, and each use lands on the patients' access logs. Nothing of the
 * flow — blocks, events, logs — carries a name, an identifier or a health value.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'fhir-kit-client';
import { Agent as Dispatcher } from 'undici';
import {
  checkSafeHarbor,
  type KnownIdentifiers,
  type AccessEventRecord,
  type CreditAccountRecord,
  type ParticipationRecord,
  type ResearchOfferRecord,
} from '@phr/common';
import { readReceipt } from '@phr/gateway';
import { Agent } from '@phr/mobile-agent';
import { allBlocks, rawGateway } from './fabric';
import { inBatches, mutualTls, gatewayUrl, ROOT, script, state, syncUntilStored } from './harness';
import { enrollMember, HBA1C, PASSPHRASE, patientFiles, type Member } from './research-support';

const run = promisify(execFile);
const tag = randomBytes(3).toString('hex');
const HOSPITAL = 'hospital1';
const ACCEPT = ['Hilario_Barton', 'Jesus_Smitham'];
const DECLINE = ['Gloria_Covarrubias'];
const NO_MATCH = ['Adan_Portillo', 'Enda_Schaefer'];
const OPT_OUT = ['Antonio_Castellanos', 'Tobie_Rempel'];
const CREDITS = 10;
const QUOTA = 10;
const FUNDING = 1000;
const MARITAL = 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus';

describe("research on the patient's terms", () => {
  const dispatchers: Dispatcher[] = [];
  const work = () => join(state().dir, 'research', `run-${tag}`);
  const researcher = `rs-${tag}`;
  let members: Member[] = [];
  const deliveries = new Map<string, string>();
  let ehr: Client;
  /** When this suite's population was delivered: the institutional extract's data window. */
  let windowStart = '';
  let windowEnd = '';

  const member = (name: string): Member => {
    const m = members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  };

  /** `phr-agent --home HOME --passphrase-file … ARGS`; its stdout. */
  async function agentCli(m: Member, ...args: string[]): Promise<string> {
    const passFile = join(work(), 'agent.pass');
    writeFileSync(passFile, PASSPHRASE, { mode: 0o600 });
    const { stdout } = await run(
      process.execPath,
      [join(ROOT, 'mobile-agent', 'dist', 'cli', 'main.js'), '--home', m.home, '--passphrase-file', passFile, ...args],
      { env: { ...process.env, NODE_OPTIONS: '--no-deprecation' }, maxBuffer: 16 * 1024 * 1024 },
    );
    return stdout;
  }

  /** The researcher's identity files and connection flags for `phr-research`. */
  function researcherFlags(): string[] {
    const s = state();
    const dir = join(work(), 'researcher');
    mkdirSync(dir, { recursive: true });
    const id = s.identity(HOSPITAL, researcher);
    const peer = s.peer(HOSPITAL);
    const files = {
      cert: id.certificatePem,
      key: id.privateKeyPem,
      ca: readFileSync(join(s.dir, 'orgs', HOSPITAL, 'msp', 'cacerts', 'ca.pem'), 'utf8'),
      'peer-ca': peer.tlsRootCertPem,
    };
    const flags: string[] = [];
    for (const [flag, text] of Object.entries(files)) {
      const file = join(dir, `${flag}.pem`);
      writeFileSync(file, text, { mode: 0o600 });
      flags.push(`--${flag}`, file);
    }
    return [
      ...flags,
      '--gateway',
      gatewayUrl(HOSPITAL),
      '--peer',
      peer.address,
      '--msp-id',
      s.mspIdOf(HOSPITAL),
      '--channel',
      s.topology.channel,
      '--chaincode',
      s.topology.chaincode.name,
      '--state-dir',
      join(dir, 'state'),
    ];
  }

  /** `phr-research ARGS` as the researcher; its stdout. */
  async function researchCli(...args: string[]): Promise<string> {
    const { stdout } = await run(
      process.execPath,
      [join(ROOT, 'requester', 'dist', 'research-cli', 'main.js'), ...args, ...researcherFlags()],
      { env: { ...process.env, NODE_OPTIONS: '--no-deprecation' }, maxBuffer: 16 * 1024 * 1024 },
    );
    return stdout;
  }

  async function accessLog(m: Member): Promise<AccessEventRecord[]> {
    const client = state().connect('hospital1', 'orgadmin');
    try {
      const page = JSON.parse(
        await client.evaluate('AccessLog', 'ListAccessEvents', [m.pseudonym, '', '', '100', '']),
      ) as { records: AccessEventRecord[] };
      return page.records;
    } finally {
      client.close();
    }
  }

  beforeAll(async () => {
    mkdirSync(work(), { recursive: true });
    const admin = mutualTls(HOSPITAL, 'orgadmin', HOSPITAL);
    const ehrTls = mutualTls(HOSPITAL, 'ehr', HOSPITAL);
    dispatchers.push(admin, ehrTls);
    ehr = new Client({ baseUrl: `${gatewayUrl(HOSPITAL)}/fhir`, requestOptions: { dispatcher: ehrTls } });
    await script('enroll.sh', HOSPITAL, researcher, 'researcher');
    const started = Date.now();
    windowStart = new Date(started).toISOString();
    members = await inBatches(patientFiles(), 3, (file) => enrollMember(file, tag, HOSPITAL, admin));
    await inBatches(members, 4, async (m) => {
      const answer = await ehr.transaction({
        body: { ...m.bundle, identifier: { system: 'urn:e2e:research', value: `${m.name}-${tag}` } },
      });
      const id = readReceipt(answer)?.deliveryId;
      if (!id) throw new Error(`no receipt for ${m.name}`);
      deliveries.set(m.name, id);
    });
    for (const name of [...ACCEPT, ...DECLINE, ...NO_MATCH]) {
      const agent = await Agent.open(member(name).home, PASSPHRASE);
      try {
        await syncUntilStored(agent, [deliveries.get(name) as string]);
      } finally {
        await agent.close();
      }
    }
    windowEnd = new Date().toISOString();
    process.stdout.write(
      `\nresearch: ${members.length} Synthea patients enrolled, linked and delivered at ${HOSPITAL} in ${Math.round((Date.now() - started) / 1000)} s\n`,
    );
  }, 420_000);

  afterAll(async () => {
    for (const d of dispatchers) await d.close();
  });

  const offerId = `hba1c-adults-${tag}`;
  let accountId = '';

  /** The institute's account and every participant's: what the ledger says each holds. */
  async function balances(): Promise<{ institute: number; patients: Map<string, number> }> {
    const institute = JSON.parse(await researchCli('balance', '--json')) as { account: CreditAccountRecord };
    const patients = new Map<string, number>();
    for (const name of [...ACCEPT, ...DECLINE, ...NO_MATCH]) {
      const credits = JSON.parse(await agentCli(member(name), 'research', 'credits', '--json')) as { balance: number };
      patients.set(name, credits.balance);
    }
    return { institute: institute.account.balance, patients };
  }

  it('a researcher offers credits for the HbA1c results of adults: those who match and accept deliver, the dataset passes Safe Harbor and verifies, credits add up', async () => {
    // The institute's account, funded by hospital1's admin with the ledger CLI (credits are bought off the ledger)
    accountId = (JSON.parse(await researchCli('account', '--json')) as CreditAccountRecord).accountId;
    await script(
      'phr-ledger',
      '--org',
      HOSPITAL,
      '--identity',
      'orgadmin',
      'submit',
      'Credits:Fund',
      accountId,
      String(FUNDING),
      `fund-${tag}`,
    );

    const terms = {
      offerId,
      title: 'HbA1c in adults: a glycaemic control study',
      criteria: { codes: [HBA1C], ageBand: { min: 18 } },
      wanted: { codes: [HBA1C, { system: MARITAL }], demographics: ['age', 'gender', 'postalCode3'] },
      dates: 'year',
      creditsPerParticipant: CREDITS,
      quota: QUOTA,
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      collectVia: state().mspIdOf(HOSPITAL),
    };
    const termsFile = join(work(), 'terms.json');
    writeFileSync(termsFile, JSON.stringify(terms));
    const posted = JSON.parse(await researchCli('offer', 'post', '--file', termsFile, '--json')) as ResearchOfferRecord;
    expect(posted.escrow).toBe(CREDITS * QUOTA);

    // Each agent matches the offer against its own vault
    const listed = new Map<string, boolean>();
    for (const name of [...ACCEPT, ...DECLINE, ...NO_MATCH]) {
      const offers = JSON.parse(await agentCli(member(name), 'research', 'list', '--json')) as {
        offerId: string;
        matches: boolean;
        preview: { elements: { status: string; code?: string }[] };
      }[];
      const offer = offers.find((o) => o.offerId === offerId);
      listed.set(name, offer?.matches === true);
      if (offer) expect(offer.preview.elements.some((e) => e.code === HBA1C.code)).toBe(true);
    }
    expect(Object.fromEntries(listed)).toEqual(
      Object.fromEntries([...ACCEPT, ...DECLINE].map((n) => [n, true]).concat(NO_MATCH.map((n) => [n, false]))),
    );

    for (const name of ACCEPT) {
      const accepted = JSON.parse(await agentCli(member(name), 'research', 'accept', offerId, '--json')) as {
        participationId: string;
        credits: number;
        elementCount: number;
      };
      expect(accepted.credits).toBe(CREDITS);
      expect(accepted.elementCount).toBeGreaterThan(0);
    }
    for (const name of DECLINE) await agentCli(member(name), 'research', 'decline', offerId);

    // The researcher collects and verifies against the ledger
    const collected = JSON.parse(await researchCli('collect', offerId, '--json')) as {
      verified: {
        participationId: string;
        unchanged: number;
        changed: { changes: { field: string; rule: string }[] }[];
      }[];
      refused: unknown[];
      waiting: unknown[];
    };
    expect(collected.refused).toEqual([]);
    expect(collected.waiting).toEqual([]);
    expect(collected.verified).toHaveLength(ACCEPT.length);
    for (const v of collected.verified) {
      expect(v.unchanged).toBeGreaterThan(0); // the marital status: proven against the ledger's root
      // the HbA1c results: dates cut to the year, so no proof; each says so
      expect(v.changed.length).toBeGreaterThan(0);
      for (const c of v.changed) expect(c.changes).toContainEqual({ field: 'time', rule: 'year' });
    }

    // Nothing from the decliner and the non-matching: the ledger has no participation of theirs
    const participations = new Map<string, ParticipationRecord[]>();
    for (const name of [...ACCEPT, ...DECLINE, ...NO_MATCH]) {
      const agent = await Agent.open(member(name).home, PASSPHRASE);
      try {
        participations.set(name, await agent['ledger'].listMyParticipations());
      } finally {
        await agent.close();
      }
    }
    for (const name of ACCEPT) expect(participations.get(name)?.map((p) => p.offerId)).toEqual([offerId]);
    for (const name of [...DECLINE, ...NO_MATCH]) expect(participations.get(name)).toEqual([]);
    expect(collected.verified.map((v) => v.participationId).sort()).toEqual(
      ACCEPT.flatMap((n) => participations.get(n) ?? [])
        .map((p) => p.participationId)
        .sort(),
    );

    // The export: the researcher's own check, then the test's, with what an attacker knows of all five
    const out = join(work(), 'dataset');
    const knownFile = join(work(), 'known.json');
    const five = [...ACCEPT, ...DECLINE, ...NO_MATCH].map(member);
    writeFileSync(knownFile, JSON.stringify(mergeKnown(five.map((m) => m.known))));
    const exported = JSON.parse(
      await researchCli('export', offerId, '--out', out, '--known-identifiers', knownFile, '--json'),
    ) as { participants: number; rows: number };
    expect(exported.participants).toBe(ACCEPT.length);
    const csv = readFileSync(join(out, 'dataset.csv'), 'utf8');
    const bundle = JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8')) as unknown;
    expect(checkSafeHarbor({ csv, bundle, known: mergeKnown(members.map((m) => m.known)) })).toEqual([]);
    // The check looks at the right thing: the dataset holds the accepters' HbA1c results, by year
    const hba1cRows = csv.split(/\r?\n/).filter((l) => l.includes(HBA1C.code));
    const sent = ACCEPT.flatMap((n) =>
      member(n).bundle.entry.filter((e) => JSON.stringify(e.resource).includes(`"${HBA1C.code}"`)),
    );
    expect(hba1cRows).toHaveLength(sent.length);

    // Credits: the institute paid two participants; after the withdrawal the rest of the escrow is back
    await researchCli('offer', 'withdraw', offerId, '--json');
    const after = await balances();
    expect(after.institute).toBe(FUNDING - ACCEPT.length * CREDITS);
    for (const name of ACCEPT) expect(after.patients.get(name)).toBe(CREDITS);
    for (const name of [...DECLINE, ...NO_MATCH]) expect(after.patients.get(name)).toBe(0);
    expect(after.institute + [...after.patients.values()].reduce((a, b) => a + b, 0)).toBe(FUNDING);

    // Each participant's log shows the delivery and the export; the others' show nothing of it
    for (const name of ACCEPT) {
      const research = (await accessLog(member(name))).filter((e) => e.action === 'research');
      expect(research.filter((e) => e.references.includes(offerId))).toHaveLength(2);
      expect(research.every((e) => e.purpose === 'HRESCH')).toBe(true);
    }
    for (const name of [...DECLINE, ...NO_MATCH]) {
      expect((await accessLog(member(name))).filter((e) => e.action === 'research')).toEqual([]);
    }
  }, 300_000);

  it('an institutional extract over the Synthea population meets k ≥ 5, leaves out those who opted out, and every use shows on the logs', async () => {
    for (const name of OPT_OUT) await agentCli(member(name), 'research', 'opt-out');
    const request = {
      requestId: `irb-${tag}-1`,
      researcher: accountId,
      approval: 'Ethics board decision 2026-117 (e2e)',
      codes: [{ system: 'http://loinc.org', code: '29463-7' }, { system: 'http://loinc.org', code: '8302-2' }, HBA1C],
      quasiIdentifiers: ['ageBand', 'gender', 'postalCode3'],
      k: 5,
      maxSuppressed: 0.3,
      // the data this suite delivered: other suites' patients at hospital1 are not this study's
      received: { from: windowStart, to: windowEnd },
    };
    const requestFile = join(work(), 'extract-request.json');
    writeFileSync(requestFile, JSON.stringify(request));
    const out = join(work(), 'extract');
    const { stdout } = await run(
      process.execPath,
      [
        join(ROOT, 'gateway', 'dist', 'main.js'),
        'research-extract',
        '--config',
        join(state().dir, 'gateways', HOSPITAL, 'gateway.json'),
        '--request',
        requestFile,
        '--out',
        out,
        '--json',
      ],
      { env: { ...process.env, NODE_OPTIONS: '--no-deprecation' }, maxBuffer: 16 * 1024 * 1024 },
    );
    const produced = JSON.parse(stdout) as {
      extractId: string;
      extractHash: string;
      report: { kReached: number; participants: number; quasiIdentifiers: string[]; excluded: { optedOut: number } };
    };
    expect(produced.report.kReached).toBeGreaterThanOrEqual(5);
    expect(produced.report.excluded.optedOut).toBe(OPT_OUT.length);

    // k recounted from the file itself: every combination of quasi-identifiers has ≥ 5 participants
    const csv = readFileSync(join(out, 'extract.csv'), 'utf8');
    expect(
      createHash('sha256')
        .update(readFileSync(join(out, 'extract.csv')))
        .digest('hex'),
    ).toBe(produced.extractHash);
    const [header, ...lines] = csv.trim().split(/\r?\n/);
    const columns = (header ?? '').split(',');
    const qi = produced.report.quasiIdentifiers.map((q) => columns.indexOf(q));
    const classes = new Map<string, Set<string>>();
    for (const line of lines) {
      const cells = line.split(',');
      const key = qi.map((i) => cells[i]).join('|');
      const set = classes.get(key) ?? new Set<string>();
      set.add(cells[0] as string);
      classes.set(key, set);
    }
    expect(classes.size).toBeGreaterThan(0);
    expect(Math.min(...[...classes.values()].map((s) => s.size))).toBeGreaterThanOrEqual(5);
    expect(checkSafeHarbor({ csv, known: mergeKnown(members.map((m) => m.known)) })).toEqual([]);

    // The researcher declares a use; it lands with the extract itself on each included patient's log
    await researchCli('use', produced.extractId, '--use', 'analysis', '--json');
    let included = 0;
    for (const m of members) {
      const onLog = (await accessLog(m)).filter(
        (e) => e.action === 'research' && e.references.includes(produced.extractId),
      );
      if (OPT_OUT.includes(m.name)) expect({ name: m.name, events: onLog.length }).toEqual({ name: m.name, events: 0 });
      else if (onLog.length > 0) {
        expect(onLog).toHaveLength(2);
        included++;
      }
    }
    // the window holds this suite's population only: every participant of the extract is one of ours
    expect(included).toBe(produced.report.participants);
    expect(included).toBeGreaterThanOrEqual(5);
  }, 300_000);

  it('no block, event or log line of the flow carries a name, an identifier or a health value', async () => {
    const s = state();
    const g = rawGateway(s.identity(HOSPITAL, 'gateway'), HOSPITAL);
    let blocks: Buffer[];
    try {
      blocks = await allBlocks(g);
    } finally {
      g.close();
    }
    const logs = readdirSync(join(s.dir, 'logs')).map((f) => readFileSync(join(s.dir, 'logs', f)));
    const secrets = members.flatMap((m) => [
      ...m.fullNames.filter((n) => n.length >= 5),
      ...(m.known.mrns ?? []),
      ...(m.known.ssns ?? []),
      ...(m.known.phones ?? []),
      // street lines (a city alone may name something else: Carolina, Puerto Rico, and North Carolina)
      ...(m.known.addresses ?? []).filter((a) => a.length >= 8 && /\d/.test(a)),
      ...(m.known.birthDates ?? []),
      ...m.values,
    ]);
    // the search looks at the right places: the flow's ids are there
    expect(blocks.some((b) => b.includes(Buffer.from(offerId)))).toBe(true);
    expect(blocks.some((b) => b.includes(Buffer.from(member(ACCEPT[0] as string).pseudonym)))).toBe(true);
    const found = secrets.filter(
      (x) => blocks.some((b) => b.includes(Buffer.from(x))) || logs.some((l) => l.includes(Buffer.from(x))),
    );
    expect(found).toEqual([]);
    process.stdout.write(
      `\nResearch canary: ${secrets.length} names, identifiers and values of ${members.length} patients searched in ${blocks.length} blocks and ${logs.length} logs; none found.\n`,
    );
  });
});

function mergeKnown(all: KnownIdentifiers[]): KnownIdentifiers {
  const out: Record<string, string[]> = {};
  for (const k of all) {
    for (const [key, values] of Object.entries(k) as [string, string[] | undefined][]) {
      out[key] = [...(out[key] ?? []), ...(values ?? [])];
    }
  }
  return out;
}
