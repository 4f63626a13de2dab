import { Info, Returns, Transaction } from 'fabric-contract-api';
import {
  canonicalJson,
  ENCRYPTION_ALGORITHMS,
  isRecoveryPublicKey,
  PATIENT_ERASED_EVENT,
  PATIENT_KEYS_ROTATED_EVENT,
  Roles,
  rotationPayload,
  verifyRotation,
  type PatientErasedPayload,
  type PatientRecord,
} from '@phr/common';
import { revokeActiveConsents } from './consent';
import { PhrContext } from './context';
import { conflict, forbidden, invalidArgument, notFound } from './errors';
import { Keys } from './keys';
import { requireNotErased, requirePatient } from './patients';
import { PhrContract, type AccessRules } from './phr-contract';
import { parseJson, requireOneOf, requirePseudonym } from './validate';

const ALL = Object.values(Roles);
const MAX_GUARDIANS = 10;

/** Patients' random pseudonyms mapped to their public keys (seed 000: the doorman's registry). */
@Info({ title: 'PatientRegistry', description: 'Patient pseudonyms and their public keys' })
export class PatientRegistryContract extends PhrContract {
  protected readonly rules: AccessRules = {
    Register: [Roles.Patient],
    RotateKeys: [Roles.Patient],
    SetRecoveryKey: [Roles.Patient],
    SetGuardians: [Roles.Patient],
    Erase: [Roles.Patient],
    ReadPatient: ALL,
    IsGuardian: [Roles.HospitalGateway, Roles.Patient],
    WhoAmI: ALL,
  };

  constructor() {
    super('PatientRegistry');
  }

  /** The caller registers itself; its certificate becomes the pseudonym's owner. */
  @Transaction()
  @Returns('string')
  async Register(
    ctx: PhrContext,
    pseudonym: string,
    encryptionPublicKey: string,
    encryptionAlgorithm: string,
  ): Promise<string> {
    requirePseudonym(pseudonym);
    const algorithm = requireOneOf(encryptionAlgorithm, ENCRYPTION_ALGORITHMS, 'encryptionAlgorithm');
    checkPublicKey(encryptionPublicKey);
    const caller = ctx.caller;
    const existing = await ctx.state.get<PatientRecord>(Keys.patient(pseudonym));
    if (existing) {
      // A retried registration by the same owner with the same key is answered, not refused.
      if (existing.owner === caller.id && existing.encryptionPublicKey === encryptionPublicKey)
        return canonicalJson(existing);
      throw conflict(`pseudonym ${pseudonym} is already registered`);
    }
    const owned = await ctx.state.get<string>(Keys.patientOwner(caller.id));
    if (owned) throw conflict(`this identity is already registered as ${owned}`);

    const now = ctx.now;
    const record: PatientRecord = {
      docType: 'patient',
      pseudonym,
      owner: caller.id,
      encryptionPublicKey,
      encryptionAlgorithm: algorithm,
      signingCertificate: caller.certificatePem,
      keyVersion: 1,
      registeredAt: now,
      updatedAt: now,
    };
    await ctx.state.put(Keys.patient(pseudonym), record);
    await ctx.state.put(Keys.patientOwner(caller.id), pseudonym);
    ctx.stub.setEvent('PatientRegistered', Buffer.from(canonicalJson({ pseudonym })));
    return canonicalJson(record);
  }

