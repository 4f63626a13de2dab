/**
 * An AgentApi held in memory, for the page's tests. It keeps the real agent's contract where the
 * page can see it: grant adds an active ConsentRecord (checked by the agent's own
 * parseConsentRequest, so its refusals read the same), revoke marks it revoked with revokedAt (both leave a notification), records search by type,
 * code and time, sync stores queued deliveries and reports them, failures carry the ledger's
 * error codes.
 */
import { randomUUID } from 'node:crypto';
import { isPseudonym, type ConsentRecord } from '@phr/common';
import type {
  AccessLogEntry,
  AgentApi,
  AgentStatus,
  BackupReport,
  BackupStatus,
  BackupTarget,
  ConsentRequest,
  ErasureReport,
  GuardianDecision,
  RebuildReport,
  RecoveryRequest,
  RecoverySetup,
  RecoverySetupOptions,
  RecoveryStatus,
  ResearchAcceptResult,
  ResearchCredits,
  ResearchDeclineResult,
  ResearchHistoryEntry,
  ResearchOfferView,
  ResearchStatus,
  SyncReport,
  VerifyReport,
} from '../../agent-api';
import { ResearchError } from '../../research/research-error';
import { RecoveryError } from '../../recovery/recovery-error';
import { checkThreshold, MAX_SHARES } from '../../recovery/shares';
import type {
  AgentNotification,
  NotificationKind,
  RecordQuery,
  VaultDelivery,
  VaultElement,
} from '../../vault/vault-types';
import { parseConsentRequest } from '../../consent/consent-request';
import { SAMPLE_HOSPITALS, sampleVault } from './sample-records';
import { sampleResearchOffers } from './sample-research';

/** An error shaped like the agent's (LedgerError): a code the page maps to words and a status. */
export function agentError(code: string, detail: string): Error & { code: string } {
  return Object.assign(new Error(`${code}: ${detail}`), { code });
}

type Method = keyof AgentApi;

/** The recovery request the sample agent, as a guardian, has received. */
export const SAMPLE_RECOVERY_REQUEST = 'rq-0f6b2c1e-sample-request';

export class MemoryAgent implements AgentApi {
  pseudonym = 'ptabcdefghijklmnopqrstuvwxyz';
  hospitals = SAMPLE_HOSPITALS.map((h) => ({ ...h }));
  deliveryList: VaultDelivery[] = [];
  elements: VaultElement[] = [];
  consentList: ConsentRecord[] = [];
  accessEntries: AccessLogEntry[] = [];
  notificationList: AgentNotification[] = [];
  /** Every call, in order, with its arguments: what the tests assert reached the agent. */
  readonly calls: { method: Method; args: unknown[] }[] = [];
  backupState: BackupStatus = { hasRecoverySecret: false, folders: [], gateways: [] };
  /** Deliveries the hospitals would send again on a rebuild (as `rebuilt`), and those they cannot. */
  rebuildable: { deliveryId: string; hospital: string; result: 'rebuilt' | 'not-rebuilt'; reason?: string }[] = [];
  erased = false;
  /** Patients registered on the ledger: who may be named a guardian. */
  registeredPatients = new Set(['ptguardianaaaaaaaaaaaaaaaaaa', 'ptguardianbbbbbbbbbbbbbbbbbb']);
  /** The patient's own recovery setup, and what this agent guards for others. */
  recoveryState: RecoveryStatus = { shares: [], requests: [] };
  /** Study offers on the ledger, as the agent would show them (match and preview worked out). */
  researchOfferList: ResearchOfferView[] = [];
  researchDecisions: ResearchHistoryEntry[] = [];
  researchCreditState: ResearchCredits = { accountId: this.pseudonym, balance: 0, entries: [] };
  researchOptedOut = false;
  /** Deliveries the next sync finds in the hospitals' mailboxes. */
  private queued: { delivery: VaultDelivery; elements: VaultElement[] }[] = [];
  private failures = new Map<Method, unknown>();
  private nextNotificationId = 1;

