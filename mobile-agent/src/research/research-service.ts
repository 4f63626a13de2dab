/**
 * Research on the patient's terms (issue 16 items 2, 3 and 7): offers are matched here, against
 * the vault, and nothing leaves for an offer the patient does not accept. Accepting runs, each
 * step recorded in the vault before the next so a retry carries on where it stopped and sends
 * nothing twice:
 *
 *   prepared  the participation id, study key and extract are made and kept (nothing sent yet)
 *   consented a consent for the study is on the ledger (grantee: the study, i.e. the offer; purpose
 *             HRESCH). It lets Research.Accept take a place and never authorises a pull.
 *   accepted  Research.Accept holds a place in the quota
 *   sealed    the extract is signed with the study key and sealed to the researcher's key
 *   posted    the collecting hospital's gateway holds the envelope
 *   delivered Research.Deliver recorded its hash and paid the credits; extract and envelope dropped
 *
 * Once delivered, nothing more flows under the study consent, so it is revoked; that is best
 * effort (a delivery never fails for it) and retried on the next accept or sync until it holds.
 *
 * A decline before anything reached the ledger is written in the vault only. A decline after the
 * study consent reached the ledger (until the extract is sealed for sending) revokes that
 * consent and sends nothing; a place already taken in the quota stays accepted on the ledger.
 */
import { randomUUID } from 'node:crypto';
import {
  isRecordId,
  numberText,
  RESEARCH_PURPOSE,
  seal,
  type CodeRef,
  type DataElement,
  type ExtractElement,
  type ResearchExtract,
  type ResearchOfferRecord,
  type SealedEnvelope,
} from '@phr/common';
import type { AgentLedger } from '../ledger/agent-ledger';
import type { Logger } from '../logger';
import type { GatewayTransport } from '../transport/gateway-transport';
import type { ResearchDecision, ResearchSecret, ResearchShared, Vault, VaultElement } from '../vault/vault-types';
import { deidentify, type Deidentified } from './deidentify';
import { buildExtract, extractAad, extractBytes, extractHash } from './extract';
import { matchOffer, patientFacts, type PatientFacts } from './matching';
import { ResearchError } from './research-error';
import type {
  ResearchAcceptResult,
  ResearchCredits,
  ResearchDeclineResult,
  ResearchHistoryEntry,
  ResearchOfferView,
  ResearchPreviewRow,
  ResearchStatus,
} from './research-types';
import { newStudyKey, studyKeyOf } from './study-key';

export interface ResearchDeps {
  pseudonym: string;
  ledger: AgentLedger;
  vault: Vault;
  /** The gateway of the hospital with this MSP ID (learned from the directory when unknown), or undefined. */
  gatewayFor(mspId: string): Promise<GatewayTransport | undefined>;
  /** The device's date-shift secret (derived from the keystore); never leaves the device. */
  shiftSecret: Uint8Array;
  log: Logger;
  now?: () => Date;
}

interface VaultSource {
  elements: VaultElement[];
  roots: Map<string, string>;
  patient: PatientFacts;
}

/** At most this many codes name a study's consent (the ledger takes up to 256). */
const MAX_CONSENT_CODES = 256;

export class ResearchService {
  constructor(private readonly d: ResearchDeps) {}

  private now(): Date {
    return this.d.now?.() ?? new Date();
  }

  /**
   * Open offers with whether the vault matches and what would be sent; non-matching ones only
   * with `all` (marked). Offers this patient already accepted are listed while still open, and
   * so is one whose delivery was interrupted after its place was taken, whatever the offer's
   * status, until it expires: the ledger still takes that delivery (see `finishable`).
   */
  async list(options: { all?: boolean } = {}): Promise<ResearchOfferView[]> {
    const [offers, source, decisions] = await Promise.all([
      this.d.ledger.listOpenOffers(),
      this.source(),
      this.d.vault.researchDecisions(),
    ]);
    const byOffer = new Map(decisions.map((x) => [x.offerId, x]));
    const open = new Set(offers.map((o) => o.offerId));
    const taken = await this.placesTaken(decisions.filter((x) => interrupted(x) && !open.has(x.offerId)));
    const views = offers.map((o) => this.view(o, source, byOffer.get(o.offerId), true));
    for (const x of decisions) {
      if (!taken.has(x.offerId)) continue;
      // the ledger knows this participation already: reading its offer by id tells the peer nothing new
      const offer = await this.d.ledger.readOffer(x.offerId);
      if (!offer || this.expired(offer)) continue;
      views.push(this.view(offer, source, x, true));
    }
    return options.all ? views : views.filter((v) => v.matches || v.decision === 'accepted');
  }