  /**
   * Replaces the encryption key and records the caller's current signing certificate.
   *
   * With no `recoverySignature` only the owner may do it; a re-enrolled identity keeps its subject,
   * so the owner check still holds after a signing-key rotation. With one, a new device takes the
   * pseudonym over (restore, recovery): the signature by the patient's registered recovery key
   * (recovery-secret.ts) over this very rotation — the caller as new owner, the new key, and the
   * record's current keyVersion, so a signature is good for one rotation only — is what
   * authorizes it, and the owner index moves to the caller.
   */
  @Transaction()
  @Returns('string')
  async RotateKeys(
    ctx: PhrContext,
    pseudonym: string,
    encryptionPublicKey: string,
    encryptionAlgorithm: string,
    recoverySignature: string,
  ): Promise<string> {
    requirePseudonym(pseudonym);
    const algorithm = requireOneOf(encryptionAlgorithm, ENCRYPTION_ALGORITHMS, 'encryptionAlgorithm');
    checkPublicKey(encryptionPublicKey);
    const signature = recoverySignature ?? '';
    if (typeof signature !== 'string' || signature.length > 512) {
      throw invalidArgument('recoverySignature must be empty or a base64 Ed25519 signature');
    }
    const record = requireNotErased(await this.get(ctx, pseudonym));
    const caller = ctx.caller;
    let owner = record.owner;
    if (signature === '') {
      if (record.owner !== caller.id) throw forbidden('only the patient may rotate their keys');
    } else if (
      record.owner === caller.id &&
      record.encryptionPublicKey === encryptionPublicKey &&
      record.encryptionAlgorithm === algorithm
    ) {
      // A recovery rotation retried after it committed: the signature was for the previous keyVersion.
      return canonicalJson(record);
    } else {
      const owned = await ctx.state.get<string>(Keys.patientOwner(caller.id));
      if (owned !== undefined && owned !== pseudonym) {
        throw conflict(`this identity is already registered as ${owned}`);
      }
      if (record.recoveryPublicKey === undefined) {
        throw forbidden(`patient ${pseudonym} has no recovery key registered`);
      }
      const payload = rotationPayload({
        pseudonym,
        newOwner: caller.id,
        encryptionPublicKey,
        encryptionAlgorithm: algorithm,
        keyVersion: record.keyVersion,
      });
      if (!verifyRotation(payload, signature, record.recoveryPublicKey)) {
        throw forbidden(
          `the rotation is not signed by the recovery key of patient ${pseudonym} for key version ${record.keyVersion}`,
        );
      }
      owner = caller.id;
    }
    const updated: PatientRecord = {
      ...record,
      owner,
      encryptionPublicKey,
      encryptionAlgorithm: algorithm,
      signingCertificate: caller.certificatePem,
      keyVersion: record.keyVersion + 1,
      updatedAt: ctx.now,
    };
    await ctx.state.put(Keys.patient(pseudonym), updated);
    if (owner !== record.owner) {
      // The old device's identity owns nothing any more: it can no longer act as this patient.
      await ctx.state.delete(Keys.patientOwner(record.owner));
      await ctx.state.put(Keys.patientOwner(owner), pseudonym);
    }
    ctx.stub.setEvent(
      PATIENT_KEYS_ROTATED_EVENT,
      Buffer.from(canonicalJson({ pseudonym, keyVersion: updated.keyVersion })),
    );
    return canonicalJson(updated);
  }

  /** The owner registers (or replaces) the public key of their recovery secret. */
  @Transaction()
  @Returns('string')
  async SetRecoveryKey(ctx: PhrContext, pseudonym: string, recoveryPublicKey: string): Promise<string> {
    requirePseudonym(pseudonym);
    if (!isRecoveryPublicKey(recoveryPublicKey)) {
      throw invalidArgument('recoveryPublicKey must be an Ed25519 SPKI public key in base64');
    }
    const record = await this.owned(ctx, pseudonym, 'only the patient may set their recovery key');
    if (record.recoveryPublicKey === recoveryPublicKey) return canonicalJson(record);
    const updated: PatientRecord = { ...record, recoveryPublicKey, updatedAt: ctx.now };
    await ctx.state.put(Keys.patient(pseudonym), updated);
    ctx.stub.setEvent('PatientRecoveryKeySet', Buffer.from(canonicalJson({ pseudonym })));
    return canonicalJson(updated);
  }

  /**
   * The owner names the patients who hold shares of their recovery secret (0 to 10 registered
   * pseudonyms, not their own); an empty list removes them. They may then log `recovery` events on
   * this patient (AccessLog), so the patient sees each approval.
   */
  @Transaction()
  @Returns('string')
  async SetGuardians(ctx: PhrContext, pseudonym: string, guardiansJson: string): Promise<string> {
    requirePseudonym(pseudonym);
    const raw = parseJson<unknown>(guardiansJson, 'guardians');
    if (!Array.isArray(raw) || raw.length > MAX_GUARDIANS || !raw.every((g) => typeof g === 'string')) {
      throw invalidArgument(`guardians must be an array of at most ${MAX_GUARDIANS} pseudonyms`);
    }
    const guardians = [...new Set(raw.map((g) => requirePseudonym(g)))].sort();
    if (guardians.includes(pseudonym)) throw invalidArgument('a patient cannot be their own guardian');
    const record = await this.owned(ctx, pseudonym, 'only the patient may name their guardians');
    for (const guardian of guardians) {
      requireNotErased(await requirePatient(ctx, guardian));
    }
    if (canonicalJson(record.guardians ?? []) === canonicalJson(guardians)) return canonicalJson(record);
    const updated: PatientRecord = {
      ...without(record, 'guardians'),
      ...(guardians.length > 0 ? { guardians } : {}),
      updatedAt: ctx.now,
    };
    await ctx.state.put(Keys.patient(pseudonym), updated);
    ctx.stub.setEvent('PatientGuardiansSet', Buffer.from(canonicalJson({ pseudonym, guardians: guardians.length })));
    return canonicalJson(updated);
  }

