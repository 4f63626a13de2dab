/**
 * The record's life cycle on the patient's side against the real gateway (HTTPS, mutual TLS,
 * SQLite) and the real chaincode on the in-memory ledger: backups to a folder and to the gateway,
 * restore on a new home, refusals of tampered, truncated and older backups and of a wrong recovery
 * code, rebuild without a backup, and erasure.
 */
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  decodeRecoveryCode,
  deriveRecoveryKeys,
  encodeRecoveryCode,
  newRecoverySecret,
  RECOVERY_CODE_PREFIX,
  RecoveryCodeError,
  openEnvelope,
  seal,
  type SealedEnvelope,
} from '@phr/common';
import {
  forNewPatient,
  type Bundle,
  isPatientBundleFile,
  loadBundle,
  mrnOf,
  smallBundle,
  syntheaFiles,
  TEST_KEYSTORE,
} from '@phr/test-support';
import { Agent } from '../src/agent';
import {
  BackupError,
  BackupKeys,
  CHUNKS_DIR,
  MANIFEST_FILE,
  openChunk,
  openManifest,
  sealChunk,
  sealManifest,
  sha256Hex,
} from '../src/lifecycle/backup-format';
import { recoverDevice, TakeoverError } from '../src/lifecycle/device-takeover';
import { openKeystore, readKeystore } from '../src/keys/keystore';
import { restoreAgent, type RestoreOptions, type RestoreReport } from '../src/lifecycle/restore';
import { AgentHarness, PASSPHRASE } from './support/agent-harness';

jest.setTimeout(180_000);

const patientFiles = syntheaFiles().filter(isPatientBundleFile);
let h: AgentHarness;
let enrollments = 0;

beforeAll(async () => {
  h = await AgentHarness.create();
});
afterAll(async () => {
  await h.close();
});

interface Patient {
  agent: Agent;
  home: string;
  pseudonym: string;
  deliveryIds: string[];
  bundle: Bundle;
}

/** A patient with `count` deliveries stored and verified. */
async function patientWith(tag: string, count: number, file = patientFiles[0] as string): Promise<Patient> {
  const { agent, home, pseudonym } = await h.newAgent();
  const bundle = forNewPatient(loadBundle(file), tag);
  await h.link(agent, mrnOf(bundle));
  const deliveryIds: string[] = [];
  for (let i = 0; i < count; i++) deliveryIds.push(await post(bundle, `${tag}-${i}`, 6 + i));
  await agent.sync();
  expect((await agent.deliveries()).map((d) => d.deliveryId).sort()).toEqual([...deliveryIds].sort());
  return { agent, home, pseudonym, deliveryIds, bundle };
}

/** Rewrites the sealed mail of one delivery in the gateway's mailbox, as an attacker there could. */
function rewriteMail(deliveryId: string, change: (envelope: SealedEnvelope) => SealedEnvelope): void {
  const db = new DatabaseSync(join(h.gw.config.dataDir, 'gateway.db'));
  try {
    const row = db.prepare('SELECT body FROM mailbox_message WHERE message_id = ?').get(deliveryId) as { body: string };
    const changed = change(JSON.parse(row.body) as SealedEnvelope);
    db.prepare('UPDATE mailbox_message SET body = ? WHERE message_id = ?').run(JSON.stringify(changed), deliveryId);
  } finally {
    db.close();
  }
}

function post(bundle: Bundle, send: string, size: number): Promise<string> {
  return h.post({ ...smallBundle(bundle, size), identifier: { system: 'urn:test:send', value: send } });
}

/** A fresh home and a fresh enrollment at the doorman, for a new device. */
function newDevice(): {
  home: string;
  enrollmentId: string;
  enrollmentSecret: string;
  keystore: typeof TEST_KEYSTORE;
} {
  enrollments += 1;
  const enrollmentId = `restored-${process.pid}-${enrollments}`;
  const enrollmentSecret = `restore-secret-${enrollments}`;
  h.doorman.register(enrollmentId, enrollmentSecret);
  return { home: join(h.dir, `restored-${enrollments}`), enrollmentId, enrollmentSecret, keystore: TEST_KEYSTORE };
}

