import { createHash, randomBytes } from 'node:crypto';
import { BACKUP_SHA256_HEADER, BACKUP_VERSION_HEADER, type BackupVersion, type BackupVersions } from '@phr/common';
import { GatewayHarness, type TestPatient } from '@phr/test-support/gateway';
import { isOutcome, openGatewayDb, restoreOnNewDevice } from './support/lifecycle';
import { head, tlsConnection } from './support/raw-http';

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
jest.setTimeout(120_000);

const OCTETS = { 'content-type': 'application/octet-stream' };
const MAX_BACKUP = 64 * 1024;

describe('backups at the gateway (PUT/GET /backup/{pseudonym}) over mutual TLS', () => {
  let h: GatewayHarness;
  let alice: TestPatient;
  let bob: TestPatient;
  const put = (p: TestPatient, bytes: Buffer, headers: Record<string, string> = OCTETS) =>
    h.request(p.identity, 'PUT', `/backup/${p.pseudonym}`, bytes, headers);

  beforeAll(async () => {
    h = await GatewayHarness.create({ maxBackupBytes: MAX_BACKUP, backupVersionsKept: 3 });
    alice = await h.newPatient('alice');
    bob = await h.newPatient('bob');
  });
  afterAll(async () => {
    await h.close();
  });

  it('answers 404 (an OperationOutcome) before the first backup, and an empty version list', async () => {
    const none = await h.request(alice.identity, 'GET', `/backup/${alice.pseudonym}`);
    expect(none.status).toBe(404);
    expect(isOutcome(none.json)).toBe(true);
    const list = await h.request(alice.identity, 'GET', `/backup/${alice.pseudonym}/versions`);
    expect([list.status, list.json]).toEqual([200, { versions: [] }]);
  });

  it('stores versions, answers each byte for byte, and keeps the last backupVersionsKept', async () => {
    const archives = [1, 2, 3, 4].map(() => randomBytes(20_000));
    const answers: BackupVersion[] = [];
    for (const bytes of archives) {
      const res = await put(alice, bytes);
      expect(res.status).toBe(201);
      const v = res.json as BackupVersion;
      expect(v).toEqual({
        version: answers.length + 1,
        size: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        storedAt: expect.any(String),
      });
      expect(res.headers.get('location')).toBe(`/backup/${alice.pseudonym}?version=${v.version}`);
      answers.push(v);
    }
    const list = await h.request(alice.identity, 'GET', `/backup/${alice.pseudonym}/versions`);
    expect((list.json as BackupVersions).versions).toEqual(answers.slice(1)); // version 1 dropped: 3 kept

    const latest = await getBytes(alice);
    expect(latest.bytes.equals(archives[3]!)).toBe(true);
    expect(latest.headers.get(BACKUP_VERSION_HEADER)).toBe('4');
    expect(latest.headers.get(BACKUP_SHA256_HEADER)).toBe(answers[3]!.sha256);
    expect(latest.headers.get('content-type')).toMatch(/^application\/octet-stream/);
    expect(latest.headers.get('cache-control')).toBe('no-store');
    expect((await getBytes(alice, 2)).bytes.equals(archives[1]!)).toBe(true);

    const dropped = await h.request(alice.identity, 'GET', `/backup/${alice.pseudonym}?version=1`);
    expect(dropped.status).toBe(404);
    expect(isOutcome(dropped.json)).toBe(true);
    const bad = await h.request(alice.identity, 'GET', `/backup/${alice.pseudonym}?version=two`);
    expect(bad.status).toBe(400);
    expect(isOutcome(bad.json)).toBe(true);
  });

  it('answers the latest version (200) for the same bytes again, storing nothing new', async () => {
    const bytes = randomBytes(5000);
    const first = await put(bob, bytes);
    expect(first.status).toBe(201);
    const again = await put(bob, Buffer.from(bytes));
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);
    const list = await h.request(bob.identity, 'GET', `/backup/${bob.pseudonym}/versions`);
    expect((list.json as BackupVersions).versions).toEqual([first.json]);
    // different bytes are a new version
    expect((await put(bob, randomBytes(5000))).status).toBe(201);
  });

  it('stores the archive encrypted again: the file holds neither the bytes nor anything readable without the patient key', async () => {
    const marker = Buffer.from(`plain-backup-marker-${randomBytes(8).toString('hex')}`.repeat(50));
    expect((await put(alice, marker)).status).toBe(201);
    const db = openGatewayDb(h);
    try {
      const rows = db
        .prepare('SELECT body FROM backup_version WHERE pseudonym = ? ORDER BY version DESC LIMIT 1')
        .all(alice.pseudonym) as { body: Uint8Array }[];
      const body = Buffer.from(rows[0]!.body);
      expect(body.length).toBe(marker.length + 29); // version, IV, tag
      expect(body.includes(marker.subarray(0, 40))).toBe(false);
    } finally {
      db.close();
    }
  });

  it('refuses a backup over limits.maxBackupBytes with 413, and stores nothing', async () => {
    const before = (await h.request(bob.identity, 'GET', `/backup/${bob.pseudonym}/versions`)).json;
    const res = await put(bob, randomBytes(MAX_BACKUP + 1));
    expect(res.status).toBe(413);
    expect(isOutcome(res.json)).toBe(true);
    expect((await h.request(bob.identity, 'GET', `/backup/${bob.pseudonym}/versions`)).json).toEqual(before);
    // exactly the limit is taken
    expect((await put(bob, randomBytes(MAX_BACKUP))).status).toBe(201);
  });

  it('refuses another patient (403), other roles (403), another media type (415) and an empty body (400)', async () => {
    const bytes = randomBytes(100);
    const cases = [
      await h.request(bob.identity, 'PUT', `/backup/${alice.pseudonym}`, bytes, OCTETS),
      await h.request(bob.identity, 'GET', `/backup/${alice.pseudonym}`),
      await h.request(bob.identity, 'GET', `/backup/${alice.pseudonym}/versions`),
      await h.request(h.clients.admin, 'GET', `/backup/${alice.pseudonym}`),
      await h.request(h.clients.ehr, 'PUT', `/backup/${alice.pseudonym}`, bytes, OCTETS),
    ];
    expect(cases.map((c) => c.status)).toEqual([403, 403, 403, 403, 403]);
    expect(cases.every((c) => isOutcome(c.json))).toBe(true);

    const json = await h.request(alice.identity, 'PUT', `/backup/${alice.pseudonym}`, { not: 'bytes' });
    expect(json.status).toBe(415);
    expect(isOutcome(json.json)).toBe(true);
    const empty = await put(alice, Buffer.alloc(0));
    expect(empty.status).toBe(400);
    expect(isOutcome(empty.json)).toBe(true);
    const malformed = await h.request(alice.identity, 'GET', '/backup/not-a-pseudonym');
    expect(malformed.status).toBe(400);
    expect(isOutcome(malformed.json)).toBe(true);
  });

  it('takes one upload per patient at a time (429 while another is still arriving), then the next', async () => {
    const slow = await tlsConnection(h.gateway.port, h.hospitalCa.certificatePem, alice.identity);
    try {
      slow.write(
        head('PUT', `/backup/${alice.pseudonym}`, {
          'Content-Type': 'application/octet-stream',
          'Content-Length': 1000,
        }),
      );
      slow.write(randomBytes(10));
      await new Promise((r) => setTimeout(r, 200)); // the gateway is reading it
      const second = await put(alice, randomBytes(100));
      expect(second.status).toBe(429);
      expect(isOutcome(second.json)).toBe(true);
      slow.write(randomBytes(990));
      const first = await slow.response(5000);
      expect(first?.status).toBe(201);
    } finally {
      slow.destroy();
    }
    expect((await put(alice, randomBytes(100))).status).toBe(201);
  });

  it('follows a restore: the new device gets the backup at once, the old identity is refused', async () => {
    const carol = await h.newPatient('carol');
    const bytes = randomBytes(3000);
    expect((await put(carol, bytes)).status).toBe(201); // the directory now has carol's record cached
    const restored = await restoreOnNewDevice(h, carol, 'carol-new-phone');
    const got = await getBytes(restored);
    expect(got.status).toBe(200);
    expect(got.bytes.equals(bytes)).toBe(true);
    const old = await h.request(carol.identity, 'GET', `/backup/${carol.pseudonym}`);
    expect(old.status).toBe(403);
    expect(isOutcome(old.json)).toBe(true);
  });

  it('keeps backups across a gateway restart', async () => {
    const before = await getBytes(bob);
    await h.restart();
    const after = await getBytes(bob);
    expect(after.status).toBe(200);
    expect(after.bytes.equals(before.bytes)).toBe(true);
  });

  async function getBytes(p: TestPatient, version?: number) {
    const res = await fetch(`${h.url}/backup/${p.pseudonym}${version ? `?version=${version}` : ''}`, {
      dispatcher: h.dispatcher(p.identity),
    });
    return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
  }
});
