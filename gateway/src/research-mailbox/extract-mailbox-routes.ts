import { X509Certificate } from 'node:crypto';
import type { Request, Response } from 'express';
import {
  badRequest,
  canonicalJson,
  EnvelopeError,
  FhirError,
  forbiddenError,
  isRecordId,
  MAX_RESEARCH_EXTRACT_POST_BYTES,
  notFoundError,
  RESEARCH_EXTRACT_PURPOSE,
  Roles,
  unprocessable,
  verifyEnvelope,
  type ParticipationRecord,
  type ResearchExtractList,
  type ResearchExtractPost,
  type ResearchOfferRecord,
  type SealedEnvelope,
} from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import type { Principal } from '../auth/principal';
import { withRole } from '../http/access';
import { principalOf } from '../http/authenticate';
import { mediaType, type BodyReader } from '../http/body';
import type { FhirRoute } from '../http/fhir-route';
import type { LedgerPort } from '../ledger/ledger-port';
import type { Logger } from '../logger';
import { ExtractMailboxError, type ExtractMailboxStore } from './extract-mailbox-store';

export interface ExtractMailboxDeps {
  store: ExtractMailboxStore;
  /** Read at once, not cached: whether the offer is still open and who posted it decide. */
  ledger: Pick<LedgerPort, 'readOffer' | 'readParticipation'>;
  /** This hospital's MSP: it collects only for offers that name it in `collectVia`. */
  hospitalMspId: string;
  body: BodyReader;
  log: Logger;
  now?: () => Date;
}

/** Extracts one GET answers, at most; the researcher acknowledges them and asks again. */
const DEFAULT_PAGE = 100;
const MAX_PAGE = 500;
/** An answer stops adding extracts past this many bytes (one is always sent). */
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/**
 * The research extract mailbox (issue 16 item 3): a patient's agent leaves the extract it sealed
 * to a researcher at the hospital the offer names (`collectVia`); the researcher who posted the
 * offer fetches and acknowledges them. The gateway cannot open an extract; it checks that the
 * offer is unexpired and collected here, that the participation is still accepted (a withdrawal
 * keeps the places accepted before it), and that the envelope is signed by the participation's study
 * key on the ledger, so nobody can fill a participation's place with anything else. Logs carry
 * offer and participation ids only.
 */
