import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import {
  deriveRecoveryKeys,
  DeliveryTree,
  elementLeafHash,
  fabricX509Id,
  generateEncryptionKeyPair,
  identityKey,
  newRecoverySecret,
  openEnvelope,
  PATIENTS_MSP_ID,
  rotationPayload,
  signRotation,
  type DeliveryPayload,
  type EncryptionKeyPair,
  type PatientRecord,
  type SealedEnvelope,
} from '@phr/common';
import { forNewPatient, isPatientBundleFile, loadBundle, mrnOf, smallBundle, syntheaFiles } from '@phr/test-support';
import { HOSPITAL_MSP, type GatewayHarness, type OutcomeBody, type TestPatient } from '@phr/test-support/gateway';
import { readReceipt } from '../../src/ingest/bundle-response';

/** Helpers of the life-cycle integration tests (backup, rebuild, erasure). */

let linked = 0;

/** Links the patient to a fresh MRN (once) and delivers a small Synthea bundle; the delivery id. */
export async function deliver(h: GatewayHarness, patient: TestPatient, entries = 6): Promise<string> {
  const file = syntheaFiles().filter(isPatientBundleFile)[linked % 10]!;
  const bundle = forNewPatient(smallBundle(loadBundle(file), entries), `${patient.pseudonym}-${linked++}`);
  await h.link(patient, mrnOf(bundle));
  const res = await h.request(h.clients.ehr, 'POST', '/fhir', bundle, { 'content-type': 'application/fhir+json' });
  if (res.status !== 200) throw new Error(`delivery: ${res.status} ${res.text}`);
  const receipt = readReceipt(res.json);
  if (!receipt) throw new Error('no receipt');
  await h.gateway.outbox.idle();
  return receipt.deliveryId;
}

const asPatient = (patient: Pick<TestPatient, 'identity'>) => ({
  mspId: PATIENTS_MSP_ID,
  certificatePem: patient.identity.certificatePem,
});

export function readPatient(h: GatewayHarness, pseudonym: string): Promise<PatientRecord> {
  return h.ledger.readPatient(pseudonym) as Promise<PatientRecord>;
}

/** The patient's own key rotation (owner path): the new keys are returned and are the patient's from now on. */
export async function rotateKeys(h: GatewayHarness, patient: TestPatient): Promise<TestPatient> {
  const keys = generateEncryptionKeyPair('X25519');
  await h.ledger.world.call(
    h.ledger.registry,
    'RotateKeys',
    [patient.pseudonym, keys.publicKeyPem, 'X25519', ''],
    asPatient(patient),
  );
  return { ...patient, keys };
}

/**
 * A restore on a new device: a new identity at the patients' CA takes the pseudonym over with a
 * rotation signed by the recovery key (as `phr-agent restore` does), with new encryption keys.
 */
export async function restoreOnNewDevice(h: GatewayHarness, patient: TestPatient, name: string): Promise<TestPatient> {
  const recovery = deriveRecoveryKeys(newRecoverySecret());
  await h.ledger.world.call(
    h.ledger.registry,
    'SetRecoveryKey',
    [patient.pseudonym, recovery.publicKey],
    asPatient(patient),
  );
  const identity = await h.patientsCa.issue(name, { attrs: { 'phr.role': 'patient' } });
  const keys: EncryptionKeyPair = generateEncryptionKeyPair('X25519');
  const record = await readPatient(h, patient.pseudonym);
  const payload = rotationPayload({
    pseudonym: patient.pseudonym,
    newOwner: identityKey(PATIENTS_MSP_ID, fabricX509Id(identity.certificatePem)),
    encryptionPublicKey: keys.publicKeyPem,
    encryptionAlgorithm: 'X25519',
    keyVersion: record.keyVersion,
  });
  await h.ledger.world.call(
    h.ledger.registry,
    'RotateKeys',
    [patient.pseudonym, keys.publicKeyPem, 'X25519', signRotation(payload, recovery.signingKey)],
    asPatient({ identity }),
  );
  return { pseudonym: patient.pseudonym, identity, keys };
}

/** Opens a mailbox message with the patient's (current) key, as the agent does, checking its context. */
export function openMail(patient: TestPatient, body: string, deliveryId: string): DeliveryPayload {
  const plain = openEnvelope(JSON.parse(body) as SealedEnvelope, patient.keys.privateKeyPem, {
    deliveryId,
    pseudonym: patient.pseudonym,
    sender: HOSPITAL_MSP,
  });
  return JSON.parse(plain.toString('utf8')) as DeliveryPayload;
}

/** The Merkle root of a delivery payload, from its elements and salts (what the agent verifies). */
export function rootOf(payload: DeliveryPayload): string {
  return new DeliveryTree(payload.segments.map((s) => s.elements.map((e) => elementLeafHash(e.element, e.salt)))).root;
}

/** A second connection to the gateway's SQLite file, as an operator (or a thief of the file) would read it. */
export function openGatewayDb(h: GatewayHarness): DatabaseSync {
  const db = new DatabaseSync(join(h.config.dataDir, 'gateway.db'));
  db.exec('PRAGMA busy_timeout = 5000');
  return db;
}

/** The answer is an OperationOutcome with an error issue (every life-cycle refusal is). */
export function isOutcome(json: unknown): boolean {
  const o = json as OutcomeBody | undefined;
  return o?.resourceType === 'OperationOutcome' && o.issue.length > 0 && o.issue[0]?.severity === 'error';
}
