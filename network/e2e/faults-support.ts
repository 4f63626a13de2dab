/**
 * What the fault tests share: killing and waiting for the network's processes, an EHR that posts
 * many bundles with bounded concurrency, a cohort of patients' agents, and the counts that show a
 * delivery went through every stage exactly once — posted, receipted, committed, on the ledger,
 * delivered as mail, stored by the agent, acknowledged.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  ftruncateSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmdirSync,
  statfsSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Agent as Dispatcher, request } from 'undici';
import type { DeliveryHistoryEntry, DeliveryRecord, Page } from '@phr/common';
import type { Agent, DeliveryOutcome } from '@phr/mobile-agent';
import { readReceipt, type DeliveryReceipt } from '@phr/gateway';
import {
  gatewayUrl,
  inBatches,
  mrnIdentifier,
  mrnOf,
  mutualTls,
  script,
  state,
  until,
  type SyntheaBundle,
} from './harness';
import { enrollLinkedAgent } from './patients';

export const PASSPHRASE = 'faults e2e passphrase, long enough';
const SYNTHEA = join(__dirname, '..', '..', 'fixtures', 'synthea-r4');
const SOURCE_FILE = 'Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json';

// ---------------------------------------------------------------------------------------------
// Processes: each runs in its own process group, its pid in $PHR_STATE/pids/<name>.pid.

export function pidOf(name: string): number | undefined {
  const f = join(state().dir, 'pids', `${name}.pid`);
  return existsSync(f) ? Number(readFileSync(f, 'utf8')) : undefined;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Signals a network process's whole group and waits (15 s at most) until it is gone. */
export async function kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const pid = pidOf(name);
  if (pid === undefined) throw new Error(`${name} has no pid file`);
  if (!alive(pid)) throw new Error(`${name} (pid ${pid}) is not running`);
  try {
    process.kill(-pid, signal);
  } catch {
    // gone already
  }
  await until(`${name} to stop`, async () => (alive(pid) ? undefined : true), 15_000);
}

/** The orderer nodes this engine runs: all of the topology's on Fabric, the first on the embedded network. */
export function runningOrderers(): string[] {
  return state()
    .topology.orderers.nodes.map((n) => n.name)
    .filter((n) => {
      const pid = pidOf(n);
      return pid !== undefined && alive(pid);
    });
}

/**
 * Fabric only: the orderer the running Raft nodes agree leads the channel, from their logs (the
 * orderers' metrics are off). Each node logs its own Raft id (`node=N`) and every change of leader
 * it sees ("Raft leader changed: A -> B"); the leader is the id most running nodes saw last.
 */
