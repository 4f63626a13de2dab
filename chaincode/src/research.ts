import { Info, Returns, Transaction } from 'fabric-contract-api';
import {
  canonicalJson,
  isPseudonym,
  RESEARCH_PURPOSE,
  RESEARCH_USES,
  Roles,
  type AccessEventRecord,
  type ConsentRecord,
  type DeliveryRecord,
  type IdentityRef,
  type InstitutionalExtractRecord,
  type InstitutionalExtractSubmission,
  type Page,
  type ParticipationRecord,
  type PatientRecord,
  type ResearchEventName,
  type ResearchEventPayload,
  type ResearchOfferRecord,
} from '@phr/common';
import { chaincodeEventId, storeAccessEvent } from './access-events';
import { PhrContext } from './context';
import { escrowForOffer, payFromEscrow, refundFromEscrow } from './credit-ledger';
import { conflict, consentRequired, forbidden, invalidArgument, invalidState, notFound } from './errors';
import { Indexes, Keys } from './keys';
import { requireStudyKey, validateOfferTerms } from './offer-terms';
import { getOffer, isExpired, requireOpenOffer, takesParticipants } from './research-offers';
import { callerPseudonym, requireNotErased, requirePatient, requirePatientFor } from './patients';
import { PhrContract, type AccessRules } from './phr-contract';
import { parseJson, requireInt, requireOneOf, requirePseudonym, requireRecordId, requireSha256 } from './validate';

const ALL = Object.values(Roles);
const MAX_MEMBERS = 10_000;
const MAX_DELIVERIES = 200;
const MAX_ELEMENTS = 1_000_000;
const MIN_K = 5;
const IDENTITY_KEY = /^id[0-9a-f]{40}$/;
const QUASI_IDENTIFIER = /^[A-Za-z][A-Za-z0-9-]{0,31}$/;
const LIST_STATUSES = ['', 'open', 'withdrawn'] as const;

/** A patient's research choice: out of every study and every institutional extract. */
export interface ResearchOptOut {
  pseudonym: string;
  optedOut: boolean;
  updatedAt: string;
}

/** A use a researcher declared (Research.DeclareUse), as its retries are answered. */
export interface ResearchUseAnswer {
  subject: string;
  useId: string;
  use: string;
  count: number;
}

interface ResearchUseRecord extends ResearchUseAnswer {
  docType: 'research-use';
  declaredBy: string;
  declaredAt: string;
  txId: string;
}

/** Research.RecordExtract's first argument as it arrives: nothing trusted until validated. */
type ExtractInput = Partial<Record<keyof InstitutionalExtractSubmission, unknown>>;

/**
 * Research on the patient's terms (issue 16): offers researchers post with credits in escrow,
 * participations patients accept and deliver (paid in the same transaction), patients' opt-out,
 * hospitals' de-identified institutional extracts, and the uses researchers declare. Every use of
 * a patient's data is an access event on that patient's log; no event or researcher's read
 * carries a pseudonym.
 */
@Info({ title: 'Research', description: 'Research offers, participations, opt-out, institutional extracts, uses' })
export class ResearchContract extends PhrContract {
  protected readonly rules: AccessRules = {
    PostOffer: [Roles.Researcher],
    WithdrawOffer: [Roles.Researcher],
    ReadOffer: ALL,
    ListOffers: [Roles.Patient, Roles.Researcher, Roles.Admin, Roles.HospitalGateway],
    Accept: [Roles.Patient],
    Deliver: [Roles.Patient],
    ReadParticipation: [Roles.Patient, Roles.Researcher, Roles.HospitalGateway, Roles.Admin],
    ListParticipations: [Roles.Researcher],
    ListMyParticipations: [Roles.Patient],
    SetOptOut: [Roles.Patient],
    IsOptedOut: [Roles.Patient, Roles.HospitalGateway, Roles.Admin],
    OptedOutAmong: [Roles.HospitalGateway, Roles.Admin],
    RecordExtract: [Roles.HospitalGateway, Roles.Admin],
    ReadExtract: [Roles.HospitalGateway, Roles.Admin, Roles.Researcher],
    DeclareUse: [Roles.Researcher],
  };

