import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AccessEventRecord, ConsentRecord } from '@phr/common';
import {
  consentToFhir,
  deriveRecoveryKeys,
  encodeRecoveryCode,
  ensurePrivateFile,
  fabricX509Id,
  identityKey,
  newRecoverySecret,
  RECOVERY_CODE_PREFIX,
  signConsent,
  verifyElementProof,
} from '@phr/common';
import type {
  AccessLogEntry,
  AgentApi,
  AgentStatus,
  BackupReport,
  BackupStatus,
  BackupTarget,
  ConsentRequest,
  RecoveryStatus,
  ResearchAcceptResult,
  ResearchCredits,
  ResearchDeclineResult,
  ResearchHistoryEntry,
  ResearchOfferView,
  ResearchStatus,
  SyncReport,
  VerifyReport,
} from './agent-api';
import { describeAccessEvent } from './access-log/describe';
import { exportBundle } from './records/export-bundle';
import { parseConsentRequest } from './consent/consent-request';
import { studyGranteeText } from './consent/study-grantee';
import { AgentHome, warnAboutLooseModes } from './home/agent-home';
import { Inbox, type MailHandler } from './inbox/inbox';
import { PullResponder } from './requests/pull-responder';
import { approveRecovery, denyRecovery, guardianship, type GuardianDecision } from './recovery/guardian-approval';
import { GUARDIAN_MAIL_KINDS, GuardianMail } from './recovery/guardian-mail';
import type { RecoveryDeps } from './recovery/recovery-deps';
import { lastRecoverySetup, setupRecovery, type RecoverySetup, type SetupOptions } from './recovery/recovery-setup';
import { httpsRecoveryTransport, type RecoveryTransport } from './recovery/recovery-transport';
import { withdrawShares } from './recovery/share-withdrawal';
import { ResearchService } from './research/research-service';
import { researchShiftSecret } from './research/shift-secret';
import {
  readKeystore,
  unlockKeystore,
  withRecoverySecret,
  writeKeystore,
  type DeviceSecrets,
  type KeystoreSession,
} from './keys/keystore';
import { BackupKeys } from './lifecycle/backup-format';
import {
  backupLocations,
  lastBackup,
  lastBackupNumber,
  recordBackup,
  recordBackupLocation,
  RECOVERY_CODE_SHOWN_META,
} from './lifecycle/backup-meta';
import { buildArchive, writeFolderBackup, type BackupInput } from './lifecycle/backup-writer';
import { eraseEverywhere, type ErasureReport } from './lifecycle/erase';
import { rebuildFromHospitals, type RebuildReport } from './lifecycle/rebuild';
import type { AgentLedger } from './ledger/agent-ledger';
import { silentLogger, type Logger } from './logger';
import { learnFromDirectory } from './profile/directory';
import {
  hospitalByName,
  hospitalOrFirst,
  loadProfile,
  parseProfile,
  ProfileError,
  type HospitalProfile,
  type NetworkProfile,
} from './profile/network-profile';
import type { GatewayTransport, WakeupRegistration } from './transport/gateway-transport';
import { TransportError } from './transport/transport-error';
import { SqliteVault } from './vault/sqlite-vault';
import type { AgentNotification, RecordQuery, Vault, VaultDelivery, VaultElement } from './vault/vault-types';
import { defaultConnectors, type AgentConnectors, type AgentIdentity } from './connectors';

export interface OpenOptions {
  connectors?: AgentConnectors;
  log?: Logger;
  /** How this device wants to be woken: the local channel unless an FCM token is given. */
  wakeup?: WakeupRegistration;
}

const ACCESS_SEEN = 'access-log-seen';

/**
 * The unlocked agent of one home folder: keys in memory, vault open, ledger and gateways
 * reached through the connectors. The CLI, the local web page and tests all use this.
 */
