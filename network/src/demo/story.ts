import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fabricAttributes, type DeliveryRecord } from '@phr/common';
import { PullRequestError, PullVerificationError, type VerifiedPull } from '@phr/requester';
import type { NetworkState } from '../network-state';
import type { Hospital } from '../topology';
import { Clinician } from './clinician';
import { check, DemoFailure, errorText, FinalFailure, until } from './deadline';
import { HospitalDesk } from './hospital-desk';
import { LedgerView } from './ledger-view';
import {
  accessLogLine,
  andList,
  codeLabel,
  codeSummary,
  listCounts,
  plural,
  resultRange,
  statusPath,
} from './narration';
import type { Narrator } from './narrator';
import { NetworkScripts } from './network-scripts';
import { PatientDevice } from './patient-device';
import { newPassphrase, writeSecret, type RunFolder } from './run-folder';
import {
  BODY_WEIGHT,
  countOf,
  HBA1C,
  loadSyntheaBundle,
  mrnOf,
  observationsWith,
  resourceCounts,
  withMrnSuffix,
  type SyntheaBundle,
} from './synthea';

export interface StoryOptions {
  state: NetworkState;
  run: RunFolder;
  narrator: Narrator;
  /** For the processes the demo starts: the network's PHR_STATE and PHR_TOPOLOGY among them. */
  env: NodeJS.ProcessEnv;
  /** hospital2's clinician (enroll.sh NAME). */
  clinicianName?: string;
}

/** A step that failed: which one, and why, in words. */
export class StepFailure extends Error {
  override readonly name = 'StepFailure';
  constructor(
    readonly step: number,
    readonly title: string,
    reason: string,
  ) {
    super(reason);
  }
}

const STEPS = 8;
const CONSENT_DAYS = 30;

/**
 * The mission, played on the running network with real processes: a patient enrolls, a hospital
 * sends records, the patient lets another hospital read lab results, and the patient sees who
 * read what. Each step checks what it claims before it says so; the first that does not hold
 * stops the story (StepFailure).
 */
export class Story {
  private readonly n: Narrator;
  private readonly scripts: NetworkScripts;
  private readonly device: PatientDevice;
  private readonly sender: Hospital;
  private readonly reader: Hospital;
  private readonly desk: HospitalDesk;
  private readonly bundle: SyntheaBundle;
  private view: LedgerView | undefined;
  private clinician: Clinician | undefined;

  private pseudonym = '';
  private linkCode: string | undefined;
  private delivery: DeliveryRecord | undefined;

  constructor(private readonly o: StoryOptions) {
    this.n = o.narrator;
    const [sender, reader] = o.state.topology.hospitals;
    if (!sender || !reader) throw new DemoFailure('the demo needs two hospitals in the topology');
    this.sender = sender;
    this.reader = reader;
    this.scripts = new NetworkScripts(o.env);
    this.device = new PatientDevice(o.run.agentHome, o.run.passphraseFile, o.env);
    this.desk = new HospitalDesk(o.state, sender);
    // Each run is a new patient at the sending hospital: the chart's MRN with the run's id.
    this.bundle = withMrnSuffix(loadSyntheaBundle(), `demo-${o.run.id}`);
    this.n.secret(mrnOf(this.bundle).value);
  }

  /** The command that opens this patient's page; valid once the agent exists (after step 1). */
  get uiCommand(): string {
    return this.device.uiCommand();
  }

  async play(): Promise<void> {
    this.view = new LedgerView(this.o.state, this.reader.name);
    await this.step(1, "A patient's agent enrolls at the doorman with a key it made itself", () => this.enroll());
    await this.step(2, `${this.sender.name} links its patient number to the patient, with the patient's code`, () =>
      this.link(),
    );
    await this.step(3, `${this.sender.name}'s EHR posts a Synthea record to its FHIR gateway`, () => this.post());
    await this.step(
      4,
      "The patient's agent receives the delivery, verifies it against the ledger, acknowledges it",
      () => this.receive(),
    );
    await this.step(5, `The patient lets ${this.reader.name} read laboratory results`, () => this.consent());
    await this.step(6, `A clinician at ${this.reader.name} pulls HbA1c results and verifies them`, () => this.pull());
    await this.step(7, 'A pull outside the consent is refused', () => this.refused());
    await this.step(8, "The patient's access log shows both", () => this.accessLog());
  }