  constructor() {
    super('Research');
  }

  /**
   * Posts an offer and moves credits × quota from the caller's institute account into its escrow.
   * The same terms posted again by the same researcher are answered with the record.
   * @throws ChaincodeError INVALID_ARGUMENT for bad terms, CONFLICT for another offer under the id,
   *   INVALID_STATE when expired already, or the account is missing or short; NOT_FOUND for a
   *   collecting hospital not in the directory.
   */
  @Transaction()
  @Returns('string')
  async PostOffer(ctx: PhrContext, termsJson: string): Promise<string> {
    const terms = validateOfferTerms(parseJson(termsJson, 'terms'));
    const caller = ctx.caller;
    const existing = await ctx.state.get<ResearchOfferRecord>(Keys.researchOffer(terms.offerId));
    if (existing) {
      if (existing.institute.id === caller.id && canonicalJson(termsOf(existing)) === canonicalJson(terms)) {
        return canonicalJson(existing);
      }
      throw conflict(`offer ${terms.offerId} already exists`);
    }
    const now = ctx.now;
    if (Date.parse(terms.expiresAt) <= Date.parse(now)) throw invalidState('the offer expires before it is posted');
    if (!(await ctx.state.exists(Keys.hospital(terms.collectVia)))) {
      throw notFound(`hospital ${terms.collectVia} is not in the directory`);
    }
    const offer: ResearchOfferRecord = {
      ...terms,
      docType: 'research-offer',
      purpose: RESEARCH_PURPOSE,
      institute: caller.ref,
      status: 'open',
      accepted: 0,
      delivered: 0,
      escrow: terms.creditsPerParticipant * terms.quota,
      postedAt: now,
      updatedAt: now,
    };
    await escrowForOffer(ctx, caller.id, offer);
    await ctx.state.put(Keys.researchOffer(offer.offerId), offer);
    emit(ctx, 'OfferPosted', { subject: offer.offerId, count: offer.quota, credits: offer.creditsPerParticipant });
    return canonicalJson(offer);
  }

  /**
   * Closes the offer to new participants and refunds its escrow but for the places still owed to
   * participants who accepted and may yet deliver (none once it has expired). Calling it again
   * after expiry refunds what was held for them.
   * @throws ChaincodeError FORBIDDEN for anyone but the poster.
   */
  @Transaction()
  @Returns('string')
  async WithdrawOffer(ctx: PhrContext, offerId: string): Promise<string> {
    const offer = await getOffer(ctx, requireRecordId(offerId, 'offerId'));
    if (offer.institute.id !== ctx.caller.id)
      throw forbidden('only the researcher who posted an offer may withdraw it');
    const now = ctx.now;
    const owed = isExpired(offer, now) ? 0 : (offer.accepted - offer.delivered) * offer.creditsPerParticipant;
    const refund = Math.max(offer.escrow - owed, 0);
    if (offer.status === 'withdrawn' && refund === 0) return canonicalJson(offer);
    const refunded = await refundFromEscrow(ctx, offer, refund);
    const withdrawn: ResearchOfferRecord = { ...refunded, status: 'withdrawn', updatedAt: now };
    await ctx.state.put(Keys.researchOffer(offerId), withdrawn);
    emit(ctx, 'OfferWithdrawn', { subject: offerId, credits: refund });
    return canonicalJson(withdrawn);
  }

  @Transaction(false)
  @Returns('string')
  async ReadOffer(ctx: PhrContext, offerId: string): Promise<string> {
    return canonicalJson(await getOffer(ctx, requireRecordId(offerId, 'offerId')));
  }