  /**
   * One offer, open or not.
   * @throws ResearchError UNKNOWN_OFFER when the ledger has no such offer.
   */
  async show(offerId: string): Promise<ResearchOfferView> {
    const offer = await this.findOffer(offerId);
    const [source, decision] = await Promise.all([this.source(), this.d.vault.researchDecision(offerId)]);
    const placeTaken =
      decision !== undefined &&
      interrupted(decision) &&
      (this.statusOf(offer) === 'open' || (await this.placesTaken([decision])).has(offerId));
    return this.view(offer, source, decision, placeTaken);
  }

  /**
   * Accepts and delivers (see the file's comment); run again after a failure to finish.
   * @throws ResearchError UNKNOWN_OFFER, CLOSED, NOT_MATCHING, OPTED_OUT, NO_GATEWAY or
   * NOTHING_TO_SHARE before anything is sent; ALREADY_DECIDED when declined after its consent
   * reached the ledger; INCOMPLETE when a later step failed (its cause says which).
   */
  async accept(offerId: string): Promise<ResearchAcceptResult> {
    await this.settleConsents();
    let decision = await this.d.vault.researchDecision(offerId);
    const done = decision && settled(decision);
    if (done) return done;
    const offer = await this.findOffer(offerId);
    const gateway = await this.d.gatewayFor(offer.collectVia);
    if (!gateway) {
      throw new ResearchError('NO_GATEWAY', `no known hospital gateway collects for ${offer.collectVia}`);
    }
    const fresh = decision?.decision !== 'accepted' || decision.stage === 'prepared';
    if (fresh) {
      const state = this.statusOf(offer);
      if (state !== 'open')
        throw new ResearchError(
          'CLOSED',
          `the study ${offerId} is ${state === 'closed' ? 'closed (expired or full)' : 'withdrawn'}`,
        );
      if (await this.d.ledger.isResearchOptedOut(this.d.pseudonym)) {
        throw new ResearchError('OPTED_OUT', 'you opted out of research: opt in again to take part in a study');
      }
    }
    if (decision?.decision !== 'accepted') decision = await this.prepare(offer);

    const d = decision;
    try {
      await this.consent(d, offer);
      await this.acceptOnLedger(d);
      const envelope = await this.sealed(d, offer);
      if (d.stage === 'sealed') {
        await gateway.postResearchExtract({ offerId, participationId: d.participationId as string, envelope });
        await this.advance(d, { stage: 'posted' });
      }
      const secret = d.secret as ResearchSecret;
      const bytes = Buffer.from(secret.extractJson as string, 'utf8');
      const record = await this.d.ledger.deliverExtract(
        d.participationId as string,
        secret.deliveryIds,
        extractHash(bytes),
        secret.shared.elementCount,
      );
      // the extract and envelope are not needed once delivered: only what the history shows stays
      const kept: ResearchSecret = {
        studyPrivateKeyPem: secret.studyPrivateKeyPem,
        studyCertificatePem: secret.studyCertificatePem,
        deliveryIds: secret.deliveryIds,
        shared: secret.shared,
      };
      await this.advance(d, {
        stage: 'delivered',
        credits: record.credits,
        ...(record.deliveredAt ? { deliveredAt: record.deliveredAt } : {}),
        secret: kept,
        consentRevoked: false,
      });
      await this.revokeStudyConsent(d);
      await this.d.vault.addNotification(
        'research',
        `You shared de-identified data with the study “${d.title}” and earned ${record.credits} credits.`,
        `research:${d.participationId as string}`,
      );
      this.d.log.info({ offerId, participationId: d.participationId }, 'research extract delivered');
      return {
        offerId,
        participationId: d.participationId as string,
        credits: record.credits,
        elementCount: secret.shared.elementCount,
        alreadyDelivered: false,
      };
    } catch (err) {
      this.d.log.warn(
        { offerId, stage: d.stage, err: errorText(err) },
        'research delivery stopped; it resumes on the next accept',
      );
      throw new ResearchError(
        'INCOMPLETE',
        `the study ${offerId} is accepted but not delivered yet (${errorText(err)}); run accept again to finish`,
        { cause: err },
      );
    }
  }