export class Agent implements AgentApi {
  private readonly transports = new Map<string, GatewayTransport>();
  /** Hospitals (by name) whose gateway has this device's wake-up registration. */
  private readonly wakeupsRegistered = new Set<string>();
  /** Directory entries already warned about (MSP ID and reason): once per agent, not once per sync. */
  private readonly ignoredEntries = new Set<string>();

  private constructor(
    readonly home: AgentHome,
    private currentProfile: NetworkProfile,
    readonly identity: AgentIdentity,
    readonly pseudonym: string,
    private secrets: DeviceSecrets,
    private readonly keystore: KeystoreSession,
    private readonly vault: Vault,
    private readonly ledger: AgentLedger,
    private readonly connectors: AgentConnectors,
    private readonly log: Logger,
    private readonly wakeup: WakeupRegistration,
  ) {}

  static async open(homeDir: string, passphrase: string, options: OpenOptions = {}): Promise<Agent> {
    const home = new AgentHome(homeDir);
    const state = home.readReadyState();
    const profile = loadProfile(home.profileFile);
    // Kept open (the derived key, not the passphrase) so the keystore can take the recovery secret later.
    const keystore = unlockKeystore(readKeystore(home.keystoreFile), passphrase);
    const secrets = keystore.secrets;
    const connectors = options.connectors ?? defaultConnectors;
    const identity: AgentIdentity = {
      mspId: state.mspId,
      certificatePem: state.certificatePem,
      privateKeyPem: secrets.signingPrivateKeyPem,
      id: identityKey(state.mspId, fabricX509Id(state.certificatePem)),
    };
    const log = options.log ?? silentLogger;
    // 0600 before SQLite opens it, whatever the umask; SQLite gives its -wal and -shm the same mode.
    ensurePrivateFile(home.vaultFile);
    warnAboutLooseModes(home, log);
    let vault: Vault;
    try {
      vault = await SqliteVault.open(home.vaultFile, secrets.vaultKeys);
    } catch (err) {
      keystore.close();
      throw err;
    }
    const ledger = connectors.ledger(profile, identity);
    return new Agent(
      home,
      profile,
      identity,
      state.pseudonym,
      secrets,
      keystore,
      vault,
      ledger,
      connectors,
      log,
      options.wakeup ?? { channel: 'local' },
    );
  }

  /** The network profile: as the agent was initialised, plus the hospitals it learned from the directory. */
  get profile(): NetworkProfile {
    return this.currentProfile;
  }

  async status(): Promise<AgentStatus> {
    const deliveries = await this.vault.deliveries();
    return {
      pseudonym: this.pseudonym,
      hospitals: this.profile.hospitals.map((h) => ({ name: h.name, mspId: h.mspId })),
      deliveries: deliveries.length,
      elements: deliveries.reduce((n, d) => n + d.elementCount, 0),
      unreadNotifications: (await this.vault.notifications({ unreadOnly: true })).length,
    };
  }

  async sync(options: { waitMs?: number } = {}): Promise<SyncReport> {
    const report: SyncReport = { deliveries: [], requests: [], newAccessEvents: 0, unreachable: [], newStudies: 0 };
    // Hospitals that joined the network since: their mailboxes are drained below with the others.
    await this.learnHospitals();
    const inbox = new Inbox({
      pseudonym: this.pseudonym,
      responder: new PullResponder({
        pseudonym: this.pseudonym,
        identity: this.identity,
        encryptionPrivateKeyPem: this.secrets.encryption.privateKeyPem,
        vault: this.vault,
        ledger: this.ledger,
        log: this.log,
      }),
      handlers: this.guardianMail(),
      encryptionPrivateKeyPem: this.secrets.encryption.privateKeyPem,
      vault: this.vault,
      ledger: this.ledger,
      log: this.log,
    });
    await Promise.all(
      this.profile.hospitals.map(async (hospital) => {
        try {
          const transport = this.transport(hospital);
          if (!this.wakeupsRegistered.has(hospital.name)) {
            await transport.registerWakeup(this.wakeup);
            this.wakeupsRegistered.add(hospital.name);
          }
          report.deliveries.push(...(await inbox.drain(hospital, transport, options.waitMs ?? 0)));
        } catch (err) {
          if (!(err instanceof TransportError) || err.code !== 'UNREACHABLE') throw err;
          this.log.warn({ hospital: hospital.name }, 'gateway unreachable; its mail waits there');
          report.unreachable.push(hospital.name);
          // Registered again once it is reached: it may have lost the registration meanwhile.
          this.wakeupsRegistered.delete(hospital.name);
        }
      }),
    );
    report.requests.push(...inbox.requests);
    report.newAccessEvents = await this.refreshAccessLog();
    // study consents left active by a delivery or decline whose revocation failed (never throws)
    await this.research().settleConsents();
    report.newStudies = await this.research().announceMatchingOffers();
    return report;
  }