  /** The sample vault, consents, access log and notifications. */
  static withSamples(): MemoryAgent {
    const agent = new MemoryAgent();
    const vault = sampleVault();
    agent.deliveryList = vault.deliveries;
    agent.elements = vault.elements;
    agent.consentList = [
      {
        docType: 'consent',
        consentId: 'consent-fixture-active',
        pseudonym: agent.pseudonym,
        grantee: { kind: 'organization', id: 'Hospital2MSP' },
        scope: { categories: ['immunization'], codes: [] },
        purposes: ['TREAT'],
        period: { start: '2024-01-01T00:00:00.000Z', end: '2099-01-01T00:00:00.000Z' },
        status: 'active',
        grantedAt: '2024-01-01T00:00:00.000Z',
      },
      {
        docType: 'consent',
        consentId: 'consent-fixture-revoked',
        pseudonym: agent.pseudonym,
        grantee: { kind: 'organization', id: 'Hospital1MSP' },
        scope: { categories: [], codes: [{ system: 'http://loinc.org', code: '4548-4' }] },
        purposes: ['HRESCH'],
        period: { start: '2024-02-01T00:00:00.000Z', end: '2026-02-01T00:00:00.000Z' },
        status: 'revoked',
        grantedAt: '2024-02-01T00:00:00.000Z',
        revokedAt: '2024-03-01T12:00:00.000Z',
      },
    ];
    agent.accessEntries = [
      {
        eventId: 'event-0003',
        at: '2025-02-03T02:10:00.000Z',
        action: 'pull',
        outcome: 'success',
        who: 'Hospital2MSP (clinician)',
        organization: 'Hospital2MSP',
        role: 'clinician',
        purpose: 'ETREAT',
        purposeText: 'Emergency treatment',
        what: 'Laboratory',
        breakGlass: true,
        summary: 'Hospital2MSP (clinician) read your Laboratory records for Emergency treatment — emergency access.',
      },
      {
        eventId: 'event-0002',
        at: '2025-02-02T09:00:00.000Z',
        action: 'pull',
        outcome: 'denied',
        who: 'Hospital2MSP (clinician)',
        organization: 'Hospital2MSP',
        role: 'clinician',
        purpose: 'TREAT',
        purposeText: 'Treatment',
        what: 'Laboratory',
        breakGlass: false,
        summary: 'Hospital2MSP (clinician) asked to read your Laboratory records for Treatment — refused.',
      },
      {
        eventId: 'event-0001',
        at: '2025-02-01T15:00:00.000Z',
        action: 'push',
        outcome: 'success',
        who: 'Hospital1MSP (hospital-gateway)',
        organization: 'Hospital1MSP',
        role: 'hospital-gateway',
        what: 'delivery-0001',
        breakGlass: false,
        summary: 'Hospital1MSP (hospital-gateway) sent you new records — done.',
      },
    ];
    agent.notify(
      'access',
      'Hospital2MSP used emergency access to your Laboratory records.',
      'event-0003',
      '2025-02-03T02:11:00.000Z',
    );
    agent.notify(
      'delivery-stored',
      'New records from Hospital One were stored.',
      'delivery-0001',
      '2025-02-02T08:00:00.000Z',
    );
    const old = agent.notify(
      'consent',
      'Your consent for Hospital1MSP was revoked.',
      'consent-fixture-revoked',
      '2024-03-01T12:00:00.000Z',
    );
    old.read = true;
    // another patient named this agent a guardian, and their new device asks for the share
    agent.receiveRecoveryRequest({
      requestId: SAMPLE_RECOVERY_REQUEST,
      pseudonym: 'ptguardedaaaaaaaaaaaaaaaaaaa',
      checkCode: '4821-0937',
    });
    agent.researchOfferList = sampleResearchOffers();
    return agent;
  }

