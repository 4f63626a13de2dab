import { generateKeyPairSync, randomUUID, X509Certificate } from 'node:crypto';
import {
  EnvelopeError,
  fabricX509Id,
  identityKey,
  openEnvelope,
  RECOVERY_REQUEST_KIND,
  seal,
  verifyEnvelope,
  type PatientRecord,
  type RecoveryApproval,
} from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import { defaultConnectors, type AgentConnectors, type AgentIdentity } from '../connectors';
import { AgentHome } from '../home/agent-home';
import { openKeystore, readKeystore } from '../keys/keystore';
import type { AgentLedger } from '../ledger/agent-ledger';
import { enrollNewDevice, takeOverPseudonym, type DeviceEnrollmentOptions } from '../lifecycle/device-takeover';
import { restoreWithSecret, type BackupLocation, type RestoreReport } from '../lifecycle/restore';
import { silentLogger, type Logger } from '../logger';
import { hospitalByName, loadProfile, type NetworkProfile } from '../profile/network-profile';
import { TransportError } from '../transport/transport-error';
import { chooseHospital } from './recovery-deps';
import { RecoveryError } from './recovery-error';
import { checkGuardians } from './recovery-setup';
import {
  parsePayload,
  recoveryApprovalAad,
  RecoveryApprovalPayloadSchema,
  recoveryCheckCode,
  recoveryRequestAad,
  type RecoveryRequestPayload,
} from './recovery-messages';
import {
  hasPendingRecovery,
  readPendingRecovery,
  removePendingRecovery,
  writePendingRecovery,
  type PendingRecovery,
} from './pending-recovery';
import { httpsRecoveryTransport, type RecoveryTransport, type RecoveryTransportFactory } from './recovery-transport';
import { rebuildSecret } from './rebuild-secret';
import { readPaperCode } from './shares';

/**
 * The new device's side of a recovery with guardians (issue 15 item 4).
 *
 * `recovery start`: the device is made and enrolled as for a restore (its own keys, its own CSR at
 * the doorman, nothing on the ledger yet), opens a request at a gateway with a one-time X25519
 * key, and mails each guardian the patient names a request sealed to that guardian, with a check
 * code the patient tells the guardians. The ledger does not tell the device who the guardians
 * are (it shows them only to the patient's own identity and to the guardians, and the device is
 * neither yet): the patient names them, from the list the setup printed.
 *
 * `recovery finish`: the guardians' approvals are fetched and checked (each signed by the
 * guardian's registered identity, sealed to this request), paper codes read, and the shares
 * combined — only a combination whose derived public key is the ledger's `recoveryPublicKey`
 * counts. Then the pseudonym moves to this device and, when a backup is named, it is restored,
 * exactly as `phr-agent restore` does. Fewer shares than needed, or shares that rebuild another
 * secret, are refused before anything changes; the request stays open for more approvals.
 */

export interface StartOptions extends DeviceEnrollmentOptions {
  /**
   * The patient's guardians (their pseudonyms, as `recovery setup` printed them): each is sent the
   * request. None: no request is opened, and the recovery finishes with paper codes alone. Run
   * `start` again with more to ask them too, under the same request.
   */
  guardians?: readonly string[];
  /** The hospital whose gateway takes the request; the first in the profile when absent. */
  hospital?: string;
  recoveryTransport?: RecoveryTransportFactory;
  now?: () => Date;
}

export interface GuardianContact {
  guardian: string;
  /** The request reached the guardian's mailbox; when not, why. */
  sent: boolean;
  reason?: string;
}

export interface StartedRecovery {
  pseudonym: string;
  /** Absent when no guardian was named: finish with paper codes alone. */
  requestId?: string;
  checkCode?: string;
  hospital?: string;
  expiresAt?: string;
  guardians: GuardianContact[];
}

/**
 * @throws RecoveryError NOT_SET_UP (no recovery key, or erased), UNKNOWN_GUARDIAN... as named;
 * TakeoverError from the enrollment (home in use); the ledger's, doorman's or gateway's error.
 */