  records(query: RecordQuery): Promise<VaultElement[]> {
    return this.vault.search(query);
  }

  deliveries(): Promise<VaultDelivery[]> {
    return this.vault.deliveries();
  }

  async exportBundle(query: RecordQuery): Promise<Record<string, unknown>> {
    const elements = await this.resourcesMatching(query);
    const bundle = exportBundle(elements, new Date());
    const references = [...new Set(elements.map((e) => e.deliveryId))].slice(0, 256);
    if (references.length > 0) {
      // Every export is an access event on chain (SPEC flow 4), naming deliveries, never contents.
      await this.ledger.recordAccess({
        eventId: randomUUID(),
        pseudonym: this.pseudonym,
        action: 'export',
        outcome: 'success',
        references,
      });
    }
    return bundle;
  }

  /**
   * Whole resources for a query. A code lives on the coded elements, not on the resource element,
   * so a code search finds those first and then the resources of their segments.
   */
  private async resourcesMatching(query: RecordQuery): Promise<VaultElement[]> {
    const { system, code, limit, ...rest } = query;
    if (system === undefined && code === undefined) return this.vault.search({ ...query, kind: 'resource' });
    const segments = new Set(
      (await this.vault.search({ ...query, kind: 'coded', limit: undefined })).map((e) => e.segmentId),
    );
    const resources = (await this.vault.search({ ...rest, kind: 'resource' })).filter((e) => segments.has(e.segmentId));
    return limit === undefined ? resources : resources.slice(0, limit);
  }

  /** One ledger read per delivery root, then every element's proof against it. */
  async verify(): Promise<VerifyReport> {
    const report: VerifyReport = { deliveriesChecked: 0, elementsChecked: 0, mismatches: [] };
    for (const delivery of await this.vault.deliveries()) {
      report.deliveriesChecked += 1;
      const onLedger = await this.ledger.readDelivery(delivery.deliveryId);
      const root = onLedger?.merkleRoot;
      const reads = await this.vault.readAll(delivery.deliveryId);
      for (const read of reads) {
        report.elementsChecked += 1;
        if (!read.ok) {
          report.mismatches.push({ deliveryId: read.deliveryId, elementId: read.elementId, reason: read.error });
          continue;
        }
        const reason = elementProblem(read.stored, delivery.merkleRoot, root);
        if (reason)
          report.mismatches.push({ deliveryId: delivery.deliveryId, elementId: read.stored.element.id, reason });
      }
      if (reads.length < delivery.elementCount) {
        report.mismatches.push({
          deliveryId: delivery.deliveryId,
          elementId: '(missing)',
          reason: `${delivery.elementCount - reads.length} element(s) of this delivery are missing from the vault`,
        });
      }
    }
    return report;
  }

  consents(): Promise<ConsentRecord[]> {
    return this.ledger.listConsents(this.pseudonym);
  }

  async grantConsent(request: ConsentRequest): Promise<ConsentRecord> {
    const grant = parseConsentRequest(request, new Date());
    const record = await this.ledger.grantConsent({ consentId: randomUUID(), ...grant });
    await this.vault.addNotification(
      'consent',
      `You granted ${grantLabel(record)} access.`,
      `grant:${record.consentId}`,
    );
    return record;
  }