  /**
   * Offers a page at a time. `open`: still taking participants (open, not expired, places left);
   * `withdrawn`: withdrawn; '': all. A filtered page may hold fewer records than it scanned.
   */
  @Transaction(false)
  @Returns('string')
  async ListOffers(ctx: PhrContext, status: string, pageSize: number, bookmark: string): Promise<string> {
    const wanted = requireOneOf(status ?? '', LIST_STATUSES, 'status');
    const [start, end] = Keys.researchOfferRange;
    const page = await ctx.state.pageByRange<ResearchOfferRecord>(start, end, pageSize, bookmark);
    const now = ctx.now;
    const keep = (o: ResearchOfferRecord) =>
      wanted === '' || (wanted === 'open' ? takesParticipants(o, now) : o.status === wanted);
    return canonicalJson({ ...page, records: page.records.filter(keep) } satisfies Page<ResearchOfferRecord>);
  }

  /**
   * The caller takes a place in the offer under its study consent for it (grantee `{kind:'study',
   * id: offerId}`, purpose HRESCH): a consent that lets the study have what the patient delivers
   * and never lets the researcher pull anything. A retry with the same participationId is
   * answered with the record.
   * @throws ChaincodeError INVALID_STATE when the offer is withdrawn, expired or full, the patient
   *   erased or opted out; CONSENT_REQUIRED when `consentId` is not the caller's study consent for
   *   the offer, in force now; CONFLICT for a second participation in the offer.
   */
  @Transaction()
  @Returns('string')
  async Accept(
    ctx: PhrContext,
    offerId: string,
    participationId: string,
    consentId: string,
    studyKey: string,
  ): Promise<string> {
    requireRecordId(offerId, 'offerId');
    requireRecordId(participationId, 'participationId');
    requireRecordId(consentId, 'consentId');
    requireStudyKey(studyKey);
    const pseudonym = await callerPseudonym(ctx);
    const existing = await ctx.state.get<ParticipationRecord>(Keys.participation(participationId));
    if (existing) {
      if (existing.pseudonym === pseudonym && existing.offerId === offerId) return canonicalJson(existing);
      throw conflict(`participation ${participationId} already exists`);
    }
    requireNotErased(await requirePatient(ctx, pseudonym));
    const offer = await requireOpenOffer(ctx, offerId);
    const now = ctx.now;
    if (await ctx.state.exists(Keys.participant(offerId, pseudonym))) {
      throw conflict(`the patient already takes part in offer ${offerId}`);
    }
    if (await optedOut(ctx, pseudonym)) throw invalidState('the patient opted out of research');
    await requireResearchConsent(ctx, consentId, pseudonym, offer, now);

    const record: ParticipationRecord = {
      docType: 'research-participation',
      participationId,
      offerId,
      pseudonym,
      consentId,
      studyKey,
      status: 'accepted',
      roots: [],
      credits: 0,
      acceptedAt: now,
    };
    await ctx.state.put(Keys.participation(participationId), record);
    await ctx.state.put(Keys.participant(offerId, pseudonym), participationId);
    await ctx.state.putIndex(Indexes.participationByOffer, [offerId, participationId]);
    await ctx.state.putIndex(Indexes.participationByPatient, [pseudonym, participationId]);
    const accepted = offer.accepted + 1;
    await ctx.state.put(Keys.researchOffer(offerId), { ...offer, accepted, updatedAt: now });
    emit(ctx, 'OfferAccepted', { subject: offerId, participationId, count: accepted });
    return canonicalJson(record);
  }