  async close(): Promise<void> {
    await this.clinician?.close();
    this.view?.close();
    await this.desk.close();
  }

  private async step(n: number, title: string, body: () => Promise<void>): Promise<void> {
    this.n.step(n, STEPS, title);
    const started = Date.now();
    try {
      await body();
    } catch (err) {
      throw new StepFailure(n, title, errorText(err));
    }
    this.n.took(Date.now() - started);
  }

  private get ledger(): LedgerView {
    if (!this.view) throw new DemoFailure('the story has not started');
    return this.view;
  }

  /** Step 1 (SPEC flow 1): the doorman's one-time ticket, keys and CSR on the device, registration on the ledger. */
  private async enroll(): Promise<void> {
    const profile = join(this.o.state.dir, 'agent-profile.json');
    check(existsSync(profile), `${profile} is missing: 'make network-up' writes it`);

    const ticket = await this.scripts.registerPatient();
    this.n.secret(ticket.enrollmentSecret);
    this.n.say(
      `The doorman (the patients' CA) registers a new, meaningless enrollment id, ${ticket.enrollmentId}, ` +
        `with a one-time secret that goes to the patient's device only (register-patient.sh).`,
    );
    writeSecret(this.o.run.enrollmentSecretFile, ticket.enrollmentSecret);
    const passphrase = newPassphrase();
    this.n.secret(passphrase);
    writeSecret(this.o.run.passphraseFile, passphrase);

    this.n.say(
      "`phr-agent init` makes the device's signing key (ECDSA P-256) and encryption key (X25519), sends the " +
        'doorman a certificate request (CSR) made with that key, and registers the patient on the ledger under a ' +
        'random pseudonym, in a transaction signed with its new certificate. The private keys never leave the device.',
    );
    let init;
    try {
      init = await this.device.init(profile, ticket.enrollmentId, this.o.run.enrollmentSecretFile);
    } finally {
      rmSync(this.o.run.enrollmentSecretFile, { force: true }); // one-time: used or not, it is not kept
    }
    for (const c of init.linkCodes) if (c.code) this.n.secret(c.code);
    check(init.created, `phr-agent init found an agent already in ${this.o.run.agentHome}`);
    this.pseudonym = init.pseudonym;
    this.linkCode = init.linkCodes.find((c) => c.hospital === this.sender.name)?.code;

    const record = await until(
      `pseudonym ${this.pseudonym} on ${this.reader.name}'s peer`,
      () => this.ledger.patient(this.pseudonym),
      30_000,
    );
    const cert = new X509Certificate(record.signingCertificate);
    const ca = new X509Certificate(
      readFileSync(join(this.o.state.dir, 'orgs', 'patients', 'msp', 'cacerts', 'ca.pem')),
    );
    check(
      cert.checkIssued(ca) && cert.verify(ca.publicKey),
      "the signing certificate on the ledger was not issued by the patients' CA",
    );
    check(
      cert.subject.split('\n').includes(`CN=${ticket.enrollmentId}`),
      `the certificate on the ledger names ${cert.subject.replace(/\n/g, ', ')}, not ${ticket.enrollmentId}`,
    );
    const role = fabricAttributes(record.signingCertificate)['phr.role'];
    check(role === 'patient', `the certificate's role is ${role ?? 'missing'}, not patient`);
    this.n.ok(
      `Pseudonym ${this.pseudonym} is on the ledger (read on ${this.reader.name}'s peer) with an ` +
        `${record.encryptionAlgorithm} encryption key and a certificate the patients' CA issued to ` +
        `${ticket.enrollmentId}, role patient.`,
    );
  }

  /** Step 2 (identity layer): a one-time link code from the patient, the MRN linked by the hospital's admin. */
  private async link(): Promise<void> {
    this.n.say(
      `The patient asks ${this.sender.name}'s gateway for a one-time link code (POST /identity/link-codes, ` +
        "with the device's certificate) and hands it to the hospital's front desk (the code is not shown).",
    );
    let code = this.linkCode;
    if (!code) {
      // The gateway reads the new registration through its own peer, which may lag a block behind.
      ({ code } = await until(
        `a link code from ${this.sender.name}`,
        () => this.device.linkCode(this.sender.name),
        30_000,
        1_000,
      ));
      this.n.secret(code);
    }
    this.n.say(
      `${this.sender.name}'s admin (identity orgadmin, role admin, mutual TLS) links the chart's medical record ` +
        'number to the patient behind the code (POST /identity/links). The MRN never goes on the ledger, and the ' +
        'gateway keeps it only as a keyed hash.',
    );
    await this.desk.linkMrn(mrnOf(this.bundle), code);
    this.n.ok(`${this.sender.name} now sends what it records under that MRN (not shown) to ${this.pseudonym}.`);
  }