  /**
   * The owner erases the record (GDPR Art. 17, by crypto-shredding off the ledger): the record is
   * marked erased, its guardians and recovery key are removed and every consent still standing is
   * revoked in this same transaction, so no hospital is covered by a consent of an erased patient
   * even for a block. The record stays (the ledger cannot forget), linked to nothing readable.
   */
  @Transaction()
  @Returns('string')
  async Erase(ctx: PhrContext, pseudonym: string): Promise<string> {
    requirePseudonym(pseudonym);
    const record = await this.get(ctx, pseudonym);
    if (record.owner !== ctx.caller.id) throw forbidden('only the patient may erase their record');
    if (record.erasedAt !== undefined) return canonicalJson(record); // a retried erasure
    const erasedAt = ctx.now;
    const updated: PatientRecord = {
      ...without(record, 'guardians', 'recoveryPublicKey'),
      erasedAt,
      updatedAt: erasedAt,
    };
    const revokedConsents = await revokeActiveConsents(ctx, pseudonym);
    await ctx.state.put(Keys.patient(pseudonym), updated);
    // Study consents stay out of the event as they do out of consent events: no gateway cache
    // needs them, and the event would tell every channel member which studies the patient was in.
    const event: PatientErasedPayload = {
      pseudonym,
      erasedAt,
      revokedConsents: revokedConsents.filter((c) => c.grantee.kind !== 'study'),
    };
    ctx.stub.setEvent(PATIENT_ERASED_EVENT, Buffer.from(canonicalJson(event)));
    return canonicalJson(updated);
  }

  /**
   * The patient's record. Who guards whom is the patient's own business: `guardians` is shown to
   * the owner and to the guardians themselves (a guardian checks it still is one before it
   * approves), and left out for every other caller; a gateway asks `IsGuardian` instead.
   */
  @Transaction(false)
  @Returns('string')
  async ReadPatient(ctx: PhrContext, pseudonym: string): Promise<string> {
    const record = await this.get(ctx, requirePseudonym(pseudonym));
    if (record.guardians === undefined || (await this.mayKnowGuardians(ctx, record))) return canonicalJson(record);
    return canonicalJson(without(record, 'guardians'));
  }

  /**
   * Whether `candidate` is among the patient's guardians, without naming the others: for a
   * hospital gateway that takes a guardian's recovery approval, and for the patient. A patient
   * may ask only about their own record, so nobody learns another patient's guardians by probing.
   */
  @Transaction(false)
  @Returns('string')
  async IsGuardian(ctx: PhrContext, pseudonym: string, candidatePseudonym: string): Promise<string> {
    requirePseudonym(pseudonym);
    requirePseudonym(candidatePseudonym);
    const record = await this.get(ctx, pseudonym);
    if (ctx.caller.role === Roles.Patient && record.owner !== ctx.caller.id) {
      throw forbidden('a patient may only ask about their own guardians');
    }
    return canonicalJson((record.guardians ?? []).includes(candidatePseudonym));
  }

  /** The caller as the ledger sees it, with its pseudonym when it is a registered patient. */
  @Transaction(false)
  @Returns('string')
  async WhoAmI(ctx: PhrContext): Promise<string> {
    const caller = ctx.caller;
    const pseudonym =
      caller.role === Roles.Patient ? await ctx.state.get<string>(Keys.patientOwner(caller.id)) : undefined;
    return canonicalJson({ ...caller.ref, emergency: caller.emergency, ...(pseudonym ? { pseudonym } : {}) });
  }

  private async get(ctx: PhrContext, pseudonym: string): Promise<PatientRecord> {
    const record = await ctx.state.get<PatientRecord>(Keys.patient(pseudonym));
    if (!record) throw notFound(`patient ${pseudonym} is not registered`);
    return record;
  }

  /** The owner, or a patient whose own pseudonym the record names among its guardians. */
  private async mayKnowGuardians(ctx: PhrContext, record: PatientRecord): Promise<boolean> {
    const caller = ctx.caller;
    if (record.owner === caller.id) return true;
    if (caller.role !== Roles.Patient) return false;
    const own = await ctx.state.get<string>(Keys.patientOwner(caller.id));
    return own !== undefined && (record.guardians ?? []).includes(own);
  }

  /** The record, if the caller owns it and it is not erased. */
  private async owned(ctx: PhrContext, pseudonym: string, refusal: string): Promise<PatientRecord> {
    const record = await this.get(ctx, pseudonym);
    if (record.owner !== ctx.caller.id) throw forbidden(refusal);
    return requireNotErased(record);
  }
}

/** A copy of the record without the optional fields named (absent, not undefined: state is canonical JSON). */
function without(record: PatientRecord, ...fields: ('guardians' | 'recoveryPublicKey')[]): PatientRecord {
  const copy: PatientRecord = { ...record };
  for (const field of fields) delete copy[field];
  return copy;
}

function checkPublicKey(key: string): void {
  if (
    typeof key !== 'string' ||
    key.length < 32 ||
    key.length > 4096 ||
    !/^[A-Za-z0-9+/=\-\s:_.]+$/.test(key.replace(/-----[A-Z ]+-----/g, ''))
  ) {
    throw invalidArgument('encryptionPublicKey must be a PEM or base64 public key');
  }
}