  /**
   * Records the delivery of the caller's sealed extract and pays the offer's credits from its
   * escrow, in one transaction; the patient's access log shows the institute received it. A retry
   * with the same extract hash is answered with the record.
   * The study consent is checked again, as the patient may have revoked it since accepting.
   * @throws ChaincodeError FORBIDDEN for another patient's participation or delivery; INVALID_STATE
   *   when the offer has expired, a delivery was rejected, or the patient is erased or opted out;
   *   CONSENT_REQUIRED when the participation's consent is revoked or no longer in force;
   *   CONFLICT for another extract after delivery.
   */
  @Transaction()
  @Returns('string')
  async Deliver(
    ctx: PhrContext,
    participationId: string,
    deliveryIdsJson: string,
    extractHash: string,
    elementCount: number,
  ): Promise<string> {
    requireRecordId(participationId, 'participationId');
    const deliveryIds = parseDeliveryIds(parseJson(deliveryIdsJson, 'deliveryIds'));
    requireSha256(extractHash, 'extractHash');
    requireInt(elementCount, 'elementCount', 0, MAX_ELEMENTS);
    const pseudonym = await callerPseudonym(ctx);
    const participation = await getParticipation(ctx, participationId);
    if (participation.pseudonym !== pseudonym) throw forbidden('a patient may only deliver their own participation');
    if (participation.status === 'delivered') {
      if (participation.extractHash === extractHash) return canonicalJson(participation);
      throw conflict(`participation ${participationId} has delivered another extract`);
    }
    requireNotErased(await requirePatient(ctx, pseudonym));
    const offer = await getOffer(ctx, participation.offerId);
    const now = ctx.now;
    // A withdrawal keeps the escrow of places already accepted, so those may still deliver until expiry.
    if (isExpired(offer, now)) throw invalidState(`offer ${offer.offerId} has expired`);
    if (await optedOut(ctx, pseudonym)) throw invalidState('the patient opted out of research');
    await requireResearchConsent(ctx, participation.consentId, pseudonym, offer, now);

    const roots = new Set<string>();
    for (const deliveryId of deliveryIds) {
      const delivery = await ctx.state.get<DeliveryRecord>(Keys.delivery(deliveryId));
      if (!delivery) throw notFound(`delivery ${deliveryId} does not exist`);
      if (delivery.pseudonym !== pseudonym) throw forbidden(`delivery ${deliveryId} is not the caller's`);
      if (delivery.status === 'rejected') throw invalidState(`delivery ${deliveryId} was rejected`);
      roots.add(delivery.merkleRoot);
    }

    const paid = await payFromEscrow(ctx, offer, pseudonym, participationId);
    const delivered: ParticipationRecord = {
      ...participation,
      status: 'delivered',
      roots: [...roots].sort(),
      extractHash,
      elementCount,
      credits: offer.creditsPerParticipant,
      deliveredAt: now,
    };
    await ctx.state.put(Keys.participation(participationId), delivered);
    await ctx.state.put(Keys.researchOffer(offer.offerId), { ...paid, delivered: offer.delivered + 1, updatedAt: now });
    await logResearchUse(ctx, {
      pseudonym,
      subject: offer.offerId,
      actor: offer.institute,
      requester: offer.institute,
      references: [offer.offerId, participationId],
      consentIds: [participation.consentId],
    });
    emit(ctx, 'ExtractDelivered', { subject: offer.offerId, participationId, credits: offer.creditsPerParticipant });
    return canonicalJson(delivered);
  }

  /** The owner sees its pseudonym in it; the offer's researcher, gateways and admins do not. */
  @Transaction(false)
  @Returns('string')
  async ReadParticipation(ctx: PhrContext, participationId: string): Promise<string> {
    const record = await getParticipation(ctx, requireRecordId(participationId, 'participationId'));
    const caller = ctx.caller;
    if (caller.role === Roles.Patient) {
      if (record.pseudonym !== (await callerPseudonym(ctx))) {
        throw forbidden('a patient may only see their own participations');
      }
      return canonicalJson(record);
    }
    if (caller.role === Roles.Researcher) {
      const offer = await getOffer(ctx, record.offerId);
      if (offer.institute.id !== caller.id) throw forbidden('only the researcher who posted the offer may see it');
    }
    return canonicalJson(stripped(record));
  }