export function extractMailboxRoutes(d: ExtractMailboxDeps): FhirRoute[] {
  const now = d.now ?? (() => new Date());
  const noStore = (res: Response) => res.set('Cache-Control', 'no-store');
  return [
    {
      method: 'POST',
      path: '/research/extracts',
      access: withRole([Roles.Patient]),
      answers: [
        {
          kind: 'note',
          documentation:
            'POST /research/extracts (not FHIR; role patient): {offerId, participationId, envelope} of at most 2 MB, ' +
            "an extract sealed to the researcher's key for an unexpired offer this hospital collects for (collectVia), " +
            "signed by the participation's study key on the ledger; the participation must still be accepted (a " +
            'withdrawn offer takes the places accepted before). 201 when kept, 200 for the same again, 409 for ' +
            'another extract of the same participation or for one already delivered and collected. Kept until ' +
            'acknowledged or until the offer expires.',
        },
      ],
      handler: async (req, res) => {
        noStore(res);
        const post = parsePost(await readJson(d.body, req, res));
        const envelopeText = canonicalJson(post.envelope);
        const kept = d.store.get(post.participationId);
        // A retry of what is kept is answered from here: the offer may have closed since.
        if (kept && kept.offerId === post.offerId && kept.envelope === envelopeText) {
          res.status(200).json(received(kept));
          return;
        }
        const offer = collectable(await readOffer(d.ledger, post.offerId), d.hospitalMspId, now());
        const participation = await readParticipation(d.ledger, post.participationId);
        if (!participation || participation.offerId !== offer.offerId) {
          throw notFoundError('no such participation in this offer on the ledger');
        }
        if (signerKey(post.envelope) !== participation.studyKey) {
          throw forbiddenError("the envelope must be signed with the participation's study key");
        }
        // Delivered on the ledger and not kept here (the researcher acknowledged it, or it
        // expired): keeping another would hand the researcher a second extract for one place.
        if (participation.status !== 'accepted') {
          throw new FhirError(
            409,
            'this participation has already delivered its extract, and the researcher has collected it',
          );
        }
        // The chaincode keeps the escrow of places accepted before a withdrawal, and lets them
        // deliver until expiry; Accept refuses a withdrawn offer, so this place predates it.
        let stored;
        try {
          stored = d.store.put({
            participationId: post.participationId,
            offerId: post.offerId,
            envelope: envelopeText,
            receivedAt: now().toISOString(),
            offerExpiresAt: new Date(Date.parse(offer.expiresAt)).toISOString(),
          });
        } catch (err) {
          if (err instanceof ExtractMailboxError) throw new FhirError(409, err.message, { cause: err });
          throw err;
        }
        if (stored.created) {
          d.log.info({ offerId: post.offerId, participationId: post.participationId }, 'research extract received');
        }
        res.status(stored.created ? 201 : 200).json(received(stored.extract));
      },
    },
    {
      method: 'GET',
      path: '/research/offers/:offerId/extracts',
      access: withRole([Roles.Researcher]),
      answers: [
        {
          kind: 'note',
          documentation:
            'GET /research/offers/{offerId}/extracts?_count=n&after=next (not FHIR; the researcher who posted the ' +
            `offer): {extracts: [{participationId, envelope, receivedAt}], more, next}, oldest first, at most n ` +
            `(default ${DEFAULT_PAGE}, at most ${MAX_PAGE}); \`next\` (opaque) with \`after\` fetches the following ` +
            'page, past extracts left unacknowledged; DELETE /research/offers/{offerId}/extracts/{participationId} ' +
            'acknowledges one (204).',
        },
      ],
      handler: async (req, res, params) => {
        noStore(res);
        const offer = await ownOffer(d.ledger, String(req.params['offerId']), principalOf(res));
        const limit = pageSize(params['_count']);
        const waiting = d.store.list(offer.offerId, limit + 1, cursor(params['after']));
        const extracts: ResearchExtractList['extracts'] = [];
        let bytes = 0;
        let last: number | undefined;
        for (const e of waiting.slice(0, limit)) {
          bytes += e.envelope.length;
          if (extracts.length > 0 && bytes > MAX_ANSWER_BYTES) break;
          extracts.push({
            participationId: e.participationId,
            envelope: JSON.parse(e.envelope) as SealedEnvelope,
            receivedAt: e.receivedAt,
          });
          last = e.seq;
        }
        const answer: ResearchExtractList = {
          extracts,
          more: waiting.length > extracts.length,
          ...(last !== undefined ? { next: String(last) } : {}),
        };
        res.json(answer);
      },
    },
    {
      method: 'DELETE',
      path: '/research/offers/:offerId/extracts/:participationId',
      access: withRole([Roles.Researcher]),
      answers: [],
      handler: async (req, res) => {
        noStore(res);
        const offer = await ownOffer(d.ledger, String(req.params['offerId']), principalOf(res));
        const participationId = String(req.params['participationId']);
        if (!isRecordId(participationId)) throw badRequest('participation id is malformed');
        // Acknowledging twice is acknowledging: 204 either way.
        if (d.store.remove(offer.offerId, participationId)) {
          d.log.info({ offerId: offer.offerId, participationId }, 'research extract collected');
        }
        res.status(204).end();
      },
    },
  ];
}