function restore(
  device: ReturnType<typeof newDevice>,
  o: Pick<RestoreOptions, 'recoveryCode' | 'source'> & Partial<RestoreOptions>,
): Promise<RestoreReport> {
  return restoreAgent({ profile: h.profile, passphrase: PASSPHRASE, connectors: h.connectors, ...device, ...o });
}

function keysOf(code: string): BackupKeys {
  return BackupKeys.derive(deriveRecoveryKeys(decodeRecoveryCode(code, RECOVERY_CODE_PREFIX)).backupKey);
}

async function statuses(agent: Agent, ids: string[]): Promise<string[]> {
  return Promise.all(ids.map(async (id) => (await agent['ledger'].readDelivery(id))?.status ?? 'none'));
}

async function ownerOf(pseudonym: string): Promise<string> {
  return (await h.gw.ledger.readPatient(pseudonym))?.owner ?? '';
}

describe('backup to a folder and restore on a new home', () => {
  it('restores every delivery, verified; the ledger says backup; the log shows backup and restore', async () => {
    const p = await patientWith('restore-folder', 2);
    const dir = join(h.dir, 'backups-restore-folder');
    const first = await p.agent.backup({ to: 'folder', dir });
    expect(first).toMatchObject({ kind: 'folder', backupNumber: 1, deliveries: 2, written: 2, reused: 0, skipped: [] });
    expect(first.recoveryCode).toMatch(/^PHRR-/);
    expect(first.markedBackedUp.sort()).toEqual([...p.deliveryIds].sort());
    expect(await statuses(p.agent, p.deliveryIds)).toEqual(['backup', 'backup']);
    // the ledger holds the recovery key; the files hold no plaintext
    const keys = deriveRecoveryKeys(decodeRecoveryCode(first.recoveryCode as string, RECOVERY_CODE_PREFIX));
    expect((await h.gw.ledger.readPatient(p.pseudonym))?.recoveryPublicKey).toBe(keys.publicKey);
    const folder = join(dir, p.pseudonym);
    const onDisk = readdirSync(join(folder, CHUNKS_DIR))
      .map((f) => readFileSync(join(folder, CHUNKS_DIR, f)).toString('latin1'))
      .join('');
    expect(onDisk).not.toContain(mrnOf(p.bundle).value);
    expect(onDisk).not.toContain('Observation');
    const oldOwner = await ownerOf(p.pseudonym);
    await p.agent.close();
    rmSync(p.home, { recursive: true, force: true }); // the device is lost

    const device = newDevice();
    const report = await restore(device, {
      recoveryCode: first.recoveryCode as string,
      source: { from: 'folder', dir },
    });
    expect(report).toMatchObject({ pseudonym: p.pseudonym, backupNumber: 1, alreadyHere: [], notInBackup: [] });
    expect(report.restored.map((d) => d.deliveryId).sort()).toEqual([...p.deliveryIds].sort());

    const agent = await h.open(device.home);
    try {
      expect(agent.pseudonym).toBe(p.pseudonym);
      const verify = await agent.verify();
      expect(verify.mismatches).toEqual([]);
      expect(verify.deliveriesChecked).toBe(2);
      const owner = await ownerOf(p.pseudonym);
      expect(owner).toBe(agent.identity.id);
      expect(owner).not.toBe(oldOwner);
      expect(await statuses(agent, p.deliveryIds)).toEqual(['backup', 'backup']);
      const actions = (await agent.accessLog()).map((e) => `${e.action}:${e.outcome}`);
      expect(actions).toEqual(expect.arrayContaining(['backup:success', 'restore:success']));

      // The restored device gets what hospitals send now, sealed to its own key.
      const next = await post(p.bundle, 'restore-folder-after', 4);
      const sync = await agent.sync();
      expect(sync.deliveries).toEqual([expect.objectContaining({ deliveryId: next, result: 'stored' })]);
      // The next backup goes on in the same folder, with the same key, and is incremental.
      const again = await agent.backup({ to: 'folder', dir });
      expect(again).toMatchObject({ backupNumber: 2, deliveries: 3, written: 1, reused: 2 });
      expect(again.recoveryCode).toBeUndefined();
    } finally {
      await agent.close();
    }
  });

  it('writes only new chunks after the first backup, and leaves the chunks it keeps untouched', async () => {
    const p = await patientWith('incremental', 2);
    try {
      const dir = join(h.dir, 'backups-incremental');
      await p.agent.backup({ to: 'folder', dir });
      const chunks = join(dir, p.pseudonym, CHUNKS_DIR);
      const before = new Map(readdirSync(chunks).map((f) => [f, statSync(join(chunks, f)).mtimeMs]));
      expect(before.size).toBe(2);

      const unchanged = await p.agent.backup({ to: 'folder', dir });
      expect(unchanged).toMatchObject({ backupNumber: 2, written: 0, reused: 2 });
      const third = await post(p.bundle, 'incremental-2', 3);
      await p.agent.sync();
      const grown = await p.agent.backup({ to: 'folder', dir });
      expect(grown).toMatchObject({ backupNumber: 3, deliveries: 3, written: 1, reused: 2, markedBackedUp: [third] });
      const after = readdirSync(chunks);
      expect(after).toHaveLength(3);
      for (const [file, mtime] of before) expect(statSync(join(chunks, file)).mtimeMs).toBe(mtime);
      // a damaged chunk is written again rather than kept
      const damaged = [...before.keys()][0] as string;
      writeFileSync(join(chunks, damaged), 'not a chunk');
      expect(await p.agent.backup({ to: 'folder', dir })).toMatchObject({ written: 1, reused: 2 });
    } finally {
      await p.agent.close();
    }
  });
});