  /** The offer's participations, without pseudonyms, for the researcher who posted it. */
  @Transaction(false)
  @Returns('string')
  async ListParticipations(ctx: PhrContext, offerId: string, pageSize: number, bookmark: string): Promise<string> {
    const offer = await getOffer(ctx, requireRecordId(offerId, 'offerId'));
    if (offer.institute.id !== ctx.caller.id) throw forbidden('only the researcher who posted the offer may list it');
    const page = await ctx.state.pageByIndex<ParticipationRecord>(
      Indexes.participationByOffer,
      [offerId],
      pageSize,
      bookmark,
      async ([, id]) => {
        const record = await ctx.state.get<ParticipationRecord>(Keys.participation(id ?? ''));
        return record && stripped(record);
      },
    );
    return canonicalJson(page);
  }

  /** All of the caller's own participations. */
  @Transaction(false)
  @Returns('string')
  async ListMyParticipations(ctx: PhrContext): Promise<string> {
    const pseudonym = await callerPseudonym(ctx);
    const out: ParticipationRecord[] = [];
    for (const [, id] of await ctx.state.allByIndex(Indexes.participationByPatient, [pseudonym])) {
      const record = await ctx.state.get<ParticipationRecord>(Keys.participation(id ?? ''));
      if (record) out.push(record);
    }
    return canonicalJson(out);
  }

  /** The caller opts out of research altogether ('true') or back in ('false'). */
  @Transaction()
  @Returns('string')
  async SetOptOut(ctx: PhrContext, optedOut: string): Promise<string> {
    const value = requireOneOf(String(optedOut), ['true', 'false'] as const, 'optedOut') === 'true';
    const pseudonym = await callerPseudonym(ctx);
    const record: ResearchOptOut = { pseudonym, optedOut: value, updatedAt: ctx.now };
    await ctx.state.put(Keys.researchOptOut(pseudonym), record);
    return canonicalJson(record);
  }

  @Transaction(false)
  @Returns('string')
  async IsOptedOut(ctx: PhrContext, pseudonym: string): Promise<string> {
    await requirePatientFor(ctx, requirePseudonym(pseudonym), 'a patient may only ask about themselves');
    return canonicalJson(await optedOut(ctx, pseudonym));
  }

  /** Which of the given patients opted out of research, sorted: for a hospital building an extract. */
  @Transaction(false)
  @Returns('string')
  async OptedOutAmong(ctx: PhrContext, pseudonymsJson: string): Promise<string> {
    const out: string[] = [];
    for (const pseudonym of parsePseudonyms(parseJson(pseudonymsJson, 'pseudonyms'), 0)) {
      if (await optedOut(ctx, pseudonym)) out.push(pseudonym);
    }
    return canonicalJson(out);
  }