  /**
   * Declines. Before the study consent reached the ledger, on this device only: nothing is sent
   * and the researcher cannot tell it from not matching. After (consented or accepted, extract not
   * yet sealed for sending), the study consent is revoked (or on the next sync if the ledger is out of
   * reach), the extract and study key are dropped, and a place already taken stays accepted.
   * @throws ResearchError ALREADY_DECIDED once the extract was sealed for sending (it may have reached the gateway);
   * UNKNOWN_OFFER for a first decision on an offer the ledger does not have.
   */
  async decline(offerId: string): Promise<ResearchDeclineResult> {
    const earlier = await this.d.vault.researchDecision(offerId);
    if (earlier?.decision === 'declined') {
      await this.revokeStudyConsent(earlier);
      return { offerId, placeKept: reachedLedger(earlier) };
    }
    if (earlier?.decision === 'accepted') {
      // from `sealed` on, a send may have reached the gateway (its answer lost): "nothing sent" would not hold
      if (earlier.stage === 'sealed' || earlier.stage === 'posted' || earlier.stage === 'delivered') {
        throw new ResearchError(
          'ALREADY_DECIDED',
          earlier.stage === 'delivered'
            ? `you took part in the study ${offerId}: its extract was delivered`
            : `your extract for the study ${offerId} may already have reached the collecting hospital; run accept to finish`,
        );
      }
      // the extract and study key go: nothing can be sent for this study from now on
      const declined: ResearchDecision = {
        offerId,
        decision: 'declined',
        decidedAt: this.now().toISOString(),
        title: earlier.title,
        credits: 0,
        ...(earlier.participationId !== undefined ? { participationId: earlier.participationId } : {}),
        ...(earlier.consentId !== undefined ? { consentId: earlier.consentId, consentRevoked: false } : {}),
        ...(earlier.stage !== undefined ? { stage: earlier.stage } : {}),
      };
      await this.d.vault.putResearchDecision(declined);
      await this.revokeStudyConsent(declined);
      this.d.log.info({ offerId, stage: declined.stage }, 'research study declined after accepting; nothing sent');
      return { offerId, placeKept: reachedLedger(declined) };
    }
    const offer = await this.findOffer(offerId);
    const decision: ResearchDecision = {
      offerId,
      decision: 'declined',
      decidedAt: this.now().toISOString(),
      title: offer.title,
      credits: 0,
    };
    await this.d.vault.putResearchDecision(decision);
    return { offerId, placeKept: false };
  }

  /**
   * Revokes the study consents nothing more may flow under (delivered or declined studies) that
   * are not revoked yet. Never throws: a failure is logged and retried on the next call.
   */
  async settleConsents(): Promise<void> {
    let decisions: ResearchDecision[];
    try {
      decisions = await this.d.vault.researchDecisions();
    } catch (err) {
      this.d.log.warn({ err: errorText(err) }, 'research decisions not readable; study consents checked later');
      return;
    }
    for (const d of decisions) {
      if (d.decision === 'declined' || d.stage === 'delivered') await this.revokeStudyConsent(d);
    }
  }

  /**
   * The broadcast reaching the patient: one notification per open offer the vault matches and
   * the patient has not decided on (once per offer). Everything is read and matched here, so
   * nobody learns which offers matched. Not while opted out. Never throws: logged, tried next sync.
   * @returns how many offers were newly announced.
   */
  async announceMatchingOffers(): Promise<number> {
    try {
      // Every sync runs this: one ledger read when no offer is open; the vault is read only when one is.
      const offers = await this.d.ledger.listOpenOffers();
      if (offers.length === 0) return 0;
      if (await this.d.ledger.isResearchOptedOut(this.d.pseudonym)) return 0;
      const [source, decisions] = await Promise.all([this.source(), this.d.vault.researchDecisions()]);
      const decided = new Set(decisions.map((x) => x.offerId));
      let announced = 0;
      for (const offer of offers) {
        if (decided.has(offer.offerId)) continue;
        const v = this.view(offer, source, undefined, false);
        if (!v.matches || v.status !== 'open') continue;
        const added = await this.d.vault.addNotification(
          'research',
          `A study matches your records: “${v.title}” (${v.creditsPerParticipant} credits). Nothing is shared unless you accept.`,
          `offer:${v.offerId}`,
        );
        if (added) announced++;
      }
      return announced;
    } catch (err) {
      this.d.log.warn({ err: errorText(err) }, 'research offers not checked; tried again at the next sync');
      return 0;
    }
  }