export async function startRecovery(o: StartOptions): Promise<StartedRecovery> {
  const connectors = o.connectors ?? defaultConnectors;
  const log = o.log ?? silentLogger;
  const now = o.now ?? (() => new Date());
  // Before the enrollment: a mistyped guardian must not cost the one-time enrollment secret.
  const guardians = checkGuardians(o.pseudonym, o.guardians ?? []).sort();
  const device = await enrollNewDevice({ ...o, connectors, log });
  const ledger = connectors.ledger(o.profile, device.identity);
  const transports = transportCache(o.recoveryTransport ?? httpsRecoveryTransport, device.identity, o.profile);
  try {
    // Registered, not erased, with a recovery key: else nothing could be recovered.
    await patientRecord(ledger, o.pseudonym);

    let pending: PendingRecovery;
    let ephemeralPrivateKeyPem: string | undefined;
    const earlier = hasPendingRecovery(o.home) ? readPendingRecovery(o.home, device.secrets.vaultKeys) : undefined;
    if (
      earlier &&
      earlier.pending.pseudonym === o.pseudonym &&
      stillOpen(earlier.pending, now()) &&
      (earlier.pending.request !== undefined || guardians.length === 0)
    ) {
      // Run again (an interrupted start, a guardian's mailbox that was away, a guardian forgotten):
      // the same request, sent to every guardian named then and now.
      ({ pending, ephemeralPrivateKeyPem } = earlier);
      const added = guardians.filter((g) => !pending.guardians.includes(g));
      if (added.length > 0) pending = { ...pending, guardians: [...pending.guardians, ...added].sort() };
    } else if (guardians.length === 0) {
      pending = { v: 1, pseudonym: o.pseudonym, guardians: [], createdAt: now().toISOString() };
      writePendingRecovery(o.home, pending, device.secrets.vaultKeys);
    } else {
      const hospital = chooseHospital(o.profile, o.hospital);
      const key = generateKeyPairSync('x25519');
      const ephemeralPublicKey = key.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
      ephemeralPrivateKeyPem = key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const requestId = `rq-${randomUUID()}`;
      pending = {
        v: 1,
        pseudonym: o.pseudonym,
        guardians: [...guardians],
        createdAt: now().toISOString(),
        request: {
          requestId,
          hospital: hospital.name,
          ephemeralPublicKey,
          checkCode: recoveryCheckCode(requestId, ephemeralPublicKey),
          // Until the gateway answers with its own expiry.
          expiresAt: '',
        },
      };
      // The key is kept before the request exists: a start interrupted after opening it resumes it.
      writePendingRecovery(o.home, pending, device.secrets.vaultKeys, ephemeralPrivateKeyPem);
    }

    const request = pending.request;
    if (!request) return { pseudonym: o.pseudonym, guardians: [] };
    const hospital = hospitalByName(o.profile, request.hospital);
    const opened = await transports(hospital.name).openRequest({
      requestId: request.requestId,
      pseudonym: o.pseudonym,
      ephemeralPublicKey: request.ephemeralPublicKey,
    });
    pending = { ...pending, request: { ...request, expiresAt: opened.expiresAt } };
    writePendingRecovery(o.home, pending, device.secrets.vaultKeys, ephemeralPrivateKeyPem);

    const contacts: GuardianContact[] = [];
    for (const guardian of pending.guardians) {
      try {
        const g = await ledger.readPatient(guardian);
        const payload: RecoveryRequestPayload = {
          v: 1,
          requestId: request.requestId,
          pseudonym: o.pseudonym,
          guardian,
          ephemeralPublicKey: request.ephemeralPublicKey,
          hospital: hospital.mspId,
          requestedAt: opened.createdAt,
          expiresAt: opened.expiresAt,
        };
        const envelope = seal(
          Buffer.from(JSON.stringify(payload), 'utf8'),
          { algorithm: g.encryptionAlgorithm, publicKey: g.encryptionPublicKey },
          recoveryRequestAad({ requestId: request.requestId, pseudonym: o.pseudonym, guardian }),
          device.identity,
        );
        await transports(hospital.name).relay(guardian, {
          messageId: `${request.requestId}-${guardian}`,
          kind: RECOVERY_REQUEST_KIND,
          envelope,
        });
        contacts.push({ guardian, sent: true });
      } catch (err) {
        if (!(err instanceof TransportError || err instanceof LedgerError || err instanceof EnvelopeError)) throw err;
        log.warn({ guardian, err: err.message }, 'recovery request not sent to a guardian');
        contacts.push({ guardian, sent: false, reason: err.message });
      }
    }
    log.info({ pseudonym: o.pseudonym, requestId: request.requestId }, 'recovery started');
    return {
      pseudonym: o.pseudonym,
      requestId: request.requestId,
      checkCode: request.checkCode,
      hospital: hospital.name,
      expiresAt: opened.expiresAt,
      guardians: contacts,
    };
  } finally {
    ledger.close();
    await transports.close();
  }
}