describe('the recovery code', () => {
  it('is handed out again when the backup that made it failed, so the patient sees it once', async () => {
    const p = await patientWith('code-after-failure', 1);
    try {
      // a file where the folder should be: the backup fails after the secret was made
      const notAFolder = join(h.dir, 'code-after-failure.txt');
      writeFileSync(notAFolder, 'a file, not a folder');
      await expect(p.agent.backup({ to: 'folder', dir: notAFolder })).rejects.toMatchObject({ code: 'ENOTDIR' });
      const made = (await h.gw.ledger.readPatient(p.pseudonym))?.recoveryPublicKey;
      expect(made).toBeDefined();

      const next = await p.agent.backup({ to: 'folder', dir: join(h.dir, 'backups-code-after-failure') });
      expect(next.recoveryCode).toMatch(/^PHRR-/);
      // the same secret as the one the ledger already holds, and only this once
      const keys = deriveRecoveryKeys(decodeRecoveryCode(next.recoveryCode as string, RECOVERY_CODE_PREFIX));
      expect(keys.publicKey).toBe(made);
      expect((await p.agent.backup({ to: 'gateway' })).recoveryCode).toBeUndefined();
    } finally {
      await p.agent.close();
    }
  });
});

describe('refusals: nothing stored, nothing lost', () => {
  let p: Patient;
  let code: string;
  let dir: string;

  beforeAll(async () => {
    p = await patientWith('refusals', 2);
    dir = join(h.dir, 'backups-refusals');
    code = (await p.agent.backup({ to: 'folder', dir })).recoveryCode as string;
  });
  afterAll(async () => {
    await p.agent.close();
  });

  /** A copy of the backup folder, changed by `change`. */
  function variant(name: string, change: (folder: string) => void): string {
    const copy = join(h.dir, `variant-${name}`);
    cpSync(dir, copy, { recursive: true });
    change(join(copy, p.pseudonym));
    return copy;
  }

  function chunkOf(deliveryId: string): string {
    return `${keysOf(code).chunkId(p.pseudonym, deliveryId)}.bin`;
  }

  async function expectRefused(
    source: string,
    expected: Partial<BackupError> & { message?: unknown },
  ): Promise<ReturnType<typeof newDevice>> {
    const owner = await ownerOf(p.pseudonym);
    const device = newDevice();
    const err = await restore(device, { recoveryCode: code, source: { from: 'folder', dir: source } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BackupError);
    expect(err).toMatchObject(expected);
    // verified before the pseudonym moves: the patient's device still owns it, the new vault is empty
    expect(await ownerOf(p.pseudonym)).toBe(owner);
    expect(existsSync(join(device.home, 'vault.db'))).toBe(false);
    expect((await p.agent.verify()).mismatches).toEqual([]);
    return device;
  }

  it('refuses a backup with a changed byte in a chunk, naming the delivery', async () => {
    const target = p.deliveryIds[1] as string;
    const source = variant('tampered', (folder) => {
      const file = join(folder, CHUNKS_DIR, chunkOf(target));
      const bytes = readFileSync(file);
      bytes[bytes.length - 30] = (bytes[bytes.length - 30] as number) ^ 0x01;
      writeFileSync(file, bytes);
    });
    await expectRefused(source, {
      code: 'ALTERED',
      where: { deliveryId: target },
      message: expect.stringContaining(target),
    });
  });

  it('refuses a backup missing a chunk, naming the delivery', async () => {
    const target = p.deliveryIds[0] as string;
    const source = variant('missing', (folder) => rmSync(join(folder, CHUNKS_DIR, chunkOf(target))));
    await expectRefused(source, { code: 'MISSING', where: { deliveryId: target } });
  });

  it('refuses a truncated manifest, saying the code is right and the manifest damaged', async () => {
    const source = variant('truncated', (folder) => {
      const file = join(folder, MANIFEST_FILE);
      truncateSync(file, statSync(file).size - 7);
    });
    await expectRefused(source, { code: 'ALTERED', message: expect.stringMatching(/manifest\.bin is damaged/) });
  });

  it('refuses an element changed by someone holding the backup key, naming the element', async () => {
    const keys = keysOf(code);
    const target = p.deliveryIds[0] as string;
    let elementId = '';
    const source = variant('forged', (folder) => {
      const manifest = openManifest(keys, p.pseudonym, readFileSync(join(folder, MANIFEST_FILE)));
      const entry = manifest.chunks.find((c) => c.deliveryId === target);
      if (!entry) throw new Error('no chunk for the delivery');
      const file = join(folder, CHUNKS_DIR, `${entry.chunkId}.bin`);
      const content = openChunk(keys, p.pseudonym, entry, readFileSync(file));
      const element = content.elements.find((e) => e.element.kind === 'coded') ?? content.elements[0];
      if (!element) throw new Error('no element');
      element.element.display = 'changed after the fact';
      elementId = element.element.id;
      const sealed = sealChunk(keys, content, entry.chunkId);
      writeFileSync(file, sealed);
      Object.assign(entry, { sha256: sha256Hex(sealed), size: sealed.length });
      writeFileSync(join(folder, MANIFEST_FILE), sealManifest(keys, manifest));
    });
    await expectRefused(source, {
      code: 'UNVERIFIED',
      where: { deliveryId: target, elementId },
      message: expect.stringContaining(elementId),
    });
  });

  it('refuses a wrong recovery code (mistyped, or another secret) before the pseudonym moves', async () => {
    const owner = await ownerOf(p.pseudonym);
    const mistyped = code.slice(0, 6) + (code[6] === '7' ? '8' : '7') + code.slice(7);
    await expect(restore(newDevice(), { recoveryCode: mistyped, source: { from: 'folder', dir } })).rejects.toThrow(
      RecoveryCodeError,
    );
    const other = encodeRecoveryCode(newRecoverySecret(), RECOVERY_CODE_PREFIX);
    // the folder names the pseudonym; the ledger's recovery key tells the code is not this patient's
    const err = await restore(newDevice(), {
      recoveryCode: other,
      source: { from: 'folder', dir },
      pseudonym: p.pseudonym,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TakeoverError);
    expect(err).toMatchObject({ code: 'WRONG_RECOVERY_CODE' });
    expect(await ownerOf(p.pseudonym)).toBe(owner);
  });

  it('refuses an older backup that lacks deliveries the ledger marks backed up, naming them', async () => {
    const older = variant('older', () => undefined);
    const later = await post(p.bundle, 'refusals-later', 3);
    await p.agent.sync();
    await p.agent.backup({ to: 'gateway' }); // the later delivery is now `backup` on the ledger
    expect(await statuses(p.agent, [later])).toEqual(['backup']);

    const device = newDevice();
    const err = await restore(device, { recoveryCode: code, source: { from: 'folder', dir: older } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BackupError);
    expect(err).toMatchObject({ code: 'INCOMPLETE', where: { deliveryId: later } });
    // the pseudonym moved (the older backup itself verified), but nothing of it was stored
    const agent = await h.open(device.home);
    try {
      expect(await agent.deliveries()).toEqual([]);
    } finally {
      await agent.close();
    }
    // Restoring again on the same home, from the gateway's newer backup, finishes it.
    const report = await restore(device, { recoveryCode: code, source: { from: 'gateway' } });
    expect(report.restored.map((d) => d.deliveryId).sort()).toEqual([...p.deliveryIds, later].sort());
    const restored = await h.open(device.home);
    try {
      expect((await restored.verify()).mismatches).toEqual([]);
      expect(await restored.deliveries()).toHaveLength(3);
    } finally {
      await restored.close();
    }
  });
});

describe('backup to the gateway', () => {
  it('stores versions there and restores from the latest', async () => {
    const p = await patientWith('gateway-backup', 2);
    const first = await p.agent.backup({ to: 'gateway', hospital: 'hospital1' });
    expect(first).toMatchObject({ kind: 'gateway', target: 'hospital1', deliveries: 2, version: { version: 1 } });
    const second = await p.agent.backup({ to: 'gateway' });
    expect(second.version?.version).toBe(2);
    expect(await p.agent['transport'](h.profile.hospitals[0] as never).listBackups()).toHaveLength(2);
    await p.agent.close();
    rmSync(p.home, { recursive: true, force: true });

    const device = newDevice();
    // a gateway gives the backup only to the pseudonym's owner: the pseudonym is named
    await expect(
      restore(device, { recoveryCode: first.recoveryCode as string, source: { from: 'gateway' } }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const report = await restore(device, {
      recoveryCode: first.recoveryCode as string,
      source: { from: 'gateway', hospital: 'hospital1' },
      pseudonym: p.pseudonym,
    });
    expect(report).toMatchObject({ source: 'hospital1', backupNumber: 2 });
    expect(report.restored).toHaveLength(2);
    const agent = await h.open(device.home);
    try {
      expect((await agent.verify()).mismatches).toEqual([]);
    } finally {
      await agent.close();
    }
  });
});

describe('rebuild without a backup', () => {
  it('gets every delivery back from the hospital, each verified, and says so per delivery', async () => {
    const p = await patientWith('rebuild', 2);
    // a recovery setup made the recovery secret; no backup was ever made (one delivery is marked
    // backed up all the same, as by a backup since lost: the inbox must take it in that state too)
    const secret = await p.agent.useRecoverySecret((s) => Buffer.from(s));
    await p.agent['ledger'].markBackedUp(p.deliveryIds[1] as string);
    await p.agent.close();
    rmSync(p.home, { recursive: true, force: true });

    const device = newDevice();
    await recoverDevice({
      ...device,
      profile: h.profile,
      passphrase: PASSPHRASE,
      pseudonym: p.pseudonym,
      recoverySecret: secret,
      connectors: h.connectors,
    });
    const agent = await h.open(device.home);
    try {
      expect(await agent.deliveries()).toEqual([]);
      const report = await agent.rebuild();
      expect(report.rows.map((r) => [r.deliveryId, r.hospital, r.result]).sort()).toEqual(
        p.deliveryIds.map((id) => [id, 'hospital1', 'rebuilt']).sort(),
      );
      expect((await agent.verify()).mismatches).toEqual([]);
      expect(await agent.deliveries()).toHaveLength(2);
      // taken before: not acknowledged again
      expect(await statuses(agent, p.deliveryIds)).toEqual(['complete', 'backup']);
      const rebuildEvents = (await agent['ledger'].listAccessEvents(p.pseudonym)).filter((e) => e.action === 'rebuild');
      expect(rebuildEvents).toEqual([
        expect.objectContaining({ outcome: 'success', references: expect.arrayContaining(p.deliveryIds) }),
      ]);
      // a second rebuild finds them all here
      expect((await agent.rebuild()).rows.every((r) => r.result === 'already-here')).toBe(true);
    } finally {
      await agent.close();
    }
  });
});

describe('mail sealed to the previous device', () => {
  it('is set aside, not rejected: it stays waiting on the ledger and a rebuild brings it', async () => {
    const p = await patientWith('previous-key', 1);
    const code = (await p.agent.backup({ to: 'gateway' })).recoveryCode as string;
    const oldKey = openKeystore(readKeystore(join(p.home, 'keystore.json')), PASSPHRASE).encryption;
    await p.agent.close();
    rmSync(p.home, { recursive: true, force: true });
    const device = newDevice();
    await restore(device, { recoveryCode: code, source: { from: 'gateway' }, pseudonym: p.pseudonym });
    const agent = await h.open(device.home);
    try {
      // A delivery the gateway sealed to the key it had read before the restore.
      const late = await post(p.bundle, 'previous-key-late', 3);
      const newKey = openKeystore(readKeystore(join(device.home, 'keystore.json')), PASSPHRASE).encryption;
      rewriteMail(late, (env) => {
        const aad = { deliveryId: late, pseudonym: p.pseudonym, sender: 'Hospital1MSP' };
        const plaintext = openEnvelope(env, newKey.privateKeyPem, aad);
        return seal(
          plaintext,
          { algorithm: oldKey.algorithm, publicKey: oldKey.publicKeyPem },
          aad,
          h.gw.clients.gatewayIdentity,
        );
      });
      const sync = await agent.sync();
      expect(sync.deliveries).toEqual([
        expect.objectContaining({
          deliveryId: late,
          result: 'refused',
          detail: expect.stringMatching(/previous device/),
        }),
      ]);
      expect(await statuses(agent, [late])).toEqual(['waiting']);
      const rebuilt = await agent.rebuild();
      expect(rebuilt.rows).toEqual(
        expect.arrayContaining([expect.objectContaining({ deliveryId: late, result: 'rebuilt' })]),
      );
      expect(await statuses(agent, [late])).toEqual(['complete']);
      expect((await agent.verify()).mismatches).toEqual([]);
    } finally {
      await agent.close();
    }
  });
});

describe('erase', () => {
  it('has the gateway destroy its copies, marks the pseudonym erased, deletes the backups and the home', async () => {
    const p = await patientWith('erase', 2);
    const dir = join(h.dir, 'backups-erase');
    await p.agent.backup({ to: 'folder', dir });
    await p.agent.backup({ to: 'gateway' });
    await p.agent.grantConsent({
      grantee: { kind: 'organization', id: 'Hospital2MSP' },
      scope: { categories: ['laboratory'], codes: [] },
      purposes: ['TREAT'],
      end: new Date(Date.now() + 86_400_000).toISOString(),
    });
    const ledger = p.agent['ledger'];
    // a recovery left under way in this home (its request and sealed one-time key) goes too
    const leftover = join(p.home, 'recovery.json');
    writeFileSync(leftover, '{"v":1}\n', { mode: 0o600 });

    const report = await p.agent.erase();
    expect(report).toMatchObject({ pseudonym: p.pseudonym, ledger: 'erased' });
    expect(report.filesDestroyed).toContain(leftover);
    expect(report.hospitals).toEqual([
      expect.objectContaining({
        hospital: 'hospital1',
        required: true,
        receipt: expect.objectContaining({ pseudonym: p.pseudonym }),
      }),
    ]);
    expect(report.foldersDeleted).toEqual([join(dir, p.pseudonym)]);
    expect(existsSync(join(dir, p.pseudonym))).toBe(false);
    expect(existsSync(p.home)).toBe(false);

    const record = await h.gw.ledger.readPatient(p.pseudonym);
    expect(record?.erasedAt).toBeDefined();
    expect(record?.recoveryPublicKey).toBeUndefined();
    expect((await ledger.listConsents(p.pseudonym)).every((c) => c.status === 'revoked')).toBe(true);
    const receiptId = report.hospitals[0]?.receipt?.receiptId as string;
    const events = await ledger.listAccessEvents(p.pseudonym);
    expect(events.filter((e) => e.action === 'erasure').map((e) => e.references)).toEqual(
      expect.arrayContaining([[receiptId]]),
    );
    // the gateway keeps no backup to give, not even to the owner
    const transport = h.connectors.gateway(h.profile.hospitals[0] as never, p.pseudonym, p.agent.identity);
    try {
      await expect(transport.getBackup()).rejects.toMatchObject({ name: 'TransportError' });
    } finally {
      await transport.close();
    }
    // and the agent is gone
    await expect(h.open(p.home)).rejects.toThrow();
  });
});
