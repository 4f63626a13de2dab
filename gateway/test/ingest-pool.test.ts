import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  categoriesOfAll,
  DeliveryTree,
  elementLeafHash,
  generateEncryptionKeyPair,
  openEnvelope,
  verifyEnvelopeSignature,
  type DeliveryPayload,
  type SealedEnvelope,
} from '@phr/common';
import { FhirValidator } from '../src/fhir/validation';
import { KeyedHash } from '../src/identity/keyed-hash';
import { DEFAULT_XML_LIMITS } from '../src/ccda/xml-guard';
import { ccdaContentKey, checkBundle } from '../src/ingest/bundle-check';
import { IngestPool } from '../src/ingest/ingest-pool';
import { INVALID_DIR, SYNTHEA_DIR, syntheaFiles } from '@phr/test-support';
import { makeCa, type Issued } from '@phr/test-support';

jest.setTimeout(120_000);

/**
 * The worker threads must answer exactly what the same functions answer on the event loop: the
 * same issues in the same order (so the same OperationOutcomes), the same content keys, and
 * deliveries the patient can open and verify.
 */
describe('IngestPool (validation and sealing on worker threads)', () => {
  const key = randomBytes(32);
  let signer: Issued;
  let pool: IngestPool;
  let validator: FhirValidator;

  beforeAll(async () => {
    signer = await (await makeCa('Hospital1MSP')).issue('gateway', { attrs: { 'phr.role': 'hospital-gateway' } });
    pool = await IngestPool.start({ threads: 2, keyedHashKey: key, signer });
    validator = FhirValidator.create();
  });
  afterAll(async () => {
    await pool.close();
  });

  /** Every Synthea bundle, and every parseable invalid case inside a collection bundle. */
  function bodies(): [string, Buffer][] {
    const synthea = syntheaFiles().map((f): [string, Buffer] => [f, readFileSync(join(SYNTHEA_DIR, f))]);
    const invalid = readdirSync(INVALID_DIR)
      .filter((f) => f.endsWith('.json') && f !== 'manifest-excerpt.json')
      .flatMap((f): [string, Buffer][] => {
        try {
          const resource = JSON.parse(readFileSync(join(INVALID_DIR, f), 'utf8')) as unknown;
          const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource }] };
          return [[f, Buffer.from(JSON.stringify(bundle))]];
        } catch {
          return []; // malformed JSON never reaches the pool: parseFhirJson refuses it first
        }
      });
    return [...synthea, ...invalid];
  }

  it('starts every thread warm', () => {
    expect(pool.threads).toBe(2);
  });

  (process.platform === 'linux' ? it : it.skip)('runs its threads behind the event loop (nice +5)', () => {
    const threads = readdirSync('/proc/self/task').flatMap((task) => {
      try {
        const comm = readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim();
        const fields = readFileSync(`/proc/self/task/${task}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return [{ task, comm, nice: Number(fields[16]) }];
      } catch {
        return []; // a thread that ended meanwhile
      }
    });
    const main = threads.find((t) => t.task === String(process.pid))!.nice;
    const workers = threads.filter((t) => t.comm === 'WorkerThread');
    // setpriority adds to the thread's own value, which it inherited from the process
    expect(workers.filter((t) => t.nice === Math.min(19, main + 5)).length).toBeGreaterThanOrEqual(2);
  });

  it('reports the same issues and content key as the in-process check, for every fixture', async () => {
    const cases = bodies();
    expect(cases.length).toBeGreaterThan(40);
    const answers = await Promise.all(cases.map(([, body]) => pool.check(body)));
    cases.forEach(([name, body], i) => {
      const expected = checkBundle(validator, KeyedHash.fromKey(key), JSON.parse(body.toString('utf8')));
      expect({ name, ...answers[i] }).toEqual({ name, ...expected });
    });
    // The invalid cases really are refused, so the comparison covers error issues too.
    expect(answers.filter((a) => a.issues.some((x) => x.severity === 'error')).length).toBeGreaterThanOrEqual(20);
  });

  it('keys a C-CDA document by its bytes, not by what the converter makes of them', async () => {
    const keyed = KeyedHash.fromKey(key);
    const xml = readFileSync(join(__dirname, '..', '..', 'fixtures', 'ccda-examples', 'CCD-2.xml'), 'utf8');
    const body = Buffer.from(xml);
    const answer = await pool.convertCcda(body, DEFAULT_XML_LIMITS);
    if (!answer.ok) throw new Error('CCD-2 was refused');
    expect(answer.checked.contentKey).toBe(ccdaContentKey(keyed, body));
    expect(answer.checked.contentKey).not.toBe(checkBundle(validator, keyed, JSON.parse(answer.bundleJson)).contentKey);
    // Other bytes, the same clinical content: another document.
    const again = await pool.convertCcda(
      Buffer.from(xml.replace('<ClinicalDocument', '<!-- x -->\n<ClinicalDocument')),
      DEFAULT_XML_LIMITS,
    );
    if (!again.ok) throw new Error('CCD-2 was refused');
    expect(again.checked.contentKey).not.toBe(answer.checked.contentKey);
  });

  it('builds deliveries the patient can open, whose root the payload reproduces', async () => {
    const patient = generateEncryptionKeyPair('X25519');
    const pseudonym = 'pt' + 'a'.repeat(26);
    for (const file of syntheaFiles().slice(0, 4)) {
      const body = readFileSync(join(SYNTHEA_DIR, file));
      const bundle = JSON.parse(body.toString('utf8')) as { entry: { resource: Record<string, unknown> }[] };
      // Every other entry, as a batch with refused entries would have it.
      const entries = bundle.entry.flatMap((_, i) => (i % 2 === 0 ? [{ entryIndex: i, sourceId: `s${i}` }] : []));
      const sealed = await pool.seal(body, {
        entries,
        pseudonym,
        senderMspId: 'Hospital1MSP',
        createdAt: Date.UTC(2026, 0, 2),
        recipient: { algorithm: patient.algorithm, publicKey: patient.publicKeyPem },
      });
      const envelope = JSON.parse(sealed.envelopeJson) as SealedEnvelope;
      expect(verifyEnvelopeSignature(envelope)).toBe(signer.certificatePem);
      const aad = { deliveryId: sealed.deliveryId, pseudonym, sender: 'Hospital1MSP' };
      const payload = JSON.parse(openEnvelope(envelope, patient.privateKeyPem, aad).toString()) as DeliveryPayload;

      const leaves = payload.segments.map((s) => s.elements.map((e) => elementLeafHash(e.element, e.salt)));
      expect(new DeliveryTree(leaves).root).toBe(sealed.merkleRoot);
      expect(payload).toMatchObject({ deliveryId: sealed.deliveryId, pseudonym, merkleRoot: sealed.merkleRoot });
      expect(payload.createdAt).toBe('2026-01-02T00:00:00.000Z');
      expect(sealed.elementCount).toBe(leaves.flat().length);
      expect(sealed.categories).toEqual(categoriesOfAll(entries.map((e) => bundle.entry[e.entryIndex]!.resource)));
      expect(sealed.segments.map((s) => s.entryIndex)).toEqual(entries.map((e) => e.entryIndex));
      sealed.segments.forEach((s, i) => {
        const delivered = payload.segments[i]!;
        expect(delivered.segmentId).toBe(s.segmentId);
        expect(delivered.sourceId).toBe(entries[i]!.sourceId);
        expect(s.coded).toEqual(delivered.elements.map((e) => e.element).filter((e) => e.kind === 'coded'));
      });
    }
  });

  it('passes a failure in a worker back to the caller', async () => {
    const body = readFileSync(join(SYNTHEA_DIR, syntheaFiles()[0]!));
    await expect(
      pool.seal(body, {
        entries: [{ entryIndex: 0, sourceId: 's0' }],
        pseudonym: 'pt' + 'a'.repeat(26),
        senderMspId: 'Hospital1MSP',
        createdAt: Date.now(),
        recipient: { algorithm: 'X25519', publicKey: 'not a key' },
      }),
    ).rejects.toThrow(/key/);
    // and the pool keeps working
    await expect(pool.check(body)).resolves.toHaveProperty('contentKey');
  });
});