export interface FinishOptions {
  home: string;
  passphrase: string;
  /** Paper codes (PHRS-…) as typed. */
  paperCodes?: readonly string[];
  /** The backup to restore once the pseudonym is this device's; without one, only the takeover. */
  source?: BackupLocation;
  allowIncomplete?: boolean;
  connectors?: AgentConnectors;
  recoveryTransport?: RecoveryTransportFactory;
  log?: Logger;
}

export interface ShareSource {
  kind: 'guardian' | 'paper';
  /** The guardian's pseudonym, or `paper code N`. */
  from: string;
}

export interface FinishedRecovery {
  pseudonym: string;
  /** Where the shares at hand came from (the rebuilt secret used some or all of them). */
  shares: ShareSource[];
  /** Approvals that did not check out, and why. */
  refused: { guardian: string; reason: string }[];
  record: PatientRecord;
  /** When a backup was named. */
  restore?: RestoreReport;
}

/**
 * @throws RecoveryError UNKNOWN_REQUEST (no recovery started here), EXPIRED (start again),
 * TOO_FEW_SHARES, WRONG_SHARES; RecoveryCodeError naming a mistyped paper code; KeystoreError
 * for a wrong passphrase; then as `takeOverPseudonym` and `restoreWithSecret`.
 */
export async function finishRecovery(o: FinishOptions): Promise<FinishedRecovery> {
  const connectors = o.connectors ?? defaultConnectors;
  const log = o.log ?? silentLogger;
  const home = new AgentHome(o.home);
  const state = home.readState();
  if (state.origin !== 'restore' || !state.certificatePem || !state.pseudonym) {
    throw new RecoveryError(
      'UNKNOWN_REQUEST',
      `no recovery is under way in ${home.dir}; run \`phr-agent recovery start\` first`,
    );
  }
  const secrets = openKeystore(readKeystore(home.keystoreFile), o.passphrase);
  const { pending, ephemeralPrivateKeyPem } = readPendingRecovery(home.dir, secrets.vaultKeys);
  const paper = (o.paperCodes ?? []).map((code, i) => {
    try {
      return readPaperCode(code);
    } catch (err) {
      (err as Error).message = `paper code ${i + 1}: ${(err as Error).message}`;
      throw err;
    }
  });
  const profile = loadProfile(home.profileFile);
  const identity: AgentIdentity = {
    mspId: state.mspId,
    certificatePem: state.certificatePem,
    privateKeyPem: secrets.signingPrivateKeyPem,
    id: identityKey(state.mspId, fabricX509Id(state.certificatePem)),
  };
  const ledger = connectors.ledger(profile, identity);
  const transports = transportCache(o.recoveryTransport ?? httpsRecoveryTransport, identity, profile);
  try {
    const record = await patientRecord(ledger, pending.pseudonym);
    let secret: Buffer;
    const sources: ShareSource[] = paper.map((_, i) => ({ kind: 'paper', from: `paper code ${i + 1}` }));
    const refused: FinishedRecovery['refused'] = [];
    if (record.owner === identity.id && secrets.recoverySecret) {
      // Finished before, up to the takeover (a restore that failed after it): go on from there.
      secret = Buffer.from(secrets.recoverySecret);
    } else {
      if (!record.recoveryPublicKey) {
        throw new RecoveryError('NOT_SET_UP', `${pending.pseudonym} has no recovery key on the ledger`);
      }
      const fromGuardians = pending.request
        ? await approvedShares(ledger, pending, ephemeralPrivateKeyPem, transports(pending.request.hospital))
        : { shares: [], threshold: undefined, refused: [] };
      refused.push(...fromGuardians.refused);
      sources.unshift(...fromGuardians.shares.map((s) => ({ kind: 'guardian' as const, from: s.guardian })));
      const all = [...fromGuardians.shares.map((s) => s.share), ...paper];
      const threshold = fromGuardians.threshold;
      if (all.length < 2 || (threshold !== undefined && all.length < threshold)) {
        throw new RecoveryError('TOO_FEW_SHARES', tooFew(all.length, threshold, sources, refused, pending));
      }
      const rebuilt = await rebuildSecret(all, record.recoveryPublicKey);
      if (!rebuilt) {
        throw new RecoveryError(
          'WRONG_SHARES',
          `the ${all.length} shares at hand (${describe(sources)}) do not rebuild the recovery secret registered for ` +
            `${pending.pseudonym}: fewer than the threshold of one setup, or a paper code from another setup. ` +
            'Nothing was changed; ask another guardian to approve or give another paper code.',
        );
      }
      secret = rebuilt;
    }

    let restore: RestoreReport | undefined;
    try {
      if (o.source) {
        restore = await restoreWithSecret({
          home: home.dir,
          profile,
          passphrase: o.passphrase,
          enrollmentId: state.enrollmentId,
          // Enrolled at `recovery start`: the doorman is not asked again.
          enrollmentSecret: '',
          pseudonym: pending.pseudonym,
          recoverySecret: secret,
          source: o.source,
          ...(o.allowIncomplete !== undefined ? { allowIncomplete: o.allowIncomplete } : {}),
          connectors,
          log,
        });
      } else {
        await takeOverPseudonym({ home: home.dir, passphrase: o.passphrase, recoverySecret: secret, connectors, log });
      }
    } finally {
      secret.fill(0);
    }
    const now = await ledger.readPatient(pending.pseudonym);
    await ledger.recordAccess({
      eventId: randomUUID(),
      pseudonym: pending.pseudonym,
      action: 'recovery',
      outcome: 'success',
      references: pending.request ? [pending.request.requestId] : [],
    });
    removePendingRecovery(home.dir);
    log.info({ pseudonym: pending.pseudonym }, 'recovered with guardians');
    return { pseudonym: pending.pseudonym, shares: sources, refused, record: now, ...(restore ? { restore } : {}) };
  } finally {
    ledger.close();
    await transports.close();
  }
}