  /**
   * Records a de-identified extract the caller's hospital produced for a researcher, its members,
   * and one access event per member. Only the hospital's own patients may be members (each with a
   * delivery the hospital sent), so no hospital writes research events on a stranger's log. A
   * retry with the same hash is answered with the record.
   * @throws ChaincodeError NOT_FOUND / INVALID_STATE when members are unregistered, erased or opted
   *   out, FORBIDDEN when some had no delivery from the caller's hospital (all counted, not named);
   *   CONFLICT for another extract under the id.
   */
  @Transaction()
  @Returns('string')
  async RecordExtract(ctx: PhrContext, extractJson: string, pseudonymsJson: string): Promise<string> {
    const input = parseJson<ExtractInput | null>(extractJson, 'extract');
    if (!input || typeof input !== 'object' || Array.isArray(input)) throw invalidArgument('extract must be an object');
    const extractId = requireRecordId(input.extractId as string, 'extractId');
    const requestId = requireRecordId(input.requestId as string, 'requestId');
    if (typeof input.researcher !== 'string' || !IDENTITY_KEY.test(input.researcher)) {
      throw invalidArgument("researcher must be the researcher's identity key");
    }
    const researcher = input.researcher;
    const extractHash = requireSha256(input.extractHash as string, 'extractHash');
    const k = requireInt(input.k as number, 'k', MIN_K, MAX_ELEMENTS);
    const quasiIdentifiers = parseQuasiIdentifiers(input.quasiIdentifiers);
    const rowCount = requireInt(input.rowCount as number, 'rowCount', 0, 100_000_000);
    const members = parsePseudonyms(parseJson(pseudonymsJson, 'pseudonyms'), 1);
    const caller = ctx.caller;

    const existing = await ctx.state.get<InstitutionalExtractRecord>(Keys.researchExtract(extractId));
    if (existing) {
      if (existing.hospital === caller.mspId && existing.extractHash === extractHash) return canonicalJson(existing);
      throw conflict(`extract ${extractId} already exists`);
    }
    let unknown = 0;
    let erased = 0;
    let out = 0;
    for (const pseudonym of members) {
      const patient = await ctx.state.get<PatientRecord>(Keys.patient(pseudonym));
      if (!patient) unknown += 1;
      else if (patient.erasedAt !== undefined) erased += 1;
      else if (await optedOut(ctx, pseudonym)) out += 1;
    }
    if (unknown > 0) throw notFound(`${unknown} of the extract's patients are not registered`);
    if (erased > 0) throw invalidState(`${erased} of the extract's patients are erased`);
    if (out > 0) throw invalidState(`${out} of the extract's patients opted out of research`);
    let strangers = 0;
    for (const pseudonym of members) {
      if (!(await hasDeliveryFrom(ctx, pseudonym, caller.mspId))) strangers += 1;
    }
    if (strangers > 0) {
      throw forbidden(`${strangers} of the extract's patients have no delivery from ${caller.mspId}`);
    }

    const now = ctx.now;
    const record: InstitutionalExtractRecord = {
      docType: 'research-extract',
      extractId,
      requestId,
      hospital: caller.mspId,
      researcher,
      extractHash,
      k,
      quasiIdentifiers,
      rowCount,
      patientCount: members.length,
      recordedAt: now,
      txId: ctx.stub.getTxID(),
    };
    await ctx.state.put(Keys.researchExtract(extractId), record);
    const requester: IdentityRef = { mspId: caller.mspId, role: Roles.Researcher, id: researcher };
    for (const pseudonym of members) {
      await ctx.state.putIndex(Indexes.extractMember, [extractId, pseudonym]);
      await logResearchUse(ctx, {
        pseudonym,
        subject: extractId,
        actor: caller.ref,
        requester,
        references: [extractId],
      });
    }
    emit(ctx, 'InstitutionalExtractRecorded', { subject: extractId, count: members.length });
    return canonicalJson(record);
  }

  /** For the producing hospital's gateway and admins, and the researcher it is for. */
  @Transaction(false)
  @Returns('string')
  async ReadExtract(ctx: PhrContext, extractId: string): Promise<string> {
    const record = await ctx.state.get<InstitutionalExtractRecord>(
      Keys.researchExtract(requireRecordId(extractId, 'extractId')),
    );
    if (!record) throw notFound(`extract ${extractId} does not exist`);
    const caller = ctx.caller;
    const allowed =
      caller.role === Roles.Researcher ? record.researcher === caller.id : record.hospital === caller.mspId;
    if (!allowed) throw forbidden('only the producing hospital and the named researcher may read an extract');
    return canonicalJson(record);
  }

