import { Info, Returns, Transaction } from 'fabric-contract-api';
import { canonicalJson, ENCRYPTION_ALGORITHMS, Roles, type PatientRecord } from '@phr/common';
import { PhrContext } from './context';
import { conflict, forbidden, invalidArgument, notFound } from './errors';
import { Keys } from './keys';
import { PhrContract, type AccessRules } from './phr-contract';
import { requireOneOf, requirePseudonym } from './validate';

const ALL = Object.values(Roles);

/** Patients' random pseudonyms mapped to their public keys (seed 000: the doorman's registry). */
@Info({ title: 'PatientRegistry', description: 'Patient pseudonyms and their public keys' })
export class PatientRegistryContract extends PhrContract {
  protected readonly rules: AccessRules = {
    Register: [Roles.Patient],
    RotateKeys: [Roles.Patient],
    ReadPatient: ALL,
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
   * Replaces the encryption key and records the caller's current signing certificate. A re-enrolled
   * identity keeps its subject, so the owner check still holds after a signing-key rotation.
   */
  @Transaction()
  @Returns('string')
  async RotateKeys(
    ctx: PhrContext,
    pseudonym: string,
    encryptionPublicKey: string,
    encryptionAlgorithm: string,
  ): Promise<string> {
    requirePseudonym(pseudonym);
    const algorithm = requireOneOf(encryptionAlgorithm, ENCRYPTION_ALGORITHMS, 'encryptionAlgorithm');
    checkPublicKey(encryptionPublicKey);
    const record = await this.get(ctx, pseudonym);
    if (record.owner !== ctx.caller.id) throw forbidden('only the patient may rotate their keys');
    const updated: PatientRecord = {
      ...record,
      encryptionPublicKey,
      encryptionAlgorithm: algorithm,
      signingCertificate: ctx.caller.certificatePem,
      keyVersion: record.keyVersion + 1,
      updatedAt: ctx.now,
    };
    await ctx.state.put(Keys.patient(pseudonym), updated);
    ctx.stub.setEvent('PatientKeysRotated', Buffer.from(canonicalJson({ pseudonym, keyVersion: updated.keyVersion })));
    return canonicalJson(updated);
  }

  @Transaction(false)
  @Returns('string')
  async ReadPatient(ctx: PhrContext, pseudonym: string): Promise<string> {
    return canonicalJson(await this.get(ctx, requirePseudonym(pseudonym)));
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

/** The pseudonym owned by the caller, or a FORBIDDEN error: the only way patient-side functions find "their" patient. */
export async function callerPseudonym(ctx: PhrContext): Promise<string> {
  const pseudonym = await ctx.state.get<string>(Keys.patientOwner(ctx.caller.id));
  if (!pseudonym) throw forbidden('the caller is not a registered patient');
  return pseudonym;
}

export async function requirePatient(ctx: PhrContext, pseudonym: string): Promise<PatientRecord> {
  const record = await ctx.state.get<PatientRecord>(Keys.patient(pseudonym));
  if (!record) throw notFound(`patient ${pseudonym} is not registered`);
  return record;
}

/**
 * The patient record, for callers allowed to see it: staff roles pass (their rule tables already
 * admitted them); a patient caller must own the pseudonym, or is refused with `refusal`.
 */
export async function requirePatientFor(ctx: PhrContext, pseudonym: string, refusal: string): Promise<PatientRecord> {
  const record = await requirePatient(ctx, pseudonym);
  if (ctx.caller.role === Roles.Patient && record.owner !== ctx.caller.id) throw forbidden(refusal);
  return record;
}