/** The guardians' approvals, each checked; those that fail a check are named, not used. */
async function approvedShares(
  ledger: AgentLedger,
  pending: PendingRecovery,
  ephemeralPrivateKeyPem: string | undefined,
  transport: RecoveryTransport,
): Promise<{
  shares: { guardian: string; share: Buffer }[];
  threshold?: number;
  refused: { guardian: string; reason: string }[];
}> {
  const request = pending.request as NonNullable<PendingRecovery['request']>;
  if (!ephemeralPrivateKeyPem)
    throw new RecoveryError('UNKNOWN_REQUEST', 'the pending recovery has no key to open approvals with');
  let approvals: RecoveryApproval[];
  try {
    approvals = (await transport.approvals(request.requestId)).approvals;
  } catch (err) {
    if (err instanceof TransportError && err.status === 410) {
      throw new RecoveryError(
        'EXPIRED',
        `recovery request ${request.requestId} expired; run \`phr-agent recovery start\` again for a new one`,
        { cause: err },
      );
    }
    throw err;
  }
  const shares: { guardian: string; share: Buffer }[] = [];
  const refused: { guardian: string; reason: string }[] = [];
  let threshold: number | undefined;
  for (const approval of approvals) {
    try {
      // The gateway took it only from a guardian the ledger confirmed; this device asked only these.
      if (!pending.guardians.includes(approval.guardian)) throw new Error('not among the guardians this device asked');
      const guardian = await ledger.readPatient(approval.guardian);
      const verified = verifyEnvelope(approval.envelope);
      if (!sameCertificate(verified.senderCertificate, guardian.signingCertificate)) {
        throw new Error("not signed by the guardian's registered identity");
      }
      const payload = parsePayload(
        RecoveryApprovalPayloadSchema,
        openEnvelope(
          verified,
          ephemeralPrivateKeyPem,
          recoveryApprovalAad({
            requestId: request.requestId,
            pseudonym: pending.pseudonym,
            guardian: approval.guardian,
          }),
        ),
        'the approval',
      );
      if (payload.guardian !== approval.guardian || payload.pseudonym !== pending.pseudonym) {
        throw new Error('the approval does not match its envelope');
      }
      shares.push({ guardian: approval.guardian, share: Buffer.from(payload.share, 'base64') });
      threshold = Math.max(threshold ?? 0, payload.threshold);
    } catch (err) {
      refused.push({ guardian: approval.guardian, reason: (err as Error).message });
    }
  }
  return { shares, ...(threshold !== undefined ? { threshold } : {}), refused };
}