  /** The next call of `method` throws `error` (once). */
  failNext(method: Method, error: unknown): void {
    this.failures.set(method, error);
  }

  /** A delivery the next `sync` will fetch and store. */
  queueDelivery(delivery: VaultDelivery, elements: VaultElement[]): void {
    this.queued.push({ delivery, elements });
  }

  notify(
    kind: NotificationKind,
    message: string,
    ref: string,
    createdAt = new Date().toISOString(),
  ): AgentNotification {
    const n: AgentNotification = { id: this.nextNotificationId++, kind, message, ref, createdAt, read: false };
    this.notificationList.unshift(n);
    return n;
  }

  private enter(method: Method, args: unknown[]): void {
    this.calls.push({ method, args: structuredClone(args) });
    if (this.failures.has(method)) {
      const error = this.failures.get(method);
      this.failures.delete(method);
      throw error;
    }
  }

  callsOf(method: Method): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  async status(): Promise<AgentStatus> {
    this.enter('status', []);
    return {
      pseudonym: this.pseudonym,
      hospitals: this.hospitals,
      deliveries: this.deliveryList.length,
      elements: this.elements.length,
      unreadNotifications: this.notificationList.filter((n) => !n.read).length,
    };
  }

  async sync(options?: { waitMs?: number }): Promise<SyncReport> {
    this.enter('sync', [options]);
    const report: SyncReport = { deliveries: [], requests: [], newAccessEvents: 0, unreachable: [], newStudies: 0 };
    for (const { delivery, elements } of this.queued.splice(0)) {
      const known = this.deliveryList.some((d) => d.deliveryId === delivery.deliveryId);
      if (!known) {
        this.deliveryList.unshift(delivery);
        this.elements.push(...elements);
        this.notify('delivery-stored', `New records from ${delivery.sender} were stored.`, delivery.deliveryId);
      }
      report.deliveries.push({
        deliveryId: delivery.deliveryId,
        hospital: delivery.sender,
        result: known ? 'already-stored' : 'stored',
      });
    }
    return report;
  }

  async records(query: RecordQuery): Promise<VaultElement[]> {
    this.enter('records', [query]);
    return this.search(query);
  }

  private search(query: RecordQuery): VaultElement[] {
    const time = (e: VaultElement) => (e.element.time === undefined ? undefined : Date.parse(e.element.time));
    const found = this.elements.filter((e) => {
      const t = time(e);
      return (
        (query.resourceType === undefined || e.element.resourceType === query.resourceType) &&
        (query.system === undefined || e.element.system === query.system) &&
        (query.code === undefined || e.element.code === query.code) &&
        (query.kind === undefined || e.element.kind === query.kind) &&
        (query.deliveryId === undefined || e.deliveryId === query.deliveryId) &&
        (query.from === undefined || (t !== undefined && t >= Date.parse(query.from))) &&
        (query.to === undefined || (t !== undefined && t < Date.parse(query.to)))
      );
    });
    found.sort((a, b) => (time(b) ?? 0) - (time(a) ?? 0) || a.element.id.localeCompare(b.element.id));
    return query.limit === undefined ? found : found.slice(0, query.limit);
  }

  async deliveries(): Promise<VaultDelivery[]> {
    this.enter('deliveries', []);
    return [...this.deliveryList].sort((a, b) => b.storedAt.localeCompare(a.storedAt));
  }

  async exportBundle(query: RecordQuery): Promise<Record<string, unknown>> {
    this.enter('exportBundle', [query]);
    let resources = this.search({ ...query, system: undefined, code: undefined, kind: 'resource' });
    if (query.code !== undefined) {
      const leaves = this.search({ ...query, kind: 'coded' });
      const segments = new Set(leaves.map((l) => `${l.deliveryId}/${l.segmentId}`));
      resources = resources.filter((r) => segments.has(`${r.deliveryId}/${r.segmentId}`));
    }
    return {
      resourceType: 'Bundle',
      type: 'collection',
      timestamp: new Date().toISOString(),
      entry: resources.map((r) => ({ resource: r.element.resource })),
    };
  }