  /** Every decision, with what each accepted study got and the credits the ledger paid. */
  async history(): Promise<ResearchHistoryEntry[]> {
    const [decisions, participations] = await Promise.all([
      this.d.vault.researchDecisions(),
      this.d.ledger.listMyParticipations(),
    ]);
    const onLedger = new Map(participations.map((p) => [p.participationId, p]));
    const entries: ResearchHistoryEntry[] = decisions.map((x) => {
      const p = x.participationId ? onLedger.get(x.participationId) : undefined;
      const delivered = p?.status === 'delivered' || x.stage === 'delivered';
      return {
        offerId: x.offerId,
        title: x.title,
        decision: x.decision,
        decidedAt: x.decidedAt,
        status: x.decision === 'declined' ? 'declined' : delivered ? 'delivered' : 'pending',
        ...(x.participationId ? { participationId: x.participationId } : {}),
        credits: p?.credits ?? x.credits,
        ...((p?.deliveredAt ?? x.deliveredAt) ? { deliveredAt: p?.deliveredAt ?? x.deliveredAt } : {}),
        ...(x.secret ? { shared: x.secret.shared } : {}),
      };
    });
    // participations made on another device (before a restore): the ledger knows them, this vault does not
    const known = new Set(decisions.map((x) => x.participationId));
    for (const p of participations) {
      if (known.has(p.participationId)) continue;
      entries.push({
        offerId: p.offerId,
        title: '',
        decision: 'accepted',
        decidedAt: p.acceptedAt,
        status: p.status === 'delivered' ? 'delivered' : 'pending',
        participationId: p.participationId,
        credits: p.credits,
        ...(p.deliveredAt ? { deliveredAt: p.deliveredAt } : {}),
      });
    }
    return entries.sort((a, b) => b.decidedAt.localeCompare(a.decidedAt));
  }

  async credits(): Promise<ResearchCredits> {
    const [account, entries] = await Promise.all([
      this.d.ledger.readCreditAccount(),
      this.d.ledger.listCreditEntries(),
    ]);
    const newest = [...entries].sort((a, b) => b.recordedAt.localeCompare(a.recordedAt));
    return { accountId: account.accountId, balance: account.balance, entries: newest };
  }

  async status(): Promise<ResearchStatus> {
    return { optedOut: await this.d.ledger.isResearchOptedOut(this.d.pseudonym) };
  }

  /** Opts out of (true) or back into research altogether, on the ledger: hospitals' extracts leave this patient out too. */
  async setOptOut(optedOut: boolean): Promise<ResearchStatus> {
    const record = await this.d.ledger.setResearchOptOut(optedOut);
    return { optedOut: record.optedOut };
  }

  // ---- steps ----

  /** Makes the participation, study key and extract, and keeps them; nothing is sent. */
  private async prepare(offer: ResearchOfferRecord): Promise<ResearchDecision> {
    const now = this.now();
    const source = await this.source();
    const match = matchOffer(offer.criteria, {
      elements: source.elements.map((v) => v.element),
      patient: source.patient,
      now,
    });
    if (!match.matches) {
      throw new ResearchError(
        'NOT_MATCHING',
        `your records do not meet this study's criteria: ${match.reasons.join('; ')}`,
      );
    }
    const deidentified = this.deidentified(offer, source);
    if (deidentified.elements.length === 0) {
      throw new ResearchError('NOTHING_TO_SHARE', 'none of the records this study wants is on this device');
    }
    const participationId = `rp-${randomUUID()}`;
    const key = await newStudyKey(participationId, new Date(Date.parse(offer.expiresAt) + 30 * 86_400_000), now);
    const extract = buildExtract({ offerId: offer.offerId, participationId, dates: offer.dates, deidentified });
    const decision: ResearchDecision = {
      offerId: offer.offerId,
      decision: 'accepted',
      decidedAt: now.toISOString(),
      title: offer.title,
      participationId,
      consentId: randomUUID(),
      stage: 'prepared',
      credits: 0,
      secret: {
        studyPrivateKeyPem: key.privateKeyPem,
        studyCertificatePem: key.certificatePem,
        extractJson: extractBytes(extract).toString('utf8'),
        deliveryIds: deidentified.deliveryIds,
        shared: sharedOf(extract),
      },
    };
    await this.d.vault.putResearchDecision(decision);
    return decision;
  }

