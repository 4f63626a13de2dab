import { randomUUID } from 'node:crypto';
import type { ConsentRecord } from '@phr/common';
import {
  consentToFhir,
  ensurePrivateFile,
  fabricX509Id,
  identityKey,
  signConsent,
  verifyElementProof,
} from '@phr/common';
import type { AccessLogEntry, AgentApi, AgentStatus, ConsentRequest, SyncReport, VerifyReport } from './agent-api';
import { describeAccessEvent } from './access-log/describe';
import { exportBundle } from './records/export-bundle';
import { parseConsentRequest } from './consent/consent-request';
import { AgentHome, warnAboutLooseModes } from './home/agent-home';
import { Inbox } from './inbox/inbox';
import { PullResponder } from './requests/pull-responder';
import { openKeystore, readKeystore, type DeviceSecrets } from './keys/keystore';
import type { AgentLedger } from './ledger/agent-ledger';
import { silentLogger, type Logger } from './logger';
import { hospitalByName, loadProfile, type HospitalProfile, type NetworkProfile } from './profile/network-profile';
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
  private wakeupsRegistered = false;

  private constructor(
    readonly home: AgentHome,
    readonly profile: NetworkProfile,
    readonly identity: AgentIdentity,
    readonly pseudonym: string,
    private readonly secrets: DeviceSecrets,
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
    const secrets = openKeystore(readKeystore(home.keystoreFile), passphrase);
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
    const vault = await SqliteVault.open(home.vaultFile, secrets.vaultKeys);
    const ledger = connectors.ledger(profile, identity);
    return new Agent(
      home,
      profile,
      identity,
      state.pseudonym,
      secrets,
      vault,
      ledger,
      connectors,
      log,
      options.wakeup ?? { channel: 'local' },
    );
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
    const report: SyncReport = { deliveries: [], requests: [], newAccessEvents: 0, unreachable: [] };
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
      encryptionPrivateKeyPem: this.secrets.encryption.privateKeyPem,
      vault: this.vault,
      ledger: this.ledger,
      log: this.log,
    });
    await Promise.all(
      this.profile.hospitals.map(async (hospital) => {
        try {
          const transport = this.transport(hospital);
          if (!this.wakeupsRegistered) await transport.registerWakeup(this.wakeup);
          report.deliveries.push(...(await inbox.drain(hospital, transport, options.waitMs ?? 0)));
        } catch (err) {
          if (!(err instanceof TransportError) || err.code !== 'UNREACHABLE') throw err;
          this.log.warn({ hospital: hospital.name }, 'gateway unreachable; its mail waits there');
          report.unreachable.push(hospital.name);
        }
      }),
    );
    report.requests.push(...inbox.requests);
    this.wakeupsRegistered = report.unreachable.length === 0;
    report.newAccessEvents = await this.refreshAccessLog();
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
    return events.map(describeAccessEvent).reverse();
  }

  notifications(options: { unreadOnly?: boolean } = {}): Promise<AgentNotification[]> {
    return this.vault.notifications(options);
  }

  markNotificationsRead(ids?: readonly number[]): Promise<void> {
    return this.vault.markNotificationsRead(ids);
  }

  async linkCode(hospital: string): Promise<{ code: string; expiresAt: string }> {
    return this.transport(hospitalByName(this.profile, hospital)).issueLinkCode();
  }

  async close(): Promise<void> {
    await Promise.all([...this.transports.values()].map((t) => t.close()));
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
    for (const event of events) {
      const key = `${event.recordedAt}|${event.eventId}`;
      if (key <= seen) continue;
      if (key > newest) newest = key;
      if (event.requester.id === this.identity.id) continue;
      fresh += 1;
      const entry = describeAccessEvent(event);
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

function grantLabel(c: ConsentRecord): string {
  return c.grantee.kind === 'organization' ? c.grantee.id : `identity ${c.grantee.id}`;
}