  /**
   * The researcher declares a use of an offer's deliveries (one it posted) or of an institutional
   * extract (one made for it): an access event on each member's log. A retry with the same useId
   * is answered with the first answer.
   * @throws ChaincodeError NOT_FOUND for an unknown subject, FORBIDDEN for someone else's, CONFLICT
   *   for a useId already used otherwise.
   */
  @Transaction()
  @Returns('string')
  async DeclareUse(ctx: PhrContext, subject: string, useId: string, use: string): Promise<string> {
    requireRecordId(subject, 'subject');
    requireRecordId(useId, 'useId');
    requireOneOf(use, RESEARCH_USES, 'use');
    const caller = ctx.caller;
    const existing = await ctx.state.get<ResearchUseRecord>(Keys.researchUse(useId));
    if (existing) {
      if (existing.subject === subject && existing.use === use && existing.declaredBy === caller.id) {
        return canonicalJson(useAnswer(existing));
      }
      throw conflict(`use ${useId} already exists`);
    }
    const members = await membersFor(ctx, subject);
    for (const pseudonym of members) {
      await logResearchUse(ctx, {
        pseudonym,
        subject,
        actor: caller.ref,
        requester: caller.ref,
        references: [subject, useId],
      });
    }
    const record: ResearchUseRecord = {
      docType: 'research-use',
      subject,
      useId,
      use,
      count: members.length,
      declaredBy: caller.id,
      declaredAt: ctx.now,
      txId: ctx.stub.getTxID(),
    };
    await ctx.state.put(Keys.researchUse(useId), record);
    emit(ctx, 'ResearchUseDeclared', { subject, useId, count: members.length });
    return canonicalJson(useAnswer(record));
  }
}

async function getParticipation(ctx: PhrContext, participationId: string): Promise<ParticipationRecord> {
  const record = await ctx.state.get<ParticipationRecord>(Keys.participation(participationId));
  if (!record) throw notFound(`participation ${participationId} does not exist`);
  return record;
}

/** The terms part of an offer record, to compare a retried post with. */
function termsOf(offer: ResearchOfferRecord) {
  const { offerId, title, criteria, wanted, dates, creditsPerParticipant, quota, expiresAt, collectVia } = offer;
  return {
    offerId,
    title,
    criteria,
    wanted,
    dates,
    creditsPerParticipant,
    quota,
    expiresAt,
    collectVia,
    encryptionPublicKey: offer.encryptionPublicKey,
  };
}

/** Everyone but the patient reads a participation without the pseudonym. */
function stripped(record: ParticipationRecord): ParticipationRecord {
  const copy = { ...record };
  delete copy.pseudonym;
  return copy;
}

/** Whether `mspId` ever sent the patient a delivery; the scan stops at the first it finds. */
async function hasDeliveryFrom(ctx: PhrContext, pseudonym: string, mspId: string): Promise<boolean> {
  return ctx.state.someByIndex(Indexes.deliveryByPatient, [pseudonym], async ([, deliveryId]) => {
    const delivery = await ctx.state.get<DeliveryRecord>(Keys.delivery(deliveryId ?? ''));
    return delivery?.sender === mspId;
  });
}

async function optedOut(ctx: PhrContext, pseudonym: string): Promise<boolean> {
  return (await ctx.state.get<ResearchOptOut>(Keys.researchOptOut(pseudonym)))?.optedOut === true;
}

/**
 * The consent a participation rests on: the patient's study consent for this very offer, active
 * and in force now, purpose HRESCH. A consent for the researcher's identity or organisation does
 * not do: it would also let the researcher pull the patient's records through a gateway.
 */
async function requireResearchConsent(
  ctx: PhrContext,
  consentId: string,
  pseudonym: string,
  offer: ResearchOfferRecord,
  now: string,
): Promise<void> {
  const consent = await ctx.state.get<ConsentRecord>(Keys.consent(consentId));
  // Another patient's consent is answered like a missing one: its existence is not the caller's business.
  if (!consent || consent.pseudonym !== pseudonym) throw consentRequired(`consent ${consentId} is not the caller's`);
  if (consent.status !== 'active') throw consentRequired(`consent ${consentId} is revoked`);
  if (!consent.purposes.includes(RESEARCH_PURPOSE)) {
    throw consentRequired(`consent ${consentId} does not cover purpose ${RESEARCH_PURPOSE}`);
  }
  if (consent.grantee.kind !== 'study' || consent.grantee.id !== offer.offerId) {
    throw consentRequired(`consent ${consentId} is not a study consent for offer ${offer.offerId}`);
  }
  const t = Date.parse(now);
  if (t < Date.parse(consent.period.start) || t >= Date.parse(consent.period.end)) {
    throw consentRequired(`consent ${consentId} is not in force now`);
  }
}