  /**
   * The study's consent: to this study (the offer) alone, for research, over the codes shared,
   * until the offer expires. It is what Research.Accept checks; it never authorises a pull.
   */
  private async consent(d: ResearchDecision, offer: ResearchOfferRecord): Promise<void> {
    if (d.stage !== 'prepared') return;
    const consentId = d.consentId as string;
    const existing = (await this.d.ledger.listConsents(this.d.pseudonym)).some((c) => c.consentId === consentId);
    if (!existing) {
      const now = this.now();
      await this.d.ledger.grantConsent({
        consentId,
        grantee: { kind: 'study', id: offer.offerId },
        scope: { categories: [], codes: consentCodes(offer, d) },
        purposes: [RESEARCH_PURPOSE],
        start: now.toISOString(),
        end: offer.expiresAt,
      });
    }
    await this.advance(d, { stage: 'consented' });
  }

  private async acceptOnLedger(d: ResearchDecision): Promise<void> {
    if (d.stage !== 'consented') return;
    const secret = d.secret as ResearchSecret;
    await this.d.ledger.acceptOffer(
      d.offerId,
      d.participationId as string,
      d.consentId as string,
      studyKeyOf(secret.studyPrivateKeyPem),
    );
    await this.advance(d, { stage: 'accepted' });
  }

  /** The envelope: made once (sealing is randomized) and kept, so a retry sends the same bytes. */
  private async sealed(d: ResearchDecision, offer: ResearchOfferRecord): Promise<SealedEnvelope> {
    const secret = d.secret as ResearchSecret;
    if (secret.envelopeJson !== undefined) return JSON.parse(secret.envelopeJson) as SealedEnvelope;
    if (d.stage !== 'accepted') throw new RangeError(`no envelope kept at stage ${String(d.stage)}`);
    const envelope = seal(
      Buffer.from(secret.extractJson as string, 'utf8'),
      { algorithm: 'X25519', publicKey: offer.encryptionPublicKey },
      extractAad(d.offerId, d.participationId as string),
      { certificatePem: secret.studyCertificatePem, privateKeyPem: secret.studyPrivateKeyPem },
    );
    // kept before it is sent: a send that fails after the gateway stored it is retried with these bytes
    await this.advance(d, { stage: 'sealed', secret: { ...secret, envelopeJson: JSON.stringify(envelope) } });
    return envelope;
  }

  /**
   * Revokes the decision's study consent if the ledger holds it active; a consent the ledger does
   * not have (a decline before it was granted) counts as revoked. Best effort: logged, retried later.
   */
  private async revokeStudyConsent(d: ResearchDecision): Promise<void> {
    if (d.consentId === undefined || d.consentRevoked === true) return;
    const consentId = d.consentId;
    try {
      const onLedger = (await this.d.ledger.listConsents(this.d.pseudonym)).find((c) => c.consentId === consentId);
      if (onLedger?.status === 'active') await this.d.ledger.revokeConsent(consentId);
      await this.advance(d, { consentRevoked: true });
    } catch (err) {
      this.d.log.warn(
        { offerId: d.offerId, err: errorText(err) },
        'study consent not revoked yet; retried on the next accept or sync',
      );
    }
  }

  private async advance(d: ResearchDecision, change: Partial<ResearchDecision>): Promise<void> {
    Object.assign(d, change);
    await this.d.vault.putResearchDecision(d);
  }

  // ---- reading ----