export function raftLeader(): string | undefined {
  const s = state();
  const byId = new Map<number, string>();
  const votes = new Map<number, number>();
  for (const n of s.topology.orderers.nodes) {
    const file = join(s.dir, 'logs', `${n.name}.log`);
    const pid = pidOf(n.name);
    if (!existsSync(file) || pid === undefined || !alive(pid)) continue;
    // eslint-disable-next-line no-control-regex
    const text = readFileSync(file, 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
    const channel = s.topology.channel;
    const own = new RegExp(`channel=${channel} node=(\\d+)`).exec(text)?.[1];
    if (own) byId.set(Number(own), n.name);
    const seen = [...text.matchAll(new RegExp(`Raft leader changed: \\d+ -> (\\d+) channel=${channel} `, 'g'))].at(
      -1,
    )?.[1];
    if (seen && seen !== '0') votes.set(Number(seen), (votes.get(Number(seen)) ?? 0) + 1);
  }
  const [best] = [...votes.entries()].sort((a, b) => b[1] - a[1]);
  return best ? byId.get(best[0]) : undefined;
}

/**
 * `network.sh up`: restarts whatever is not running, as an operator would, and waits until healthy.
 * Run a second time, as an operator would, when the first fails: on Fabric, an orderer just
 * restarted after kill -9 can answer its health check before its admin endpoint listens, and
 * network.sh then takes it for a non-member and its `osnadmin channel join` fails. The retry is
 * printed, so that it is seen.
 */
export async function networkUp(): Promise<number> {
  const started = Date.now();
  try {
    await script('network.sh', 'up');
  } catch (err) {
    const why = (
      (err as Error).message.split('\n').find((l) => l.startsWith('error:')) ?? (err as Error).message
    ).trim();
    process.stdout.write(`\nnetwork.sh up failed (${why}); running it again\n`);
    await new Promise((r) => setTimeout(r, 2_000));
    await script('network.sh', 'up');
  }
  return Date.now() - started;
}

// ---------------------------------------------------------------------------------------------
// Bundles: a real Synthea bundle cut small, one MRN per patient, one Bundle.identifier per delivery.

let source: SyntheaBundle | undefined;

/** The Patient and the next `n - 1` entries of a Synthea bundle (as gateway/test/support/fixtures.ts smallBundle). */
export function smallBundle(n = 6): SyntheaBundle {
  source ??= JSON.parse(readFileSync(join(SYNTHEA, SOURCE_FILE), 'utf8')) as SyntheaBundle;
  const patient = source.entry.findIndex((e) => e.resource.resourceType === 'Patient');
  const others = source.entry.filter((e, i) => i !== patient && e.resource.resourceType !== 'Patient');
  return structuredClone({ ...source, entry: [source.entry[patient]!, ...others.slice(0, n - 1)] });
}

/** The same bundle for another patient: a fresh MRN. */
export function forPatient(b: SyntheaBundle, tag: string): SyntheaBundle {
  const copy = structuredClone(b);
  const mrn = mrnIdentifier(copy);
  mrn.value = `${mrn.value}-${tag}`;
  return copy;
}

export const IDENTIFIER_SYSTEM = 'urn:phr-e2e:faults';

/** One send of one delivery: the EHR keeps its Bundle.identifier on every retry. */
export interface Posting {
  key: string;
  pseudonym: string;
  bundle: SyntheaBundle;
}

// ---------------------------------------------------------------------------------------------
// HTTPS as the hospital's EHR and admin (mutual TLS with their certificates).

export interface Answer {
  status?: number;
  /** Present on a 2xx answer. */
  receipt?: DeliveryReceipt;
  body?: unknown;
  headers?: Record<string, string | string[] | undefined>;
  /** No answer: the connection failed or was cut. */
  error?: string;
  /** When the answer (or the failure) came. */
  at: number;
}

export interface Trigger {
  /** Runs once, when this many posts have been answered 2xx (posting goes on meanwhile). */
  afterAccepted: number;
  run: () => Promise<void>;
}

export class Ehr {
  readonly dispatcher: Dispatcher;
  readonly admin: Dispatcher;
  readonly base: string;
  /** Every delivery id this EHR was answered with, by any test: a test counts only its own. */
  readonly receipted = new Set<string>();

  constructor(readonly hospital = 'hospital1') {
    this.dispatcher = mutualTls(hospital, 'ehr', hospital, { keepAliveTimeout: 4_000 });
    this.admin = mutualTls(hospital, 'orgadmin', hospital, { keepAliveTimeout: 4_000 });
    this.base = gatewayUrl(hospital);
  }

  async call(
    dispatcher: Dispatcher,
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    timeoutMs = 60_000,
  ): Promise<Answer> {
    try {
      const res = await request(`${this.base}${path}`, {
        method,
        dispatcher,
        headers: body === undefined ? {} : { 'content-type': 'application/fhir+json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await res.body.text();
      const json: unknown = text ? JSON.parse(text) : undefined;
      return { status: res.statusCode, body: json, headers: res.headers, at: Date.now() };
    } catch (err) {
      return { error: (err as Error).message || String(err), at: Date.now() };
    }
  }

  async post(bundle: SyntheaBundle): Promise<Answer> {
    const a = await this.call(this.dispatcher, 'POST', '/fhir', bundle);
    if (a.status !== undefined && a.status >= 200 && a.status < 300) {
      const receipt = readReceipt(a.body);
      if (receipt) {
        a.receipt = receipt;
        this.receipted.add(receipt.deliveryId);
      }
    }
    return a;
  }

  /**
   * Posts every bundle, `concurrency` at a time; triggers run when enough posts were accepted.
   * Returns each posting's answer (by key) once every trigger has finished too.
   */
  async postAll(
    postings: readonly Posting[],
    options: { concurrency?: number; triggers?: Trigger[] } = {},
  ): Promise<Map<string, Answer>> {
    const answers = new Map<string, Answer>();
    const running: Promise<void>[] = [];
    const triggers = [...(options.triggers ?? [])];
    let accepted = 0;
    let next = 0;
    const worker = async () => {
      for (;;) {
        const p = postings[next++];
        if (!p) return;
        const a = await this.post(p.bundle);
        answers.set(p.key, a);
        if (a.receipt) accepted += 1;
        for (const t of triggers.filter((x) => accepted >= x.afterAccepted)) {
          triggers.splice(triggers.indexOf(t), 1);
          running.push(t.run());
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
    await Promise.all(running);
    if (triggers.length > 0) throw new Error(`a fault never ran: only ${accepted} posts were accepted`);
    return answers;
  }

  async receipt(deliveryId: string): Promise<DeliveryReceipt | undefined> {
    const a = await this.call(this.dispatcher, 'GET', `/deliveries/${deliveryId}`);
    return a.status === 200 ? (a.body as DeliveryReceipt) : undefined;
  }

  async receipts(ids: readonly string[]): Promise<Map<string, DeliveryReceipt>> {
    const out = new Map<string, DeliveryReceipt>();
    await inBatches(ids, 16, async (id) => {
      const r = await this.receipt(id);
      if (r) out.set(id, r);
    });
    return out;
  }

  /** Waits until the gateway reports every delivery committed to the ledger. */
  async waitCommitted(ids: readonly string[], ms = 120_000): Promise<number> {
    const started = Date.now();
    let left = [...ids];
    await until(
      `${ids.length} deliveries to be committed`,
      async () => {
        const now = await this.receipts(left);
        left = left.filter((id) => now.get(id)?.status !== 'committed');
        return left.length === 0 ? true : undefined;
      },
      ms,
    );
    return Date.now() - started;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
    await this.admin.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Patients: each enrolled by the doorman, its agent's keys made on the device, its MRN linked.

export interface Patient {
  name: string;
  home: string;
  pseudonym: string;
  agent: Agent;
  /** The patient's bundle (with its own MRN). */
  bundle: SyntheaBundle;
}

/** Enrolls a patient's agent and links its MRN at the hospital (the admin uses the agent's one-time code). */
export async function enrollPatient(name: string, ehr: Ehr, entries = 6): Promise<Patient> {
  const home = join(state().dir, 'agents', name);
  const bundle = forPatient(smallBundle(entries), name);
  const { pseudonym, agent } = await enrollLinkedAgent({
    name,
    home,
    passphrase: PASSPHRASE,
    hospital: ehr.hospital,
    identifier: mrnOf(bundle),
    admin: ehr.admin,
  });
  return { name, home, pseudonym, agent, bundle };
}

/** A group of patients at one hospital; a run's bundles go to them in turn. */
export class Cohort {
  private constructor(
    readonly patients: Patient[],
    readonly ehr: Ehr,
  ) {}

  static async enroll(prefix: string, size: number, ehr: Ehr): Promise<Cohort> {
    const patients: Patient[] = [];
    const tag = randomBytes(3).toString('hex'); // new agents and MRNs, also when the tests run again on one network
    // A few at a time: unlocking a keystore is a synchronous scrypt (~0.4 s) on this thread, and
    // many at once would starve the CA client's own connection timers.
    await inBatches(
      Array.from({ length: size }, (_, i) => i),
      3,
      async (i) => {
        patients.push(await enrollPatient(`${prefix}-${tag}-${i}`, ehr));
      },
    );
    return new Cohort(patients, ehr);
  }

  /** `count` distinct deliveries (distinct Bundle.identifier), spread over the patients. */
  postings(run: string, count: number): Posting[] {
    const tag = randomBytes(4).toString('hex'); // unique on this network, also when a test runs again
    return Array.from({ length: count }, (_, i) => {
      const p = this.patients[i % this.patients.length] as Patient;
      const key = `${run}-${tag}-${i}`;
      return {
        key,
        pseudonym: p.pseudonym,
        bundle: { ...p.bundle, identifier: { system: IDENTIFIER_SYSTEM, value: key } },
      };
    });
  }

  get pseudonyms(): string[] {
    return this.patients.map((p) => p.pseudonym);
  }

  /** What the ledger and the vaults hold for these patients now: later counts take only what is new. */
  async snapshot(): Promise<Snapshot> {
    const ledger = await ledgerDeliveries(this.pseudonyms);
    const vault = new Set<string>();
    for (const p of this.patients) for (const d of await p.agent.deliveries()) vault.add(d.deliveryId);
    return { ledger: new Set(ledger.keys()), vault };
  }

  /**
   * Every agent syncs until it has stored every delivery addressed to it (`expected`: delivery ids
   * by pseudonym); the agents run side by side, as devices would. Returns what the agents reported.
   */
  async syncAll(expected: ReadonlyMap<string, ReadonlySet<string>>, ms = 180_000): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = [];
    const deadline = Date.now() + ms;
    await Promise.all(
      this.patients.map(async (p) => {
        const mine = [...(expected.get(p.pseudonym) ?? [])];
        await until(
          `${p.name}'s agent to store its ${mine.length} deliveries`,
          async () => {
            const report = await p.agent.sync();
            outcomes.push(...report.deliveries);
            if (report.deliveries.length > 0) return undefined;
            const have = new Set((await p.agent.deliveries()).map((d) => d.deliveryId));
            return mine.every((id) => have.has(id)) ? true : undefined;
          },
          Math.max(1_000, deadline - Date.now()),
        );
      }),
    );
    return outcomes;
  }

  async close(): Promise<void> {
    for (const p of this.patients) await p.agent.close();
  }
}

export interface Snapshot {
  ledger: Set<string>;
  vault: Set<string>;
}

// ---------------------------------------------------------------------------------------------
// The ledger, read as the other hospital's gateway would, through hospital1's peer.

/** Every delivery on the ledger for these patients (Commitments.ListDeliveries, all pages). */
export async function ledgerDeliveries(pseudonyms: readonly string[]): Promise<Map<string, DeliveryRecord>> {
  const ledger = state().connect('hospital1', 'gateway');
  const out = new Map<string, DeliveryRecord>();
  try {
    await inBatches(pseudonyms, 8, async (pseudonym) => {
      let bookmark = '';
      do {
        const page = JSON.parse(
          await ledger.evaluate('Commitments', 'ListDeliveries', [pseudonym, '100', bookmark]),
        ) as Page<DeliveryRecord>;
        for (const r of page.records) {
          if (out.has(r.deliveryId)) throw new Error(`ListDeliveries named ${r.deliveryId} twice`);
          out.set(r.deliveryId, r);
        }
        bookmark = page.bookmark;
      } while (bookmark);
    });
  } finally {
    ledger.close();
  }
  return out;
}

/** Commitments.DeliveryHistory of each delivery: how many times it was recorded and acknowledged. */
export async function ledgerHistories(ids: readonly string[]): Promise<Map<string, DeliveryHistoryEntry[]>> {
  const ledger = state().connect('hospital1', 'gateway');
  const out = new Map<string, DeliveryHistoryEntry[]>();
  try {
    await inBatches(ids, 16, async (id) => {
      out.set(id, JSON.parse(await ledger.evaluate('Commitments', 'DeliveryHistory', [id])) as DeliveryHistoryEntry[]);
    });
  } finally {
    ledger.close();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The gateway's database, read-only, from outside: atomicity and the mailbox.

export function gatewayDataDir(hospital = 'hospital1'): string {
  return join(state().dir, 'gateways', hospital, 'data');
}

export interface GatewayDbCheck {
  integrity: string;
  /** Deliveries without their mail, mail without its delivery, coded rows without their delivery. */
  halfWritten: string[];
  /** Of `ids`: how many have their mail acknowledged by the agent. */
  mailAcked: number;
  /** Of `ids`: deliveries the gateway holds, and how many of them have coded rows in the standardized DB. */
  held: number;
  withCodedRows: number;
}

export function checkGatewayDb(ids: readonly string[], hospital = 'hospital1'): GatewayDbCheck {
  const db = new DatabaseSync(join(gatewayDataDir(hospital), 'gateway.db'), { readOnly: true, timeout: 10_000 });
  try {
    const integrity = (db.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[])
      .map((r) => r.integrity_check)
      .join('; ');
    const halfWritten = [
      ...(
        db
          .prepare(
            `SELECT 'delivery without mail: ' || d.delivery_id AS what FROM deliveries d
             LEFT JOIN mailbox_message m ON m.message_id = d.delivery_id WHERE m.message_id IS NULL
               -- an erasure deletes the patient's mail and keeps the delivery records (lifecycle e2e)
               AND d.pseudonym NOT IN (SELECT pseudonym FROM erasure_receipt)`,
          )
          .all() as { what: string }[]
      ).map((r) => r.what),
      ...(
        db
          .prepare(
            `SELECT 'mail without delivery: ' || m.message_id AS what FROM mailbox_message m
             LEFT JOIN deliveries d ON d.delivery_id = CASE
               -- a rebuild mails a delivery again as <deliveryId>.rebuild-k<keyVersion>
               WHEN instr(m.message_id, '.rebuild-k') > 0 THEN substr(m.message_id, 1, instr(m.message_id, '.rebuild-k') - 1)
               ELSE m.message_id END
             WHERE m.kind = 'delivery' AND d.delivery_id IS NULL`,
          )
          .all() as { what: string }[]
      ).map((r) => r.what),
      ...(
        db
          .prepare(
            `SELECT DISTINCT 'coded rows without delivery: ' || s.delivery_id AS what FROM std_element s
             LEFT JOIN deliveries d ON d.delivery_id = s.delivery_id WHERE d.delivery_id IS NULL`,
          )
          .all() as { what: string }[]
      ).map((r) => r.what),
    ];
    let mailAcked = 0;
    let held = 0;
    let withCodedRows = 0;
    const mail = db.prepare('SELECT acked_at FROM mailbox_message WHERE message_id = ?');
    const delivery = db.prepare('SELECT 1 AS one FROM deliveries WHERE delivery_id = ?');
    const coded = db.prepare('SELECT COUNT(*) AS n FROM std_element WHERE delivery_id = ?');
    for (const id of ids) {
      if ((mail.get(id) as { acked_at: string | null } | undefined)?.acked_at) mailAcked += 1;
      if (delivery.get(id)) held += 1;
      if ((coded.get(id) as { n: number }).n > 0) withCodedRows += 1;
    }
    return { integrity, halfWritten, mailAcked, held, withCodedRows };
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The counts each fault test prints and checks: every stage, exactly once.

export interface Counts {
  /** Bundles the EHR posted that were answered 2xx (after any retry the test made). */
  posted: number;
  /** Distinct delivery ids in those answers. */
  receipts: number;
  /** Of those, committed according to the gateway. */
  committedAtGateway: number;
  /** Deliveries on the ledger for the patients, new since the test began. */
  onLedger: number;
  /** Of those, recorded once (DeliveryHistory holds one RecordDelivery, "waiting"). */
  recordedOnce: number;
  /** Mail the agents fetched and stored (their sync reports), each delivery counted once. */
  mailDelivered: number;
  /** Mail the agents acknowledged in the gateway's mailbox. */
  mailAcked: number;
  /** Deliveries new in the agents' vaults. */
  stored: number;
  /** Deliveries the agents acknowledged on the ledger exactly once (one "complete" in the history). */
  acknowledgedOnce: number;
  /** Elements in the vaults for these deliveries, and in their receipts. */
  elementsStored: number;
  elementsReceipted: number;
  /** Anything seen twice: two answers naming one delivery for different sends, a delivery reported stored twice. */
  duplicates: string[];
}

export interface CountInput {
  /** The final answer for every posting (after retries). */
  answers: ReadonlyMap<string, Answer>;
  before: Snapshot;
  /**
   * The agents' reported outcomes, across their syncs. Undefined for an agent killed midway, whose
   * reports died with it: then mail delivered is the mail it acknowledged in the gateway's mailbox.
   */
  outcomes?: readonly DeliveryOutcome[];
  pseudonyms: readonly string[];
  /** The agents whose vaults to count. */
  agents: readonly Agent[];
  ehr: Ehr;
}

export async function count(input: CountInput): Promise<Counts> {
  const duplicates: string[] = [];
  const byDelivery = new Map<string, string>();
  let posted = 0;
  let elementsReceipted = 0;
  for (const [key, a] of input.answers) {
    if (!a.receipt) continue;
    posted += 1;
    const other = byDelivery.get(a.receipt.deliveryId);
    if (other !== undefined) duplicates.push(`${key} and ${other} were answered with one delivery`);
    else elementsReceipted += a.receipt.elementCount;
    byDelivery.set(a.receipt.deliveryId, key);
  }
  const ids = [...byDelivery.keys()];
  const gateway = await input.ehr.receipts(ids);
  // Deliveries an earlier test was answered with may still arrive (when that test failed midway): not ours.
  const others = new Set([...input.ehr.receipted].filter((id) => !byDelivery.has(id)));

  const ledger = await ledgerDeliveries(input.pseudonyms);
  const newOnLedger = [...ledger.keys()].filter((id) => !input.before.ledger.has(id) && !others.has(id));
  for (const id of newOnLedger)
    if (!byDelivery.has(id)) duplicates.push(`${id} is on the ledger but was never receipted`);
  const histories = await ledgerHistories(ids);
  const times = (id: string, status: string) => (histories.get(id) ?? []).filter((e) => e.status === status).length;

  const stored = new Set<string>();
  for (const o of (input.outcomes ?? []).filter((x) => !others.has(x.deliveryId))) {
    if (o.result === 'refused') duplicates.push(`${o.deliveryId} was refused by its agent: ${o.reason ?? ''}`);
    if (o.result === 'stored' && stored.has(o.deliveryId)) duplicates.push(`${o.deliveryId} was stored twice`);
    if (o.result === 'already-stored') duplicates.push(`${o.deliveryId} came again after it was stored`);
    if (o.result === 'stored' || o.result === 'already-stored') stored.add(o.deliveryId);
  }
  const vaulted = new Map<string, number>();
  for (const agent of input.agents) {
    for (const d of await agent.deliveries()) {
      if (input.before.vault.has(d.deliveryId) || others.has(d.deliveryId)) continue;
      if (vaulted.has(d.deliveryId)) duplicates.push(`${d.deliveryId} is in two vaults`);
      vaulted.set(d.deliveryId, d.elementCount);
    }
  }
  for (const id of vaulted.keys())
    if (!byDelivery.has(id)) duplicates.push(`${id} is in a vault but was never receipted`);
  const db = checkGatewayDb(ids, input.ehr.hospital);

  return {
    posted,
    receipts: ids.length,
    committedAtGateway: ids.filter((id) => gateway.get(id)?.status === 'committed').length,
    onLedger: newOnLedger.length,
    recordedOnce: ids.filter((id) => ledger.has(id) && times(id, 'waiting') === 1).length,
    mailDelivered: input.outcomes ? ids.filter((id) => stored.has(id)).length : db.mailAcked,
    mailAcked: db.mailAcked,
    stored: [...vaulted.keys()].filter((id) => byDelivery.has(id)).length,
    acknowledgedOnce: ids.filter((id) => ledger.get(id)?.status === 'complete' && times(id, 'complete') === 1).length,
    elementsStored: [...vaulted.values()].reduce((n, x) => n + x, 0),
    elementsReceipted,
    duplicates,
  };
}

/** The counts as a small table on stdout (jest shows it), with the test's own notes under it. */
export function printCounts(title: string, c: Counts, notes: string[] = []): void {
  const n = (x: number) => x.toLocaleString('en-US');
  const rows: [string, string][] = [
    ['bundles posted, answered 2xx', n(c.posted)],
    ['receipts (distinct deliveries)', n(c.receipts)],
    ['committed, says the gateway', n(c.committedAtGateway)],
    ['commitments on the ledger (new)', `${n(c.onLedger)}   recorded once: ${n(c.recordedOnce)}`],
    ['mail delivered to the agents', `${n(c.mailDelivered)}   acknowledged in the mailbox: ${n(c.mailAcked)}`],
    [
      'deliveries stored by the agents',
      `${n(c.stored)}   elements ${n(c.elementsStored)} (receipts: ${n(c.elementsReceipted)})`,
    ],
    ['acknowledged on the ledger once', n(c.acknowledgedOnce)],
    ['seen twice or out of place', n(c.duplicates.length)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const engine = state().engine() ?? 'unknown engine';
  const lines = [
    '',
    `${title} [${engine}]`,
    ...rows.map(([k, v]) => `  ${k.padEnd(width, ' ')}  ${v}`),
    ...c.duplicates.slice(0, 10).map((d) => `    ! ${d}`),
    ...notes.map((x) => `  · ${x}`),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Delivery ids by the pseudonym they were posted for. */
export function expectedByPatient(
  postings: readonly Posting[],
  answers: ReadonlyMap<string, Answer>,
): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const p of postings) {
    const id = answers.get(p.key)?.receipt?.deliveryId;
    if (id) (out.get(p.pseudonym) ?? out.set(p.pseudonym, new Set()).get(p.pseudonym))!.add(id);
  }
  return out;
}

/** Every stage holds each of the `n` deliveries exactly once. */
export function expectExactlyOnce(c: Counts, n: number): void {
  expect(c.duplicates).toEqual([]);
  expect({
    posted: c.posted,
    receipts: c.receipts,
    committedAtGateway: c.committedAtGateway,
    onLedger: c.onLedger,
    recordedOnce: c.recordedOnce,
    mailDelivered: c.mailDelivered,
    mailAcked: c.mailAcked,
    stored: c.stored,
    acknowledgedOnce: c.acknowledgedOnce,
  }).toEqual({
    posted: n,
    receipts: n,
    committedAtGateway: n,
    onLedger: n,
    recordedOnce: n,
    mailDelivered: n,
    mailAcked: n,
    stored: n,
    acknowledgedOnce: n,
  });
  expect(c.elementsStored).toBe(c.elementsReceipted);
}

// ---------------------------------------------------------------------------------------------
// A small file system for the gateway's data folder: a tmpfs, where this machine lets us mount one.

/** Why a tmpfs cannot be mounted here, or undefined when it can (tried once, on a scratch folder). */
export function tmpfsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `mounting a tmpfs needs Linux (this is ${process.platform})`;
  const dir = mkdtempSync(join(tmpdir(), 'phr-tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    const e = err as { stderr?: Buffer; message?: string };
    const why = (e.stderr?.toString().trim() || e.message || String(err)).split('\n')[0];
    return `cannot mount a tmpfs for the gateway's data folder (${why})`;
  } finally {
    try {
      rmdirSync(dir);
    } catch {
      // still mounted (umount failed): left for the machine's owner, named in the reason above
    }
  }
}

export function mountTmpfs(dir: string, bytes: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
}

/**
 * Fills the file system holding `file` until about `leave` bytes are free, with `file` as ballast;
 * returns the ballast's size. The gateway keeps writing while this runs (the outbox records its
 * commits), so the room measured a moment ago may be gone: the ballast is written in chunks up to
 * ENOSPC and then shortened to give `leave` back, rather than sized once from statfs.
 */
export function fillDisk(file: string, leave: number): number {
  const chunk = Buffer.alloc(1024 * 1024);
  const fd = openSync(file, 'w', 0o600);
  try {
    for (;;) {
      const { bavail, bsize } = statfsSync(file);
      const room = bavail * bsize - leave;
      if (room <= 0) break;
      try {
        writeSync(fd, chunk, 0, Math.min(chunk.length, room));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        break;
      }
    }
    const size = fstatSync(fd).size;
    const { bavail, bsize } = statfsSync(file);
    const short = leave - bavail * bsize;
    if (short > 0) ftruncateSync(fd, Math.max(0, size - short));
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

export function umount(dir: string): void {
  execFileSync('umount', [dir], { stdio: 'pipe' });
}