  /** Step 3 (SPEC flow 2, hospital side): validation, segments, one commitment on the ledger, a sealed delivery. */
  private async post(): Promise<void> {
    const hba1c = observationsWith(this.bundle, HBA1C).length;
    check(hba1c > 0, 'the chosen Synthea bundle has no HbA1c (LOINC 4548-4) result');
    this.n.say(
      `${this.sender.name}'s EHR (identity ehr, mutual TLS) posts one synthetic patient's Synthea R4 record with ` +
        `fhir-kit-client: a transaction Bundle of ${plural(this.bundle.entry.length, 'resource')} ` +
        `(${listCounts(resourceCounts(this.bundle))}), ${hba1c} of them HbA1c results.`,
    );
    const posted = await this.desk.postBundle(this.bundle);
    check(
      posted.entries === this.bundle.entry.length && posted.created === posted.entries,
      `the gateway created ${posted.created} of ${this.bundle.entry.length} entries`,
    );
    this.n.ok(
      `The gateway validated the bundle and answered ${posted.created} × 201 Created with delivery ` +
        `${posted.deliveryId}: the resources are split into data elements, their salted hashes are committed ` +
        "as one Merkle root, and the data is sealed to the patient's key in the patient's mailbox.",
    );
    const record = await until(
      `delivery ${posted.deliveryId} on ${this.reader.name}'s peer`,
      () => this.ledger.delivery(posted.deliveryId),
      120_000,
    );
    check(record.status === 'waiting', `the delivery is ${record.status} on the ledger, not waiting`);
    check(record.pseudonym === this.pseudonym, 'the delivery on the ledger is for another patient');
    check(record.sender === this.sender.mspId, `the delivery on the ledger names ${record.sender} as its sender`);
    this.delivery = record;
    this.n.ok(
      `On the ledger (${this.reader.name}'s peer): root ${record.merkleRoot.slice(0, 16)}… over ` +
        `${plural(record.elementCount, 'element')} in ${plural(record.segmentCount, 'segment')}, from ` +
        `${record.sender}, categories ${andList(record.categories)}, status ${record.status}. No health data: ` +
        'only the commitment.',
    );
  }

  /** Step 4 (SPEC flow 2, patient side): decrypt, verify against the ledger, store, acknowledge. */
  private async receive(): Promise<void> {
    const delivery = this.requireDelivery();
    this.n.say(
      "The patient's device fetches its mail (`phr-agent inbox`): it opens the sealed delivery, checks the " +
        "hospital's signature, hashes every element up to the root, compares the root with the ledger's, stores " +
        'the elements in its encrypted vault and acknowledges the delivery on the ledger.',
    );
    const stored = await until(
      `delivery ${delivery.deliveryId} to reach the device`,
      async () => {
        const report = await this.device.inbox(0);
        const refused = report.deliveries.find((d) => d.result === 'refused');
        if (refused) {
          throw new FinalFailure(
            `the device refused delivery ${refused.deliveryId}: ${refused.detail ?? refused.reason}`,
          );
        }
        return report.deliveries.find((d) => d.deliveryId === delivery.deliveryId && d.result === 'stored');
      },
      120_000,
      1_000,
    );
    this.n.ok(`The device stored delivery ${stored.deliveryId} from ${stored.hospital}.`);

    const verified = await this.device.verify();
    check(
      verified.mismatches.length === 0,
      `${verified.mismatches.length} elements do not match the ledger: ${verified.mismatches[0]?.reason ?? ''}`,
    );
    check(
      verified.deliveriesChecked === 1 && verified.elementsChecked === delivery.elementCount,
      `phr-agent verify checked ${verified.elementsChecked} elements of ${verified.deliveriesChecked} deliveries; ` +
        `the ledger committed ${delivery.elementCount} in one`,
    );
    this.n.ok(
      `\`phr-agent verify\` checked all ${verified.elementsChecked} elements against the root on the ledger: ` +
        'every one matches.',
    );

    const complete = await until(
      'the ledger to say complete',
      async () => {
        const r = await this.ledger.delivery(delivery.deliveryId);
        return r?.status === 'complete' ? r : undefined;
      },
      30_000,
    );
    const history = await this.ledger.deliveryHistory(complete.deliveryId);
    const path = statusPath(history);
    check(path === 'waiting → complete', `the delivery's history on the ledger is ${path}, not waiting → complete`);
    this.n.ok(
      `The delivery's status on the ledger went ${path}: the hospital's commitment, then the patient's acknowledgement.`,
    );
  }