  /** An open offer from the list every agent reads (so asking for one tells the peer nothing more), else the record. */
  private async findOffer(offerId: string): Promise<ResearchOfferRecord> {
    if (!isRecordId(offerId)) throw new ResearchError('UNKNOWN_OFFER', 'this is not a study offer id');
    const open = (await this.d.ledger.listOpenOffers()).find((o) => o.offerId === offerId);
    const offer = open ?? (await this.d.ledger.readOffer(offerId));
    if (!offer) throw new ResearchError('UNKNOWN_OFFER', `the ledger has no study offer ${offerId}`);
    return offer;
  }

  private async source(): Promise<VaultSource> {
    const [deliveries, elements, patients] = await Promise.all([
      this.d.vault.deliveries(),
      this.d.vault.search({ kind: 'coded' }),
      this.d.vault.search({ resourceType: 'Patient', kind: 'resource' }),
    ]);
    // the Patient resource of the newest delivery (deliveries come newest first)
    const order = new Map(deliveries.map((x, i) => [x.deliveryId, i]));
    const newest = [...patients].sort(
      (a, b) => (order.get(a.deliveryId) ?? Infinity) - (order.get(b.deliveryId) ?? Infinity),
    )[0];
    return {
      elements,
      roots: new Map(deliveries.map((x) => [x.deliveryId, x.merkleRoot])),
      patient: patientFacts(newest?.element.resource),
    };
  }

  private deidentified(offer: ResearchOfferRecord, source: VaultSource): Deidentified {
    return deidentify({
      offer,
      elements: source.elements,
      roots: source.roots,
      patient: source.patient,
      shiftSecret: this.d.shiftSecret,
      now: this.now(),
    });
  }

  /**
   * The offers, among these interrupted decisions, whose place in the quota is on the ledger:
   * past `consented` it is; at `consented` the Accept may have been recorded with its answer lost,
   * which only the ledger's participations tell (read once, and only when needed).
   */
  private async placesTaken(decisions: readonly ResearchDecision[]): Promise<Set<string>> {
    const taken = new Set(decisions.filter((x) => x.stage !== 'consented').map((x) => x.offerId));
    const unsure = decisions.filter((x) => x.stage === 'consented');
    if (unsure.length > 0) {
      const onLedger = new Set((await this.d.ledger.listMyParticipations()).map((p) => p.participationId));
      for (const x of unsure)
        if (x.participationId !== undefined && onLedger.has(x.participationId)) taken.add(x.offerId);
    }
    return taken;
  }

  private expired(offer: ResearchOfferRecord): boolean {
    return Date.parse(offer.expiresAt) <= this.now().getTime();
  }

  private statusOf(offer: ResearchOfferRecord): ResearchOfferView['status'] {
    if (offer.status === 'withdrawn') return 'withdrawn';
    if (this.expired(offer) || offer.accepted >= offer.quota) return 'closed';
    return 'open';
  }

  /**
   * @param placeTaken for an interrupted decision: accepting again can take or still holds its
   * place (the offer is open, or the ledger has the participation).
   */
  private view(
    offer: ResearchOfferRecord,
    source: VaultSource,
    decision: ResearchDecision | undefined,
    placeTaken: boolean,
  ): ResearchOfferView {
    const match = matchOffer(offer.criteria, {
      elements: source.elements.map((v) => v.element),
      patient: source.patient,
      now: this.now(),
    });
    const preview = this.deidentified(offer, source);
    return {
      offerId: offer.offerId,
      title: offer.title,
      institute: offer.institute.mspId,
      collectVia: offer.collectVia,
      creditsPerParticipant: offer.creditsPerParticipant,
      expiresAt: offer.expiresAt,
      dates: offer.dates,
      criteria: offer.criteria,
      wanted: offer.wanted,
      status: this.statusOf(offer),
      matches: match.matches,
      reasons: match.reasons,
      preview: {
        demographics: preview.demographics,
        elements: [...preview.elements.map(previewRow), ...preview.withheld.map(withheldRow)],
      },
      ...(decision ? { decision: decision.decision } : {}),
      ...(decision?.stage ? { stage: decision.stage } : {}),
      ...(decision?.decision === 'declined' && reachedLedger(decision) ? { placeKept: true } : {}),
      ...(decision && interrupted(decision) && placeTaken && !this.expired(offer) ? { finishable: true } : {}),
    };
  }
}