  /**
   * A consent signed with the patient's signing key, as an R4 Consent, for the patient to hand to
   * anyone who will relay it to a gateway (`POST /fhir/Consent`): it needs no connection from this
   * device. It takes effect once it is on the ledger; the chaincode checks the signature against
   * the signing certificate registered for this pseudonym (so sign again after a key rotation).
   */
  signedConsent(request: ConsentRequest): ReturnType<typeof consentToFhir> {
    const grant = parseConsentRequest(request, new Date());
    const payload = { consentId: randomUUID(), pseudonym: this.pseudonym, ...grant };
    return consentToFhir(payload, signConsent(payload, this.identity.privateKeyPem));
  }

  async revokeConsent(consentId: string): Promise<ConsentRecord> {
    const record = await this.ledger.revokeConsent(consentId);
    await this.vault.addNotification(
      'consent',
      `You revoked the access of ${grantLabel(record)}.`,
      `revoke:${consentId}`,
    );
    return record;
  }

  async accessLog(): Promise<AccessLogEntry[]> {
    const events = await this.ledger.listAccessEvents(this.pseudonym);
    const guardians = await this.guardianNames(events);
    return events.map((e) => describeAccessEvent(e, guardians)).reverse();
  }

  /**
   * The identity keys of this patient's guardians (as the ledger names them now), by pseudonym,
   * when `events` hold a recovery event to tell apart; empty otherwise or when the ledger cannot say.
   */
  private async guardianNames(events: readonly AccessEventRecord[]): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    if (!events.some((e) => e.action === 'recovery')) return names;
    try {
      for (const guardian of (await this.ledger.readPatient(this.pseudonym)).guardians ?? []) {
        names.set((await this.ledger.readPatient(guardian)).owner, guardian);
      }
    } catch (err) {
      this.log.warn(
        { err: errorText(err) },
        "could not read the guardians' identities; their events read as a patient's",
      );
    }
    return names;
  }

  notifications(options: { unreadOnly?: boolean } = {}): Promise<AgentNotification[]> {
    return this.vault.notifications(options);
  }

  markNotificationsRead(ids?: readonly number[]): Promise<void> {
    return this.vault.markNotificationsRead(ids);
  }

  async linkCode(hospital: string): Promise<{ code: string; expiresAt: string }> {
    let target: HospitalProfile;
    try {
      target = hospitalByName(this.profile, hospital);
    } catch (err) {
      // A hospital that joined since the last sync: look in the directory once before saying no.
      if (!(err instanceof ProfileError)) throw err;
      await this.learnHospitals();
      target = hospitalByName(this.profile, hospital);
    }
    return this.transport(target).issueLinkCode();
  }

  /**
   * `recovery setup` (issue 15 item 4): the recovery secret split among guardians (each share
   * sealed to the guardian and mailed) and paper codes; see `setupRecovery`.
   */
  setupRecovery(options: SetupOptions): Promise<RecoverySetup> {
    return this.handingOutRecoveryCode((ensure) =>
      this.withRecovery((d) => setupRecovery({ ...d, ensureRecoverySecret: ensure }, options)),
    );
  }

  /** A guardian approves a recovery request that reached it; see `approveRecovery`. */
  approveRecovery(requestId: string): Promise<GuardianDecision> {
    return this.withRecovery((d) => approveRecovery(d, requestId));
  }

  /** A guardian refuses a recovery request; the patient's log says so. */
  denyRecovery(requestId: string): Promise<GuardianDecision> {
    return this.withRecovery((d) => denyRecovery(d, requestId));
  }

  /** This patient's last recovery setup (who holds shares, how many are needed; never a share), and what it guards for others. */
  async recoveryStatus(): Promise<RecoveryStatus> {
    const setup = await lastRecoverySetup(this.vault);
    return { ...(setup ? { setup } : {}), ...(await guardianship({ vault: this.vault })) };
  }

  researchOffers(options: { all?: boolean } = {}): Promise<ResearchOfferView[]> {
    return this.research().list(options);
  }

  researchOffer(offerId: string): Promise<ResearchOfferView> {
    return this.research().show(offerId);
  }

  acceptResearch(offerId: string): Promise<ResearchAcceptResult> {
    return this.research().accept(offerId);
  }

  declineResearch(offerId: string): Promise<ResearchDeclineResult> {
    return this.research().decline(offerId);
  }

  researchHistory(): Promise<ResearchHistoryEntry[]> {
    return this.research().history();
  }

  researchCredits(): Promise<ResearchCredits> {
    return this.research().credits();
  }

  researchStatus(): Promise<ResearchStatus> {
    return this.research().status();
  }

  setResearchOptOut(optedOut: boolean): Promise<ResearchStatus> {
    return this.research().setOptOut(optedOut);
  }

  /** Research over this agent's vault and ledger; the collecting gateway found by MSP ID (in the directory if need be). */
  private research(): ResearchService {
    return new ResearchService({
      pseudonym: this.pseudonym,
      ledger: this.ledger,
      vault: this.vault,
      gatewayFor: async (mspId) => {
        let hospital = this.profile.hospitals.find((h) => h.mspId === mspId);
        if (!hospital) {
          await this.learnHospitals();
          hospital = this.profile.hospitals.find((h) => h.mspId === mspId);
        }
        return hospital ? this.transport(hospital) : undefined;
      },
      shiftSecret: researchShiftSecret(this.secrets.vaultKeys.indexKey),
      log: this.log,
    });
  }

  /** What the recovery steps use of this agent, with the gateways' recovery routes opened for one call. */
  private async withRecovery<T>(fn: (d: RecoveryDeps) => Promise<T>): Promise<T> {
    const open = new Map<string, RecoveryTransport>();
    const factory = this.connectors.recovery ?? httpsRecoveryTransport;
    const deps: RecoveryDeps = {
      pseudonym: this.pseudonym,
      identity: this.identity,
      encryptionPrivateKeyPem: this.secrets.encryption.privateKeyPem,
      vault: this.vault,
      ledger: this.ledger,
      profile: this.profile,
      transport: (hospital) => {
        let t = open.get(hospital.name);
        if (!t) {
          t = factory(hospital, this.identity);
          open.set(hospital.name, t);
        }
        return t;
      },
      ensureRecoverySecret: () => this.ensureRecoverySecret(),
      useRecoverySecret: (use) => this.useRecoverySecret(use),
      log: this.log,
    };
    try {
      return await fn(deps);
    } finally {
      await Promise.all([...open.values()].map((t) => t.close()));
    }
  }

  /** A guardian's recovery mail (shares kept sealed, requests shown), by kind, for the inbox. */
  private guardianMail(): ReadonlyMap<string, MailHandler> {
    const mail = new GuardianMail({
      pseudonym: this.pseudonym,
      encryptionPrivateKeyPem: this.secrets.encryption.privateKeyPem,
      vault: this.vault,
      ledger: this.ledger,
      log: this.log,
    });
    const handle: MailHandler = (hospital, transport, message) => mail.handle(hospital, transport, message);
    return new Map(GUARDIAN_MAIL_KINDS.map((kind) => [kind, handle]));
  }

  /**
   * Adds the hospitals of the ledger's directory this agent does not know yet (by MSP ID) to its
   * profile, in memory and in the home's profile file, so they are known after a restart too. A
   * hospital already in the profile is never changed. Never throws: a directory that cannot be
   * read, or an entry that is not usable, leaves the agent with the hospitals it knows.
   */
  private async learnHospitals(): Promise<void> {
    let records: unknown[];
    try {
      records = await this.ledger.listHospitals();
      if (!Array.isArray(records)) throw new TypeError('the directory answer is not a list');
    } catch (err) {
      this.log.warn(
        { err: errorText(err) },
        "could not read the ledger's directory of hospitals; using the known ones",
      );
      return;
    }
    try {
      const { added, ignored } = learnFromDirectory(this.currentProfile, records, new Date());
      for (const entry of ignored) {
        const key = `${entry.mspId}\n${entry.reason}`;
        if (this.ignoredEntries.has(key)) continue;
        this.ignoredEntries.add(key);
        this.log.warn({ mspId: entry.mspId, reason: entry.reason }, 'directory entry ignored');
      }
      if (added.length === 0) return;
      this.currentProfile = { ...this.currentProfile, hospitals: [...this.currentProfile.hospitals, ...added] };
      for (const h of added) this.log.info({ hospital: h.name, mspId: h.mspId }, 'hospital learned from the directory');
      this.persistLearned(added);
    } catch (err) {
      this.log.warn({ err: errorText(err) }, 'could not add hospitals from the directory');
    }
  }

  /**
   * Appends `added` to the home's profile file as it is on disk (whatever else it holds is kept as
   * written), replaced atomically and owner-only. A failure leaves the file as it was: the
   * hospitals are then known until the agent closes, and learned again after.
   */
  private persistLearned(added: readonly HospitalProfile[]): void {
    try {
      const onDisk = JSON.parse(readFileSync(this.home.profileFile, 'utf8')) as { hospitals?: unknown };
      const current = parseProfile(onDisk);
      const mspIds = new Set(current.hospitals.map((h) => h.mspId));
      const fresh = added.filter((h) => !mspIds.has(h.mspId));
      if (fresh.length === 0) return;
      const next = { ...(onDisk as object), hospitals: [...(onDisk.hospitals as unknown[]), ...fresh] };
      parseProfile(next);
      this.home.writeProfile(next);
    } catch (err) {
      this.log.warn({ err: errorText(err) }, 'could not save the hospitals learned from the directory');
    }
  }

  /**
   * Makes the recovery secret if there is none yet (kept in the keystore), and makes sure the
   * ledger holds its public key (`SetRecoveryKey`). The recovery code comes back until it has been
   * handed out once: the caller shows it to the patient then.
   * @throws the ledger's error when the key cannot be set (run it again: the same secret is kept).
   */
  async ensureRecoverySecret(): Promise<{ created: boolean; recoveryCode?: string }> {
    let created = false;
    if (!this.secrets.recoverySecret) {
      const next = withRecoverySecret(this.secrets, newRecoverySecret());
      // On disk before the ledger hears of it: a key on the ledger whose secret was lost would help nobody.
      writeKeystore(this.home.keystoreFile, this.keystore.reseal(next));
      this.secrets = next;
      created = true;
    }
    const secret = this.secrets.recoverySecret as Buffer;
    const { publicKey } = deriveRecoveryKeys(secret);
    const record = await this.ledger.readPatient(this.pseudonym);
    if (record.recoveryPublicKey !== publicKey) await this.ledger.setRecoveryKey(this.pseudonym, publicKey);
    if (await this.vault.getMeta(RECOVERY_CODE_SHOWN_META)) return { created };
    await this.vault.setMeta(RECOVERY_CODE_SHOWN_META, new Date().toISOString());
    return { created, recoveryCode: this.recoveryCode() as string };
  }

  /**
   * Runs `use` with a copy of the recovery secret (made first if needed), wiped after: for a
   * recovery setup that splits it into shares. The secret itself never leaves the agent otherwise.
   */
  async useRecoverySecret<T>(use: (secret: Buffer) => T | Promise<T>): Promise<T> {
    await this.ensureRecoverySecret();
    const copy = Buffer.from(this.secrets.recoverySecret as Buffer);
    try {
      return await use(copy);
    } finally {
      copy.fill(0);
    }
  }

  /**
   * The printed form of the recovery secret (`phr-agent recovery code`): the one place it is made,
   * for the first showing and any later one (the patient lost the paper, or a backup failed after
   * the code was handed out). Undefined before the first backup or recovery setup.
   */
  recoveryCode(): string | undefined {
    const secret = this.secrets.recoverySecret;
    return secret ? encodeRecoveryCode(secret, RECOVERY_CODE_PREFIX) : undefined;
  }

  backup(target: BackupTarget): Promise<BackupReport> {
    return this.handingOutRecoveryCode((ensure) => this.backupWith(target, ensure));
  }

  /**
   * Runs a step that may make the recovery secret and hand its code out (a backup, a recovery
   * setup). The code is shown to the patient only with the step's result, so when the step fails
   * after handing it out, the next step hands it out again: otherwise it would never be seen.
   */
  private async handingOutRecoveryCode<T>(
    step: (ensure: () => Promise<{ recoveryCode?: string }>) => Promise<T>,
  ): Promise<T> {
    let handedOut = false;
    const ensure = async () => {
      const result = await this.ensureRecoverySecret();
      if (result.recoveryCode !== undefined) handedOut = true;
      return result;
    };
    try {
      return await step(ensure);
    } catch (err) {
      // '' reads as "not shown yet" (see ensureRecoverySecret); the step's own error is what matters
      if (handedOut) await this.vault.setMeta(RECOVERY_CODE_SHOWN_META, '').catch(() => undefined);
      throw err;
    }
  }

  private async backupWith(
    target: BackupTarget,
    ensure: () => Promise<{ recoveryCode?: string }>,
  ): Promise<BackupReport> {
    const { recoveryCode } = await ensure();
    const input: BackupInput = {
      pseudonym: this.pseudonym,
      keys: BackupKeys.derive(deriveRecoveryKeys(this.secrets.recoverySecret as Buffer).backupKey),
      vault: this.vault,
      lastNumber: await lastBackupNumber(this.vault),
    };
    let report: Omit<BackupReport, 'markedBackedUp' | 'recoveryCode'>;
    if (target.to === 'folder') {
      const r = await writeFolderBackup(target.dir, input);
      await recordBackupLocation(this.vault, { folder: r.folder });
      report = {
        kind: 'folder',
        target: r.folder,
        backupNumber: r.manifest.backupNumber,
        deliveries: r.manifest.chunks.length,
        written: r.written,
        reused: r.reused,
        skipped: r.skipped,
      };
    } else {
      const hospital = hospitalOrFirst(this.profile, target.hospital);
      const r = await buildArchive(input);
      const version = await this.transport(hospital).putBackup(r.archive);
      await recordBackupLocation(this.vault, { gateway: hospital.name });
      report = {
        kind: 'gateway',
        target: hospital.name,
        backupNumber: r.manifest.backupNumber,
        deliveries: r.manifest.chunks.length,
        written: r.manifest.chunks.length,
        reused: 0,
        skipped: r.skipped,
        version,
      };
    }
    await recordBackup(this.vault, {
      at: new Date().toISOString(),
      to: report.target,
      kind: report.kind,
      backupNumber: report.backupNumber,
      deliveries: report.deliveries,
    });
    const covered = (await this.vault.deliveries())
      .map((d) => d.deliveryId)
      .filter((id) => !report.skipped.some((s) => s.deliveryId === id));
    const markedBackedUp = await this.markBackedUp(covered);
    await this.ledger.recordAccess({
      eventId: randomUUID(),
      pseudonym: this.pseudonym,
      action: 'backup',
      outcome: 'success',
      references: covered.slice(0, 256),
    });
    return { ...report, markedBackedUp, ...(recoveryCode ? { recoveryCode } : {}) };
  }

  async backupStatus(): Promise<BackupStatus> {
    const [last, locations] = await Promise.all([lastBackup(this.vault), backupLocations(this.vault)]);
    return { hasRecoverySecret: this.secrets.recoverySecret !== undefined, ...(last ? { last } : {}), ...locations };
  }

  async rebuild(): Promise<RebuildReport> {
    await this.learnHospitals();
    return rebuildFromHospitals({
      pseudonym: this.pseudonym,
      ledger: this.ledger,
      vault: this.vault,
      hospitals: this.profile.hospitals,
      transport: (h) => this.transport(h),
      sync: () => this.sync(),
      log: this.log,
    });
  }

  async erase(): Promise<ErasureReport> {
    await this.learnHospitals();
    return eraseEverywhere({
      pseudonym: this.pseudonym,
      ledger: this.ledger,
      vault: this.vault,
      home: this.home,
      hospitals: this.profile.hospitals,
      transport: (h) => this.transport(h),
      withdrawGuardianShares: (guardians) => this.withRecovery((d) => withdrawShares(d, guardians)),
      closeAgent: () => this.close(),
      log: this.log,
    });
  }

  /** Deliveries that are `complete` on the ledger move to `backup`; the others are left as they are. */
  private async markBackedUp(deliveryIds: readonly string[]): Promise<string[]> {
    const status = new Map((await this.ledger.listDeliveries(this.pseudonym)).map((d) => [d.deliveryId, d.status]));
    const marked: string[] = [];
    for (const id of deliveryIds) {
      if (status.get(id) !== 'complete') continue;
      await this.ledger.markBackedUp(id);
      marked.push(id);
    }
    return marked;
  }

  async close(): Promise<void> {
    this.keystore.close();
    await Promise.all([...this.transports.values()].map((t) => t.close()));
    this.transports.clear();
    this.ledger.close();
    await this.vault.close();
  }

  /** New events from others raise a notification each; the agent's own reports do not. */
  private async refreshAccessLog(): Promise<number> {
    const seen = (await this.vault.getMeta(ACCESS_SEEN)) ?? '';
    // Only what was recorded since the newest event seen (that instant included, for ties): each sync
    // reads the new part of the log, not all of it.
    const since = seen.split('|')[0] || undefined;
    const events = await this.ledger.listAccessEvents(this.pseudonym, since);
    let newest = seen;
    let fresh = 0;
    const guardians = await this.guardianNames(events.filter((e) => e.requester.id !== this.identity.id));
    for (const event of events) {
      const key = `${event.recordedAt}|${event.eventId}`;
      if (key <= seen) continue;
      if (key > newest) newest = key;
      if (event.requester.id === this.identity.id) continue;
      fresh += 1;
      const entry = describeAccessEvent(event, guardians);
      await this.vault.addNotification('access', entry.summary, event.eventId);
    }
    if (newest !== seen) await this.vault.setMeta(ACCESS_SEEN, newest);
    return fresh;
  }

  private transport(hospital: HospitalProfile): GatewayTransport {
    let t = this.transports.get(hospital.name);
    if (!t) {
      t = this.connectors.gateway(hospital, this.pseudonym, this.identity);
      this.transports.set(hospital.name, t);
    }
    return t;
  }
}

function elementProblem(stored: VaultElement, vaultRoot: string, ledgerRoot: string | undefined): string | undefined {
  if (!ledgerRoot) return 'its delivery is not on the ledger';
  if (ledgerRoot !== vaultRoot) return 'the vault names another root than the ledger';
  try {
    return verifyElementProof(stored.element, stored.salt, stored.proof, ledgerRoot)
      ? undefined
      : 'it no longer hashes to the root on the ledger';
  } catch {
    return 'its salt or proof is malformed';
  }
}

/** The error's code and message only: never a payload. */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err).slice(0, 200);
  const code = (err as { code?: unknown }).code;
  return `${typeof code === 'string' ? `${code}: ` : ''}${err.message}`.slice(0, 300);
}

function grantLabel(c: ConsentRecord): string {
  if (c.grantee.kind === 'study') return studyGranteeText(c.grantee.id);
  return c.grantee.kind === 'organization' ? c.grantee.id : `identity ${c.grantee.id}`;
}