  /** Step 5 (SPEC flow 4): a consent signed by the patient's own identity, on the ledger. */
  private async consent(): Promise<void> {
    const until_ = new Date(Date.now() + CONSENT_DAYS * 86_400_000).toISOString().slice(0, 10);
    this.n.say(
      `The patient grants ${this.reader.mspId} access to laboratory results, for treatment, until ${until_} ` +
        "(`phr-agent consent grant`): a ledger transaction the patient's own key signs.",
    );
    const granted = await this.device.grantConsent({
      to: this.reader.mspId,
      categories: ['laboratory'],
      purposes: ['TREAT'],
      until: until_,
    });
    check(granted.status === 'active', `the consent is ${granted.status}, not active`);
    // hospital2's gateway decides on what its own peer holds: wait until the consent is there.
    const onPeer = await until(
      `consent ${granted.consentId} on ${this.reader.name}'s peer`,
      async () => {
        const c = await this.ledger.consent(granted.consentId);
        return c?.status === 'active' ? c : undefined;
      },
      30_000,
    );
    check(
      onPeer.pseudonym === this.pseudonym && onPeer.grantee.id === this.reader.mspId,
      'the consent on the ledger is for another patient or grantee',
    );
    check(
      onPeer.scope.categories.join() === 'laboratory' && onPeer.scope.codes.length === 0,
      `the consent on the ledger covers ${onPeer.scope.categories.join(', ')}, not laboratory results only`,
    );
    check(onPeer.purposes.join() === 'TREAT', `the consent on the ledger is for ${onPeer.purposes.join(', ')}`);
    this.n.ok(
      `Consent ${onPeer.consentId} is on the ledger (${this.reader.name}'s peer): ${onPeer.grantee.id} may read ` +
        `laboratory records for treatment (TREAT) until ${onPeer.period.end.slice(0, 10)}.`,
    );
  }