function tooFew(
  have: number,
  threshold: number | undefined,
  sources: readonly ShareSource[],
  refused: readonly { guardian: string; reason: string }[],
  pending: PendingRecovery,
): string {
  const needed = threshold !== undefined ? `the ${threshold} needed` : 'at least 2 needed';
  const waiting = pending.guardians.filter((g) => !sources.some((s) => s.from === g));
  return (
    `${have} share${have === 1 ? '' : 's'} of ${needed}${have > 0 ? ` (${describe(sources)})` : ''}: one share alone, ` +
    'or fewer than the threshold, tells nothing about the secret. Nothing was changed.' +
    (refused.length > 0 ? ` Not usable: ${refused.map((r) => `${r.guardian} (${r.reason})`).join('; ')}.` : '') +
    (waiting.length > 0 && pending.request
      ? ` Waiting for: ${waiting.join(', ')} (check code ${pending.request.checkCode}).`
      : '') +
    ' Run `phr-agent recovery finish` again once more guardians approved, or add --paper CODE.'
  );
}

function describe(sources: readonly ShareSource[]): string {
  return sources.map((s) => (s.kind === 'guardian' ? `guardian ${s.from}` : s.from)).join(', ');
}

/** A request not opened yet (no expiry known) is resumed too. */
function stillOpen(pending: PendingRecovery, now: Date): boolean {
  const expiresAt = pending.request?.expiresAt;
  return !expiresAt || Date.parse(expiresAt) > now.getTime();
}

async function patientRecord(ledger: AgentLedger, pseudonym: string): Promise<PatientRecord> {
  let record: PatientRecord;
  try {
    record = await ledger.readPatient(pseudonym);
  } catch (err) {
    if (err instanceof LedgerError && err.code === 'NOT_FOUND') {
      throw new RecoveryError('NOT_SET_UP', `${pseudonym} is not registered on the ledger`, { cause: err });
    }
    throw err;
  }
  if (record.erasedAt) throw new RecoveryError('NOT_SET_UP', `${pseudonym} was erased on ${record.erasedAt}`);
  if (!record.recoveryPublicKey) {
    throw new RecoveryError(
      'NOT_SET_UP',
      `${pseudonym} has no recovery key on the ledger (no backup or recovery setup was made from its device)`,
    );
  }
  return record;
}

function sameCertificate(a: string, b: string): boolean {
  try {
    return new X509Certificate(a).raw.equals(new X509Certificate(b).raw);
  } catch {
    return false;
  }
}

/** One transport per hospital for the command's duration; all closed at the end. */
function transportCache(factory: RecoveryTransportFactory, identity: AgentIdentity, profile: NetworkProfile) {
  const open = new Map<string, RecoveryTransport>();
  const get = (hospitalName: string): RecoveryTransport => {
    let t = open.get(hospitalName);
    if (!t) {
      t = factory(hospitalByName(profile, hospitalName), identity);
      open.set(hospitalName, t);
    }
    return t;
  };
  return Object.assign(get, {
    close: async () => {
      await Promise.all([...open.values()].map((t) => t.close()));
    },
  });
}