  async verify(): Promise<VerifyReport> {
    this.enter('verify', []);
    return { deliveriesChecked: this.deliveryList.length, elementsChecked: this.elements.length, mismatches: [] };
  }

  async consents(): Promise<ConsentRecord[]> {
    this.enter('consents', []);
    return structuredClone(this.consentList);
  }

  async grantConsent(request: ConsentRequest): Promise<ConsentRecord> {
    this.enter('grantConsent', [request]);
    // the real agent's own checks, with its messages and its ConsentRequestError
    const grant = parseConsentRequest(request, new Date());
    const record: ConsentRecord = {
      docType: 'consent',
      consentId: randomUUID(),
      pseudonym: this.pseudonym,
      grantee: grant.grantee,
      scope: grant.scope,
      purposes: grant.purposes,
      period: { start: grant.start, end: grant.end },
      status: 'active',
      grantedAt: new Date().toISOString(),
    };
    this.consentList.push(record);
    this.notify('consent', `You granted ${record.grantee.id} access.`, `grant:${record.consentId}`);
    return structuredClone(record);
  }

  async revokeConsent(consentId: string): Promise<ConsentRecord> {
    this.enter('revokeConsent', [consentId]);
    const record = this.consentList.find((c) => c.consentId === consentId);
    if (!record) throw agentError('NOT_FOUND', `consent ${consentId} does not exist`);
    if (record.status === 'active') {
      record.status = 'revoked';
      record.revokedAt = new Date().toISOString();
      this.notify('consent', `You revoked ${record.grantee.id}'s access.`, `revoke:${consentId}`);
    }
    return structuredClone(record);
  }

  async accessLog(): Promise<AccessLogEntry[]> {
    this.enter('accessLog', []);
    return [...this.accessEntries].sort((a, b) => b.at.localeCompare(a.at));
  }

