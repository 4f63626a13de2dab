import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  GUARDIAN_SHARE_KIND,
  GUARDIAN_SHARE_WITHDRAWN_KIND,
  newRecoverySecret,
  RECOVERY_REQUEST_KIND,
  seal,
  type AccessEventRecord,
} from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import {
  forNewPatient,
  isPatientBundleFile,
  loadBundle,
  mrnOf,
  smallBundle,
  syntheaFiles,
  TEST_KEYSTORE,
} from '@phr/test-support';
import type { Agent } from '../src/agent';
import { finishRecovery, startRecovery } from '../src/recovery/device-recovery';
import { pendingRecoveryFile } from '../src/recovery/pending-recovery';
import { guardianShareAad, guardianShareWithdrawnAad, recoveryRequestAad } from '../src/recovery/recovery-messages';
import { paperCode, splitSecret } from '../src/recovery/shares';
import { AgentHarness, PASSPHRASE } from './support/agent-harness';

jest.setTimeout(180_000);

const patientFile = syntheaFiles().filter(isPatientBundleFile)[0] as string;

/**
 * Issue 15 item 4, agent to agent over the real gateway and the real chaincode in memory: a
 * patient splits the recovery secret among two guardians' agents and a paper code (2 of 3), loses
 * the device, and gets back in from a new home with one guardian and the paper code.
 */