function parsePost(body: unknown): ResearchExtractPost {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body must be a JSON object');
  const b = body as Record<string, unknown>;
  const extra = Object.keys(b).find((k) => !['offerId', 'participationId', 'envelope'].includes(k));
  if (extra !== undefined) throw badRequest(`unknown field: ${extra}`, [extra]);
  if (!isRecordId(b.offerId)) throw badRequest('offerId is required (8–128 letters, digits, . _ -)', ['offerId']);
  if (!isRecordId(b.participationId)) {
    throw badRequest('participationId is required (8–128 letters, digits, . _ -)', ['participationId']);
  }
  const envelope = b.envelope as SealedEnvelope;
  try {
    verifyEnvelope(envelope);
  } catch (err) {
    if (err instanceof EnvelopeError) throw badRequest(`envelope: ${err.message}`, ['envelope']);
    throw err;
  }
  const aad = envelope.aad;
  if (
    Object.keys(aad).length !== 3 ||
    aad.purpose !== RESEARCH_EXTRACT_PURPOSE ||
    aad.offerId !== b.offerId ||
    aad.participationId !== b.participationId
  ) {
    throw badRequest('the envelope is sealed for another purpose, offer or participation', ['envelope.aad']);
  }
  return { offerId: b.offerId, participationId: b.participationId, envelope };
}

/** SPKI DER (base64) of the envelope signer's key: what the ledger keeps as `studyKey`. */
function signerKey(envelope: SealedEnvelope): string {
  return new X509Certificate(envelope.senderCertificate).publicKey
    .export({ type: 'spki', format: 'der' })
    .toString('base64');
}

function collectable(offer: ResearchOfferRecord | undefined, hospitalMspId: string, at: Date): ResearchOfferRecord {
  if (!offer) throw notFoundError('no such offer on the ledger');
  if (offer.collectVia !== hospitalMspId) {
    throw unprocessable(`this offer's extracts are collected by ${offer.collectVia}, not by this hospital`);
  }
  if (Date.parse(offer.expiresAt) <= at.getTime()) throw new FhirError(410, `this offer expired at ${offer.expiresAt}`);
  return offer;
}

/** The offer, for the researcher who posted it; anybody else is refused before learning more. */
async function ownOffer(
  ledger: Pick<LedgerPort, 'readOffer'>,
  offerId: string,
  caller: Principal,
): Promise<ResearchOfferRecord> {
  if (!isRecordId(offerId)) throw badRequest('offer id is malformed');
  const offer = await readOffer(ledger, offerId);
  if (!offer) throw notFoundError('no such offer on the ledger');
  if (offer.institute.id !== caller.id || offer.institute.mspId !== caller.mspId) {
    throw forbiddenError('only the researcher who posted the offer may collect its extracts');
  }
  return offer;
}

async function readOffer(ledger: Pick<LedgerPort, 'readOffer'>, offerId: string) {
  return ledgerRead(() => ledger.readOffer(offerId));
}

async function readParticipation(
  ledger: Pick<LedgerPort, 'readParticipation'>,
  participationId: string,
): Promise<ParticipationRecord | undefined> {
  return ledgerRead(() => ledger.readParticipation(participationId));
}

async function ledgerRead<T>(read: () => Promise<T | undefined>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof LedgerError && err.code === 'NOT_FOUND') return undefined;
    throw new FhirError(503, 'the ledger is unreachable; retry later', { cause: err });
  }
}

/** `after`: the `next` of an earlier answer (a mailbox sequence number; opaque to the researcher). */
function cursor(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) {
    throw badRequest('after must be the `next` of an earlier answer (digits only)', ['after']);
  }
  return Number(value);
}

function pageSize(value: unknown): number {
  if (value === undefined) return DEFAULT_PAGE;
  const n = typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= MAX_PAGE)) throw badRequest(`_count must be a whole number 1..${MAX_PAGE}`, ['_count']);
  return n;
}

async function readJson(body: BodyReader, req: Request, res: Response): Promise<unknown> {
  if (mediaType(req.headers['content-type']) !== 'application/json') {
    throw new FhirError(415, 'the body must be application/json');
  }
  const bytes = await body.read(req, res, MAX_RESEARCH_EXTRACT_POST_BYTES);
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (err) {
    throw new FhirError(400, 'the body is not valid JSON', { cause: err });
  }
}

function received(e: { offerId: string; participationId: string; receivedAt: string }) {
  return { offerId: e.offerId, participationId: e.participationId, receivedAt: e.receivedAt };
}