/** Members a use is declared for: an offer's delivered participants, or an extract's patients. */
async function membersFor(ctx: PhrContext, subject: string): Promise<string[]> {
  const caller = ctx.caller;
  const offer = await ctx.state.get<ResearchOfferRecord>(Keys.researchOffer(subject));
  if (offer && offer.institute.id === caller.id) {
    const members: string[] = [];
    for (const [, id] of await ctx.state.allByIndex(Indexes.participationByOffer, [subject])) {
      const record = await ctx.state.get<ParticipationRecord>(Keys.participation(id ?? ''));
      if (record?.status === 'delivered' && record.pseudonym) members.push(record.pseudonym);
    }
    return members;
  }
  const extract = await ctx.state.get<InstitutionalExtractRecord>(Keys.researchExtract(subject));
  if (extract && extract.researcher === caller.id) {
    return (await ctx.state.allByIndex(Indexes.extractMember, [subject])).map(([, pseudonym]) => pseudonym ?? '');
  }
  if (offer || extract) throw forbidden(`${subject} is not the caller's offer or extract`);
  throw notFound(`no offer or extract ${subject} exists`);
}

/** An access event on the patient's own log, written by the chaincode from its own records. */
async function logResearchUse(
  ctx: PhrContext,
  event: {
    pseudonym: string;
    subject: string;
    actor: IdentityRef;
    requester: IdentityRef;
    references: string[];
    consentIds?: string[];
  },
): Promise<void> {
  const record: AccessEventRecord = {
    docType: 'access-event',
    eventId: chaincodeEventId(ctx, 'rs', event.subject, event.pseudonym),
    pseudonym: event.pseudonym,
    action: 'research',
    outcome: 'success',
    actor: event.actor,
    requester: event.requester,
    purpose: RESEARCH_PURPOSE,
    references: [...new Set(event.references)].sort(),
    breakGlass: false,
    consentIds: event.consentIds ?? [],
    recordedAt: ctx.now,
    txId: ctx.stub.getTxID(),
  };
  await storeAccessEvent(ctx, record);
}

/** One event per transaction (Fabric keeps the last): ids and counts only, never a pseudonym. */
function emit(ctx: PhrContext, name: ResearchEventName, payload: ResearchEventPayload): void {
  ctx.stub.setEvent(name, Buffer.from(canonicalJson(payload)));
}

const useAnswer = (r: ResearchUseAnswer): ResearchUseAnswer => ({
  subject: r.subject,
  useId: r.useId,
  use: r.use,
  count: r.count,
});

function parseDeliveryIds(value: unknown): string[] {
  if (!Array.isArray(value) || value.length > MAX_DELIVERIES) {
    throw invalidArgument(`deliveryIds must be an array of at most ${MAX_DELIVERIES} delivery ids`);
  }
  return [...new Set(value.map((id) => requireRecordId(id as string, 'deliveryIds')))];
}

/** Pseudonyms, each once and sorted. */
function parsePseudonyms(value: unknown, min: number): string[] {
  if (!Array.isArray(value) || value.length < min || value.length > MAX_MEMBERS) {
    throw invalidArgument(`pseudonyms must be an array of ${min} to ${MAX_MEMBERS} pseudonyms`);
  }
  if (!value.every(isPseudonym)) throw invalidArgument('pseudonyms must match pt[a-z2-7]{26}');
  return [...new Set(value)].sort();
}

function parseQuasiIdentifiers(value: unknown): string[] {
  const names = Array.isArray(value) ? (value as unknown[]) : undefined;
  if (!names || names.length > 16 || !names.every((q) => typeof q === 'string' && QUASI_IDENTIFIER.test(q))) {
    throw invalidArgument('quasiIdentifiers must be an array of at most 16 names');
  }
  return [...new Set(names as string[])].sort();
}