  async notifications(options?: { unreadOnly?: boolean }): Promise<AgentNotification[]> {
    this.enter('notifications', [options]);
    const list = this.notificationList.filter((n) => !options?.unreadOnly || !n.read);
    return structuredClone(list.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id - a.id));
  }

  async markNotificationsRead(ids?: readonly number[]): Promise<void> {
    this.enter('markNotificationsRead', [ids]);
    for (const n of this.notificationList) if (ids === undefined || ids.includes(n.id)) n.read = true;
  }

  async linkCode(hospital: string): Promise<{ code: string; expiresAt: string }> {
    this.enter('linkCode', [hospital]);
    return { code: 'ABCD-EFGH', expiresAt: new Date(Date.now() + 600_000).toISOString() };
  }

  /** Like the agent: the first backup makes the recovery secret and hands its code out once. */
  async backup(target: BackupTarget): Promise<BackupReport> {
    this.enter('backup', [target]);
    this.alive();
    const first = !this.backupState.hasRecoverySecret;
    const to = target.to === 'folder' ? target.dir : (target.hospital ?? this.hospitals[0]?.name ?? 'hospital');
    const backupNumber = (this.backupState.last?.backupNumber ?? 0) + 1;
    this.backupState = {
      hasRecoverySecret: true,
      last: { at: new Date().toISOString(), to, kind: target.to, backupNumber, deliveries: this.deliveryList.length },
      folders: target.to === 'folder' ? [...new Set([...this.backupState.folders, to])] : this.backupState.folders,
      gateways: target.to === 'gateway' ? [...new Set([...this.backupState.gateways, to])] : this.backupState.gateways,
    };
    return {
      kind: target.to,
      target: to,
      backupNumber,
      deliveries: this.deliveryList.length,
      written: this.deliveryList.length,
      reused: 0,
      skipped: [],
      markedBackedUp: this.deliveryList.map((d) => d.deliveryId),
      ...(target.to === 'gateway'
        ? { version: { version: backupNumber, size: 1024, sha256: '0'.repeat(64), storedAt: new Date().toISOString() } }
        : {}),
      ...(first ? { recoveryCode: 'PHRR-TEST-CODE-0000-0000' } : {}),
    };
  }

  async backupStatus(): Promise<BackupStatus> {
    this.enter('backupStatus', []);
    this.alive();
    return structuredClone(this.backupState);
  }

  async rebuild(): Promise<RebuildReport> {
    this.enter('rebuild', []);
    this.alive();
    const rows = [
      ...this.deliveryList.map((d) => ({
        deliveryId: d.deliveryId,
        hospital: d.sender,
        result: 'already-here' as const,
        reason: 'already in your vault',
      })),
      ...this.rebuildable.map((r) => ({ ...r })),
    ];
    return { rows, unreachable: [] };
  }

  async erase(): Promise<ErasureReport> {
    this.enter('erase', []);
    this.alive();
    this.erased = true;
    const hospitals = this.hospitals.map((h) => ({
      hospital: h.name,
      mspId: h.mspId,
      required: true,
      receipt: {
        receiptId: `receipt-${h.mspId}`,
        pseudonym: this.pseudonym,
        hospital: h.mspId,
        erasedAt: new Date().toISOString(),
        destroyed: [{ what: 'mailbox messages', count: 1 }],
        kept: [{ what: 'standardized records', count: 3, basis: 'hospital record retention law' }],
      },
    }));
    this.deliveryList = [];
    this.elements = [];
    return {
      pseudonym: this.pseudonym,
      hospitals,
      ledger: 'erased',
      foldersDeleted: [...this.backupState.folders],
      filesDestroyed: ['keystore.json', 'vault.db'],
    };
  }

  /**
   * Like the agent's setupRecovery: the same checks (the agent's own threshold check, its error
   * codes), the recovery code on the first use of the secret, paper codes returned and not kept.
   */
  async setupRecovery(options: RecoverySetupOptions): Promise<RecoverySetup> {
    this.enter('setupRecovery', [options]);
    this.alive();
    const seen = new Set<string>();
    for (const g of options.guardians) {
      if (!isPseudonym(g)) throw new RecoveryError('INVALID_ARGUMENT', `${String(g)} is not a pseudonym`);
      if (g === this.pseudonym) throw new RecoveryError('INVALID_ARGUMENT', 'you cannot be your own guardian');
      if (seen.has(g)) throw new RecoveryError('INVALID_ARGUMENT', `guardian ${g} is named twice`);
      if (!this.registeredPatients.has(g)) {
        throw new RecoveryError('UNKNOWN_GUARDIAN', `guardian ${g} is not a registered patient`);
      }
      seen.add(g);
    }
    if (options.paper < 0 || options.paper > MAX_SHARES) {
      throw new RecoveryError('INVALID_ARGUMENT', `--paper must be a number from 0 to ${MAX_SHARES}`);
    }
    const shareCount = options.guardians.length + options.paper;
    try {
      checkThreshold(shareCount, options.threshold);
    } catch (err) {
      throw new RecoveryError('INVALID_ARGUMENT', (err as Error).message, { cause: err });
    }
    const hospital = options.hospital ?? this.hospitals[0]?.name ?? 'hospital';
    const first = !this.backupState.hasRecoverySecret;
    this.backupState = { ...this.backupState, hasRecoverySecret: true };
    const setupId = randomUUID();
    const createdAt = new Date().toISOString();
    this.recoveryState.setup = {
      setupId,
      createdAt,
      threshold: options.threshold,
      shareCount,
      guardians: [...options.guardians],
      paper: options.paper,
      hospital,
    };
    return {
      setupId,
      createdAt,
      threshold: options.threshold,
      shareCount,
      guardians: [...options.guardians],
      paperCodes: Array.from({ length: options.paper }, (_, i) => `PHRS-TEST-PAPR-000${i + 1}`),
      hospital,
      ...(first ? { recoveryCode: 'PHRR-TEST-CODE-0000-0000' } : {}),
    };
  }

  async recoveryStatus(): Promise<RecoveryStatus> {
    this.enter('recoveryStatus', []);
    this.alive();
    return structuredClone(this.recoveryState);
  }

  /** A recovery request that reached this agent as a guardian (with the share it guards). */
  receiveRecoveryRequest(request: Partial<RecoveryRequest> & { requestId: string; pseudonym: string }): void {
    const now = Date.now();
    this.recoveryState.requests.unshift({
      hospital: this.hospitals[0]?.name ?? 'hospital',
      ephemeralPublicKey: 'MCowBQYDK2VuAyEA',
      checkCode: '4821-0937',
      requestedAt: new Date(now - 60_000).toISOString(),
      expiresAt: new Date(now + 86_400_000).toISOString(),
      receivedAt: new Date(now - 30_000).toISOString(),
      status: 'pending',
      ...request,
    });
    if (!this.recoveryState.shares.some((s) => s.pseudonym === request.pseudonym)) {
      this.recoveryState.shares.push({
        pseudonym: request.pseudonym,
        setupId: randomUUID(),
        createdAt: '2025-01-10T10:00:00.000Z',
        threshold: 2,
        shareCount: 3,
        hospital: this.hospitals[0]?.name ?? 'hospital',
        receivedAt: '2025-01-10T10:05:00.000Z',
      });
    }
  }

  /** Like the agent: an unknown request, or (to approve) an expired one, is refused with its code. */
  async approveRecovery(requestId: string): Promise<GuardianDecision> {
    this.enter('approveRecovery', [requestId]);
    return this.decide(requestId, 'approved');
  }

  async denyRecovery(requestId: string): Promise<GuardianDecision> {
    this.enter('denyRecovery', [requestId]);
    return this.decide(requestId, 'denied');
  }

  private decide(requestId: string, outcome: 'approved' | 'denied'): GuardianDecision {
    this.alive();
    const request = this.recoveryState.requests.find((r) => r.requestId === requestId);
    if (!request) {
      throw new RecoveryError(
        'UNKNOWN_REQUEST',
        `no recovery request ${requestId} reached this agent; run \`phr-agent inbox\` to fetch new mail first`,
      );
    }
    if (outcome === 'approved' && Date.parse(request.expiresAt) <= Date.now()) {
      throw new RecoveryError('EXPIRED', `recovery request ${requestId} expired at ${request.expiresAt}`);
    }
    request.status = outcome;
    request.decidedAt = new Date().toISOString();
    return { requestId, pseudonym: request.pseudonym, hospital: request.hospital, outcome };
  }

  async researchOffers(options: { all?: boolean } = {}): Promise<ResearchOfferView[]> {
    this.enter('researchOffers', [options]);
    this.alive();
    return this.researchOfferList
      .filter((o) => options.all || o.matches || o.decision === 'accepted')
      .map((o) => structuredClone(o));
  }

  async researchOffer(offerId: string): Promise<ResearchOfferView> {
    this.enter('researchOffer', [offerId]);
    return structuredClone(this.offerOrThrow(offerId));
  }

  /** Like the agent: refuses when opted out or not matching, answers a delivered study again without sending. */
  async acceptResearch(offerId: string): Promise<ResearchAcceptResult> {
    this.enter('acceptResearch', [offerId]);
    const offer = this.offerOrThrow(offerId);
    const earlier = this.researchDecisions.find((d) => d.offerId === offerId && d.status === 'delivered');
    if (earlier) {
      return {
        offerId,
        participationId: earlier.participationId as string,
        credits: earlier.credits,
        elementCount: earlier.shared?.elementCount ?? 0,
        alreadyDelivered: true,
      };
    }
    if (this.researchOptedOut)
      throw new ResearchError('OPTED_OUT', 'you opted out of research: opt in again to take part in a study');
    // an interrupted delivery finishes whatever the offer's status; a fresh accept needs it open and matching
    if (offer.status !== 'open' && offer.finishable !== true)
      throw new ResearchError('CLOSED', `the study ${offerId} is ${offer.status}`);
    if (!offer.matches && offer.finishable !== true)
      throw new ResearchError(
        'NOT_MATCHING',
        `your records do not meet this study's criteria: ${offer.reasons.join('; ')}`,
      );
    const participationId = `rp-${randomUUID()}`;
    const at = new Date().toISOString();
    offer.decision = 'accepted';
    offer.stage = 'delivered';
    delete offer.finishable;
    this.researchDecisions = this.researchDecisions.filter((d) => d.offerId !== offerId);
    this.researchDecisions.unshift({
      offerId,
      title: offer.title,
      decision: 'accepted',
      decidedAt: at,
      status: 'delivered',
      participationId,
      credits: offer.creditsPerParticipant,
      deliveredAt: at,
      shared: {
        codes: offer.preview.elements
          .filter((e) => e.system !== undefined && e.code !== undefined)
          .map((e) => ({
            system: e.system as string,
            code: e.code as string,
            ...(e.display ? { display: e.display } : {}),
            count: 1,
          })),
        demographics: Object.keys(offer.preview.demographics),
        elementCount: offer.preview.elements.length,
      },
    });
    const balance = this.researchCreditState.balance + offer.creditsPerParticipant;
    this.researchCreditState = {
      ...this.researchCreditState,
      balance,
      entries: [
        {
          docType: 'credit-entry',
          accountId: this.pseudonym,
          entryId: `ce-${participationId}`,
          kind: 'payment',
          amount: offer.creditsPerParticipant,
          balanceAfter: balance,
          offerId,
          participationId,
          recordedAt: at,
          txId: randomUUID().replace(/-/g, ''),
        },
        ...this.researchCreditState.entries,
      ],
    };
    return {
      offerId,
      participationId,
      credits: offer.creditsPerParticipant,
      elementCount: offer.preview.elements.length,
      alreadyDelivered: false,
    };
  }

  async declineResearch(offerId: string): Promise<ResearchDeclineResult> {
    this.enter('declineResearch', [offerId]);
    const offer = this.offerOrThrow(offerId);
    if (offer.decision === 'accepted') throw new ResearchError('ALREADY_DECIDED', `you accepted the study ${offerId}`);
    if (offer.decision === 'declined') return { offerId, placeKept: false };
    offer.decision = 'declined';
    this.researchDecisions.unshift({
      offerId,
      title: offer.title,
      decision: 'declined',
      decidedAt: new Date().toISOString(),
      status: 'declined',
      credits: 0,
    });
    return { offerId, placeKept: false };
  }

  async researchHistory(): Promise<ResearchHistoryEntry[]> {
    this.enter('researchHistory', []);
    this.alive();
    return structuredClone(this.researchDecisions);
  }

  async researchCredits(): Promise<ResearchCredits> {
    this.enter('researchCredits', []);
    this.alive();
    return structuredClone(this.researchCreditState);
  }

  async researchStatus(): Promise<ResearchStatus> {
    this.enter('researchStatus', []);
    this.alive();
    return { optedOut: this.researchOptedOut };
  }

  async setResearchOptOut(optedOut: boolean): Promise<ResearchStatus> {
    this.enter('setResearchOptOut', [optedOut]);
    this.alive();
    this.researchOptedOut = optedOut;
    return { optedOut };
  }

  private offerOrThrow(offerId: string): ResearchOfferView {
    this.alive();
    const offer = this.researchOfferList.find((o) => o.offerId === offerId);
    if (!offer) throw new ResearchError('UNKNOWN_OFFER', `the ledger has no study offer ${offerId}`);
    return offer;
  }

  /** After an erase the real agent is closed: every call fails. */
  private alive(): void {
    if (this.erased) throw agentError('CLOSED', 'the agent was erased');
  }
}