function previewRow(x: ExtractElement): ResearchPreviewRow {
  return rowOf(x.element, x.status, x.status === 'changed' ? x.changes : []);
}

/** A wanted element that stays on the device, shown as the patient's own record reads. */
function withheldRow(e: DataElement): ResearchPreviewRow {
  return rowOf(e, 'withheld', []);
}

function rowOf(
  e: ExtractElement['element'],
  status: ResearchPreviewRow['status'],
  changes: ResearchPreviewRow['changes'],
): ResearchPreviewRow {
  const row: ResearchPreviewRow = { status, resourceType: e.resourceType, changes };
  if (e.system !== undefined) row.system = e.system;
  if (e.code !== undefined) row.code = e.code;
  if (e.display !== undefined) row.display = e.display;
  if (e.value !== undefined)
    row.value = typeof e.value === 'object' || typeof e.value === 'number' ? numberText(e.value) : String(e.value);
  if (e.unit !== undefined) row.unit = e.unit;
  if (e.time !== undefined) row.time = e.time;
  return row;
}

/** What the extract shares, by code (with counts), for the patient's history. */
export function sharedOf(extract: ResearchExtract): ResearchShared {
  const counts = new Map<string, ResearchShared['codes'][number]>();
  for (const x of extract.elements) {
    const { system, code, display } = x.element;
    if (system === undefined || code === undefined) continue;
    const key = `${system}|${code}`;
    const entry = counts.get(key) ?? { system, code, ...(display !== undefined ? { display } : {}), count: 0 };
    entry.count += 1;
    counts.set(key, entry);
  }
  return {
    codes: [...counts.values()],
    demographics: Object.keys(extract.demographics).sort(),
    elementCount: extract.elements.length,
  };
}

/** The consent's codes: those the extract shares, then the offer's exact wanted codes. */
function consentCodes(offer: ResearchOfferRecord, d: ResearchDecision): CodeRef[] {
  const codes = new Map<string, CodeRef>();
  for (const c of d.secret?.shared.codes ?? []) codes.set(`${c.system}|${c.code}`, { system: c.system, code: c.code });
  for (const c of offer.wanted.codes) {
    if (c.code !== undefined) codes.set(`${c.system}|${c.code}`, { system: c.system, code: c.code });
  }
  return [...codes.values()].slice(0, MAX_CONSENT_CODES);
}

/**
 * The answer to accepting a study already settled: delivered before (nothing is sent again).
 * @throws ResearchError ALREADY_DECIDED when it was declined after its consent reached the ledger.
 */
function settled(d: ResearchDecision): ResearchAcceptResult | undefined {
  if (d.decision === 'declined' && reachedLedger(d)) {
    throw new ResearchError(
      'ALREADY_DECIDED',
      `you declined the study ${d.offerId} after accepting it; its consent is revoked and nothing is sent`,
    );
  }
  if (d.decision !== 'accepted' || d.stage !== 'delivered') return undefined;
  return {
    offerId: d.offerId,
    participationId: d.participationId as string,
    credits: d.credits,
    elementCount: d.secret?.shared.elementCount ?? 0,
    alreadyDelivered: true,
  };
}

/**
 * Accepted, with the study consent on the ledger, and not delivered: `accept` carries on from the
 * stage it stopped at and the ledger takes the delivery until the offer expires, even once the
 * quota filled or the offer was withdrawn (the escrow keeps the places accepted). At `prepared`
 * nothing reached the ledger, so it is a fresh accept that needs the offer open.
 */
function interrupted(d: ResearchDecision): boolean {
  return d.decision === 'accepted' && reachedLedger(d) && d.stage !== 'delivered';
}

/** Past `prepared` the study consent was granted on the ledger (and a place may have been taken). */
function reachedLedger(d: ResearchDecision): boolean {
  return d.stage !== undefined && d.stage !== 'prepared';
}

/** The error's code and message only: never a payload. */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err).slice(0, 200);
  const code = (err as { code?: unknown }).code;
  return `${typeof code === 'string' ? `${code}: ` : ''}${err.message}`.slice(0, 300);
}