  /** Step 6 (SPEC flow 3): consent on the ledger, the agent's answer, every element verified by the requester. */
  private async pull(): Promise<void> {
    const delivery = this.requireDelivery();
    const name = this.o.clinicianName ?? 'dr-demo';
    await this.scripts.enroll(this.reader.name, name, 'clinician');
    this.n.say(
      `${this.reader.name} has a clinician, ${name}, with a certificate from its own CA, role clinician ` +
        `(enroll.sh ${this.reader.name} ${name} clinician).`,
    );
    this.clinician = new Clinician(this.o.state, this.reader, name);
    const expectedHba1c = observationsWith(this.bundle, HBA1C).length;
    const weights = observationsWith(this.bundle, BODY_WEIGHT).length;
    this.n.say(
      `With PullClient (@phr/requester), ${name} asks ${this.reader.name}'s gateway for the patient's HbA1c ` +
        `(${codeLabel(HBA1C.system, HBA1C.code)}) and body weight (${codeLabel(BODY_WEIGHT.system, BODY_WEIGHT.code)}) ` +
        `results: GET /fhir/Observation?patient=${this.pseudonym}&code=…, for treatment.`,
    );
    const asked = await this.clinician.ask('Observation', this.pseudonym, [HBA1C, BODY_WEIGHT]);
    let answer: VerifiedPull = asked;
    if (asked.status === 'pending') {
      this.n.say(
        `${this.reader.name}'s gateway found a consent on the ledger and relayed the request, sealed to the ` +
          "patient's key, to the patient's mailbox: the device answers it when it next syncs (`phr-agent inbox`).",
      );
      const report = await until(
        "the patient's device to answer",
        async () => {
          const r = await this.device.inbox(0);
          return r.requests.find((q) => q.requestId === asked.requestId);
        },
        60_000,
        1_000,
      );
      check(report.result === 'answered', `the device ${report.result} the request: ${report.detail ?? ''}`);
      this.n.ok(
        `The device checked the consent itself and answered with ${plural(report.elements, 'element')}, each with ` +
          "its salt and Merkle path, sealed to the clinician's one-time key and signed with the patient's key.",
      );
      answer = await until(
        'the answer at the gateway',
        async () => {
          try {
            const polled = await this.clinician?.poll(asked.requestId);
            return polled?.status === 'answered' ? polled : undefined;
          } catch (err) {
            // A refused answer or request stays refused; only an unreachable gateway is worth asking again.
            if (err instanceof PullVerificationError) throw new FinalFailure(`the answer was refused: ${err.message}`);
            if (err instanceof PullRequestError && err.status !== undefined && err.status < 500)
              throw new FinalFailure(err.message);
            throw err;
          }
        },
        30_000,
      );
    }
    const elements = answer.elements.map((d) => d.element);
    const off = elements.filter((e) => e.system !== HBA1C.system || e.code !== HBA1C.code);
    check(off.length === 0, `the answer holds ${off.length} elements that are not HbA1c (e.g. ${off[0]?.code ?? ''})`);
    check(
      elements.length === expectedHba1c,
      `the clinician got ${elements.length} HbA1c results; the record holds ${expectedHba1c}`,
    );
    check(
      answer.elements.every((d) => d.deliveryId === delivery.deliveryId),
      'an element names another delivery than the one the hospital sent',
    );
    const range = resultRange(elements);
    this.n.ok(
      `${name} received ${plural(elements.length, 'element')}, ${codeSummary(elements)}, and verified each one ` +
        `against the delivery root on the ledger (${plural(answer.ledgerReads, 'ledger read')} for ` +
        `${plural(answer.deliveriesChecked, 'delivery', 'deliveries')})${range ? `: ${range}` : ''}.`,
    );
    this.n.ok(
      `No body weight came back, though the record holds ${weights}: it is a vital sign, and the consent covers ` +
        'laboratory results only.',
    );
  }

  /** Step 7: a search outside the consent ends at the gateway with 403; nothing reaches the device. */
  private async refused(): Promise<void> {
    const clinician = this.clinician;
    if (!clinician) throw new DemoFailure('no clinician: step 6 did not run');
    const conditions = countOf(this.bundle, 'Condition');
    this.n.say(
      `${clinician.name} now asks for the patient's diagnoses (GET /fhir/Condition?patient=…; the record holds ` +
        `${conditions}), which the consent does not cover.`,
    );
    let refusal: PullRequestError;
    try {
      const answer = await clinician.ask('Condition', this.pseudonym);
      throw new DemoFailure(
        `the gateway did not refuse: it answered ${answer.status} with ${answer.elements.length} elements`,
      );
    } catch (err) {
      if (!(err instanceof PullRequestError)) throw err;
      refusal = err;
    }
    check(
      refusal.status === 403,
      `the gateway answered ${refusal.status ?? refusal.code}, not 403: ${refusal.message}`,
    );
    this.n.ok(
      `${this.reader.name}'s gateway refused with 403 (${refusal.diagnostics ?? refusal.message}). The request ` +
        "never reached the patient's device and nothing was disclosed.",
    );
  }

  /** Step 8 (SPEC flow 4): the access log, from the ledger, as the patient reads it. */
  private async accessLog(): Promise<void> {
    this.n.say(
      'The patient reads the access log on the device (`phr-agent log`). It comes from the ledger: each pull, ' +
        'allowed or refused, is an access event there, recorded by the gateway that served it.',
    );
    const mine = (outcome: string) => (e: { action: string; organization: string; outcome: string }) =>
      e.action === 'pull' && e.organization === this.reader.mspId && e.outcome === outcome;
    const log = await until(
      'the allowed and the refused pull in the access log',
      async () => {
        const entries = await this.device.accessLog();
        return entries.some(mine('success')) && entries.some(mine('denied')) ? entries : undefined;
      },
      60_000,
      1_000,
    );
    for (const entry of [...log].reverse()) this.n.item(accessLogLine(entry));
    this.n.ok(`Both of ${this.reader.mspId}'s pulls are there: the one the consent allowed and the one it refused.`);
  }

  private requireDelivery(): DeliveryRecord {
    if (!this.delivery) throw new DemoFailure('no delivery: step 3 did not run');
    return this.delivery;
  }
}