describe('recovery with guardians', () => {
  let h: AgentHarness;
  let patient: { agent: Agent; home: string; pseudonym: string };
  let g1: { agent: Agent; pseudonym: string };
  let g2: { agent: Agent; pseudonym: string };
  let stranger: { agent: Agent; pseudonym: string };
  let backupDir: string;
  let paper: string;
  /** The home of the device that recovered the patient. */
  let recoveredHome: string;
  let counter = 0;

  /** A new device's home and its own enrollment at the doorman. */
  const newDevice = () => {
    counter += 1;
    const enrollmentId = `new-device-${process.pid}-${counter}`;
    h.doorman.register(enrollmentId, `device-secret-${counter}`);
    return {
      home: join(h.dir, `new-home-${counter}`),
      profile: h.profile,
      passphrase: PASSPHRASE,
      enrollmentId,
      enrollmentSecret: `device-secret-${counter}`,
      connectors: h.connectors,
      keystore: TEST_KEYSTORE,
    };
  };
  const ledgerRecord = (pseudonym: string) => g1.agent['ledger'].readPatient(pseudonym);
  const events = async (agent: Agent, pseudonym: string): Promise<AccessEventRecord[]> =>
    agent['ledger'].listAccessEvents(pseudonym);

  beforeAll(async () => {
    h = await AgentHarness.create();
    patient = await h.newAgent();
    g1 = await h.newAgent();
    g2 = await h.newAgent();
    stranger = await h.newAgent();
    const bundle = smallBundle(forNewPatient(loadBundle(patientFile), 'recovery'), 8);
    await h.link(patient.agent, mrnOf(bundle));
    await h.post(bundle);
    await patient.agent.sync();
    backupDir = join(h.dir, 'backups');
    await patient.agent.backup({ to: 'folder', dir: backupDir });
  });
  afterAll(async () => {
    for (const a of [patient, g1, g2, stranger]) await a.agent.close().catch(() => undefined);
    await h.close();
  });

  it('refuses a setup it cannot carry out, and changes nothing', async () => {
    const before = await ledgerRecord(patient.pseudonym);
    await expect(
      patient.agent.setupRecovery({ guardians: [g1.pseudonym], paper: 0, threshold: 2 }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/number of shares .* from 2 to 10, not 1/),
    });
    await expect(
      patient.agent.setupRecovery({ guardians: [g1.pseudonym, g2.pseudonym], paper: 1, threshold: 4 }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(
      patient.agent.setupRecovery({ guardians: [patient.pseudonym, g1.pseudonym], paper: 0, threshold: 2 }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'you cannot be your own guardian' });
    const unknown = 'pt' + 'a'.repeat(26);
    await expect(
      patient.agent.setupRecovery({ guardians: [g1.pseudonym, unknown], paper: 1, threshold: 2 }),
    ).rejects.toMatchObject({ code: 'UNKNOWN_GUARDIAN' });
    const after = await ledgerRecord(patient.pseudonym);
    expect(after.guardians).toEqual(before.guardians);
    await g1.agent.sync();
    expect((await g1.agent.recoveryStatus()).shares).toEqual([]);
  });

  it('sets up 2 of 3: a sealed share to each guardian, the guardians on the ledger, one paper code', async () => {
    const setup = await patient.agent.setupRecovery({
      guardians: [g1.pseudonym, g2.pseudonym],
      paper: 1,
      threshold: 2,
    });
    expect(setup).toMatchObject({ threshold: 2, shareCount: 3, guardians: [g1.pseudonym, g2.pseudonym] });
    expect(setup.paperCodes).toHaveLength(1);
    expect(setup.paperCodes[0]).toMatch(/^PHRS(-[0-9A-Z]{1,4})+$/);
    paper = setup.paperCodes[0] as string;

    const record = await ledgerRecord(patient.pseudonym);
    expect(record.guardians).toEqual([g1.pseudonym, g2.pseudonym].sort());
    expect(record.recoveryPublicKey).toEqual(expect.any(String));
    // The patient and the guardians read who guards the patient; nobody else does.
    expect((await patient.agent['ledger'].readPatient(patient.pseudonym)).guardians).toEqual(record.guardians);
    expect(await stranger.agent['ledger'].readPatient(patient.pseudonym)).not.toHaveProperty('guardians');

    for (const g of [g1, g2]) {
      await g.agent.sync();
      const status = await g.agent.recoveryStatus();
      expect(status.shares).toEqual([
        expect.objectContaining({ pseudonym: patient.pseudonym, threshold: 2, shareCount: 3, setupId: setup.setupId }),
      ]);
      const notes = await g.agent.notifications();
      expect(notes.some((n) => n.kind === 'recovery' && n.message.includes('recovery guardian for patient'))).toBe(
        true,
      );
      // Kept as it came: sealed to the guardian; nothing of the patient's records reaches it.
      const kept = JSON.parse((await g.agent['vault'].getMeta(`guardian-share:${patient.pseudonym}`)) as string) as {
        envelope: { ciphertext: string };
      };
      expect(kept.envelope.ciphertext).toEqual(expect.any(String));
      expect(await g.agent.deliveries()).toEqual([]);
      expect(h.gw.gateway.mailbox.pending(g.pseudonym)).toEqual([]);
    }
    expect(await patient.agent.recoveryStatus()).toMatchObject({
      setup: { setupId: setup.setupId, threshold: 2, shareCount: 3, paper: 1 },
    });
  });

  it("drops a share that is not signed by the patient's registered identity", async () => {
    // Well formed and newer than the real share: only the signer gives it away.
    const setupId = randomUUID();
    const [share] = await splitSecret(newRecoverySecret(), 2, 2);
    const payload = {
      v: 1,
      pseudonym: patient.pseudonym,
      guardian: g2.pseudonym,
      setupId,
      threshold: 2,
      shareCount: 2,
      share: share!.toString('base64'),
      createdAt: new Date(Date.now() + 60_000).toISOString(),
    };
    const forged = seal(
      Buffer.from(JSON.stringify(payload)),
      { algorithm: 'X25519', publicKey: (await ledgerRecord(g2.pseudonym)).encryptionPublicKey },
      guardianShareAad({ pseudonym: patient.pseudonym, guardian: g2.pseudonym, setupId }),
      stranger.agent.identity,
    );
    const res = await h.gw.request(
      { certificatePem: stranger.agent.identity.certificatePem, privateKeyPem: stranger.agent.identity.privateKeyPem },
      'POST',
      `/relay/${g2.pseudonym}`,
      { messageId: `forged-${randomUUID()}`, kind: GUARDIAN_SHARE_KIND, envelope: forged },
    );
    expect(res.status).toBe(202);
    const before = (await g2.agent.recoveryStatus()).shares;
    await g2.agent.sync();
    expect((await g2.agent.recoveryStatus()).shares).toEqual(before);
    expect(h.gw.gateway.mailbox.pending(g2.pseudonym)).toEqual([]);
  });

  it('drops a sealed recovery request that opens but is malformed, instead of trying it at every sync', async () => {
    const requestId = `rq-${randomUUID()}`;
    // Sealed right, to a guardian that holds a share of this patient: only its content is wrong.
    const envelope = seal(
      Buffer.from(JSON.stringify({ v: 1, requestId, pseudonym: patient.pseudonym })),
      { algorithm: 'X25519', publicKey: (await ledgerRecord(g1.pseudonym)).encryptionPublicKey },
      recoveryRequestAad({ requestId, pseudonym: patient.pseudonym, guardian: g1.pseudonym }),
      stranger.agent.identity,
    );
    const res = await h.gw.request(
      { certificatePem: stranger.agent.identity.certificatePem, privateKeyPem: stranger.agent.identity.privateKeyPem },
      'POST',
      `/relay/${g1.pseudonym}`,
      { messageId: `malformed-${randomUUID()}`, kind: RECOVERY_REQUEST_KIND, envelope },
    );
    expect(res.status).toBe(202);
    expect(h.gw.gateway.mailbox.pending(g1.pseudonym)).toHaveLength(1);
    // g1 guards the patient (the setup above), so the request is opened and read.
    expect((await g1.agent.recoveryStatus()).shares.map((s) => s.pseudonym)).toEqual([patient.pseudonym]);
    await g1.agent.sync();
    // Taken out of the mailbox: the next sync does not meet it again.
    expect(h.gw.gateway.mailbox.pending(g1.pseudonym)).toEqual([]);
    expect(await g1.agent['vault'].getMeta(`recovery-request:${requestId}`)).toBeUndefined();
    expect((await g1.agent.recoveryStatus()).requests).toEqual([]);
  });

  it('starts nothing at a gateway when no guardian is named: the ledger does not tell a new device who they are', async () => {
    const device = newDevice();
    const started = await startRecovery({ ...device, pseudonym: patient.pseudonym });
    expect(started).toEqual({ pseudonym: patient.pseudonym, guardians: [] });
    await g1.agent.sync();
    expect((await g1.agent.recoveryStatus()).requests).toEqual([]);
    // A mistyped guardian is refused before the device is enrolled.
    const typo = newDevice();
    await expect(
      startRecovery({ ...typo, pseudonym: patient.pseudonym, guardians: ['pt-not-a-pseudonym'] }),
    ).rejects.toMatchObject({ name: 'RecoveryError', code: 'INVALID_ARGUMENT' });
    expect(existsSync(typo.home)).toBe(false);
  });

  it('recovers from a new home with one guardian and the paper code; one share alone is refused, nothing lost', async () => {
    const device = newDevice();
    const started = await startRecovery({
      ...device,
      pseudonym: patient.pseudonym,
      guardians: [g2.pseudonym, g1.pseudonym],
    });
    expect(started.requestId).toMatch(/^rq-/);
    expect(started.checkCode).toMatch(/^\d{3}-\d{3}$/);
    expect(started.guardians).toEqual([
      { guardian: [g1.pseudonym, g2.pseudonym].sort()[0], sent: true },
      { guardian: [g1.pseudonym, g2.pseudonym].sort()[1], sent: true },
    ]);
    const requestId = started.requestId as string;

    // The guardian sees the request with the same check code, and approves it.
    await g1.agent.sync();
    const note = (await g1.agent.notifications()).find((n) => n.ref === `request:${requestId}`);
    expect(note?.message).toContain(`check code ${started.checkCode}`);
    await expect(stranger.agent.approveRecovery(requestId)).rejects.toMatchObject({ code: 'UNKNOWN_REQUEST' });
    const approved = await g1.agent.approveRecovery(requestId);
    expect(approved).toMatchObject({ requestId, pseudonym: patient.pseudonym, outcome: 'approved' });

    // The approval is on the patient's own log, recorded by the guardian.
    const logged = (await events(patient.agent, patient.pseudonym)).filter((e) => e.action === 'recovery');
    expect(logged).toEqual([
      expect.objectContaining({
        outcome: 'success',
        references: [requestId],
        actor: expect.objectContaining({ id: g1.agent.identity.id }),
      }),
    ]);

    // One share alone: refused, and nothing changed anywhere.
    const ownerBefore = (await ledgerRecord(patient.pseudonym)).owner;
    await expect(
      finishRecovery({ home: device.home, passphrase: PASSPHRASE, connectors: h.connectors }),
    ).rejects.toMatchObject({
      name: 'RecoveryError',
      code: 'TOO_FEW_SHARES',
      message: expect.stringMatching(/^1 share of the 2 needed \(guardian pt[a-z2-7]+\).*Nothing was changed/),
    });
    // A paper code of another secret does not make up the difference either.
    const [stranger1] = await splitSecret(newRecoverySecret(), 2, 2);
    await expect(
      finishRecovery({
        home: device.home,
        passphrase: PASSPHRASE,
        paperCodes: [paperCode(stranger1!)],
        connectors: h.connectors,
      }),
    ).rejects.toMatchObject({ code: 'WRONG_SHARES' });
    // A mistyped paper code is named.
    const typo = paper.slice(0, 6) + (paper[6] === '7' ? '8' : '7') + paper.slice(7);
    await expect(
      finishRecovery({ home: device.home, passphrase: PASSPHRASE, paperCodes: [typo], connectors: h.connectors }),
    ).rejects.toMatchObject({ name: 'RecoveryCodeError', message: expect.stringMatching(/^paper code 1: /) });
    expect((await ledgerRecord(patient.pseudonym)).owner).toBe(ownerBefore);
    expect(existsSync(pendingRecoveryFile(device.home))).toBe(true);
    expect(JSON.parse(readFileSync(join(device.home, 'state.json'), 'utf8'))).not.toHaveProperty('registeredAt');
    // The old device still owns everything and still verifies.
    expect((await patient.agent.verify()).mismatches).toEqual([]);

    // One guardian and the paper code: the pseudonym moves, the backup is restored and verified.
    const finished = await finishRecovery({
      home: device.home,
      passphrase: PASSPHRASE,
      paperCodes: [paper.toLowerCase()],
      source: { from: 'folder', dir: backupDir },
      connectors: h.connectors,
    });
    expect(finished.shares.map((s) => s.kind).sort()).toEqual(['guardian', 'paper']);
    expect(finished.restore?.restored.length).toBe((await patient.agent.deliveries()).length);
    const record = await ledgerRecord(patient.pseudonym);
    expect(record.owner).not.toBe(ownerBefore);
    expect(record.keyVersion).toBe(2);
    expect(existsSync(pendingRecoveryFile(device.home))).toBe(false);

    recoveredHome = device.home;
    const recovered = await h.open(device.home);
    try {
      expect(recovered.pseudonym).toBe(patient.pseudonym);
      const verify = await recovered.verify();
      expect(verify.mismatches).toEqual([]);
      expect(verify.elementsChecked).toBeGreaterThan(0);
      const actions = (await events(recovered, patient.pseudonym)).map((e) => `${e.action}:${e.outcome}`);
      expect(actions).toEqual(expect.arrayContaining(['backup:success', 'recovery:success', 'restore:success']));
      expect(actions.filter((a) => a === 'recovery:success')).toHaveLength(2); // the guardian's, and the device's own
      // The patient reads the guardian's approval as the guardian's, not as their own.
      const sentences = (await recovered.accessLog()).map((e) => e.summary);
      expect(sentences).toContain(
        `Your guardian ${g1.pseudonym} approved a recovery of your records: request ${requestId} — allowed.`,
      );
      expect(sentences).toContain(`You recovered your records: request ${requestId} — allowed.`);
    } finally {
      await recovered.close();
    }
    // The lost device's identity owns nothing any more.
    await expect(patient.agent['ledger'].setGuardians(patient.pseudonym, [])).rejects.toBeInstanceOf(LedgerError);
  });

  it('lets a guardian refuse a request: nothing is sent and the patient sees the refusal', async () => {
    // The recovered patient's record still names g1 and g2.
    const device = newDevice();
    const started = await startRecovery({
      ...device,
      pseudonym: patient.pseudonym,
      guardians: [g1.pseudonym, g2.pseudonym],
    });
    await g2.agent.sync();
    const request = await g2.agent['vault'].getMeta(`recovery-request:${started.requestId as string}`);
    expect(request).toBeDefined();
    // A guardian refuses: nothing is sent, and the patient's log says so.
    const denied = await g2.agent.denyRecovery(started.requestId as string);
    expect(denied.outcome).toBe('denied');
    const owner = await h.open(recoveredHome);
    try {
      const log = await events(owner, patient.pseudonym);
      expect(log.filter((e) => e.action === 'recovery' && e.outcome === 'denied')).toEqual([
        expect.objectContaining({
          references: [started.requestId],
          actor: expect.objectContaining({ id: g2.agent.identity.id }),
        }),
      ]);
      // The patient's next sync turns it into a notification.
      await owner.sync();
      expect((await owner.notifications()).map((n) => n.message)).toContain(
        `Your guardian ${g2.pseudonym} refused a recovery of your records: request ${started.requestId} — denied.`,
      );
    } finally {
      await owner.close();
    }
    await expect(
      finishRecovery({ home: device.home, passphrase: PASSPHRASE, connectors: h.connectors }),
    ).rejects.toMatchObject({
      code: 'TOO_FEW_SHARES',
      message: expect.stringMatching(/^0 shares of at least 2 needed/),
    });
  });

  it('needs a recovery key on the ledger to start', async () => {
    await expect(
      startRecovery({ ...newDevice(), pseudonym: stranger.pseudonym, guardians: [g1.pseudonym] }),
    ).rejects.toMatchObject({
      code: 'NOT_SET_UP',
    });
  });

  it("erasing tells each guardian to delete its share; only the patient's own identity can", async () => {
    // A withdrawal signed by someone else is dropped: the guardian keeps the share.
    const withdrawal = {
      v: 1,
      pseudonym: patient.pseudonym,
      guardian: g2.pseudonym,
      withdrawnAt: new Date().toISOString(),
      reason: 'erased',
    };
    const g2Key = (await ledgerRecord(g2.pseudonym)).encryptionPublicKey;
    const forged = seal(
      Buffer.from(JSON.stringify(withdrawal)),
      { algorithm: 'X25519', publicKey: g2Key },
      guardianShareWithdrawnAad({ pseudonym: patient.pseudonym, guardian: g2.pseudonym }),
      stranger.agent.identity,
    );
    const res = await h.gw.request(
      { certificatePem: stranger.agent.identity.certificatePem, privateKeyPem: stranger.agent.identity.privateKeyPem },
      'POST',
      `/relay/${g2.pseudonym}`,
      { messageId: `forged-withdrawal-${randomUUID()}`, kind: GUARDIAN_SHARE_WITHDRAWN_KIND, envelope: forged },
    );
    expect(res.status).toBe(202);
    await g2.agent.sync();
    expect(h.gw.gateway.mailbox.pending(g2.pseudonym)).toEqual([]);
    expect((await g2.agent.recoveryStatus()).shares.map((s) => s.pseudonym)).toEqual([patient.pseudonym]);

    // The patient (on the device that recovered the records) erases everything.
    const owner = await h.open(recoveredHome);
    const report = await owner.erase();
    expect(report.ledger).toBe('erased');
    expect(report.guardians).toEqual([g1.pseudonym, g2.pseudonym].sort().map((guardian) => ({ guardian, sent: true })));
    for (const g of [g1, g2]) {
      await g.agent.sync();
      expect(h.gw.gateway.mailbox.pending(g.pseudonym)).toEqual([]);
      expect((await g.agent.recoveryStatus()).shares).toEqual([]);
      expect(await g.agent['vault'].getMeta(`guardian-share:${patient.pseudonym}`)).toBeUndefined();
      expect((await g.agent.notifications()).map((n) => n.message)).toContain(
        `Patient ${patient.pseudonym} erased their records and withdrew the recovery share you kept for them: ` +
          'it was deleted, and you are no longer their guardian.',
      );
    }
  });
});
