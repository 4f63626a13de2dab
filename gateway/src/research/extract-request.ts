import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { RECORD_ID_PATTERN, type ResearchCode } from '@phr/common';
import { DEFAULT_MAX_SUPPRESSED, MIN_K, QUASI_IDENTIFIERS, type QuasiIdentifier } from './k-anonymity';

/** An approved request for an institutional extract, as the hospital's research office writes it. */
export interface ExtractRequest {
  /** The hospital's reference of the approved request (a record id): on the ledger. */
  requestId: string;
  /** Identity key of the researcher the extract is for: on the ledger. */
  researcher: string;
  /** Where the approval is documented (e.g. the ethics board's decision): kept in the local log only. */
  approval: string;
  codes: ResearchCode[];
  quasiIdentifiers: QuasiIdentifier[];
  k: number;
  /**
   * The share of rows (0..0.5) suppression may take before the quasi-identifiers are generalised
   * further (default 0.05): more keeps finer quasi-identifiers for fewer rows.
   */
  maxSuppressed: number;
  /**
   * Only records the gateway received in [from, to) (ISO 8601 instants, either may be left out):
   * the study's data window, as the approval states it.
   */
  received?: { from?: string; to?: string };
}

/** A plain text line: no control characters (it lands in a log and a terminal). */
const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}]+$/u, 'must be plain text on one line');

const code = z
  .object({
    system: z.string().min(1).max(200).regex(/^\S+$/, 'must be a URI'),
    code: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[^\s\p{Cc}]+$/u, 'must be a code')
      .optional(),
  })
  .strict();

export const extractRequestSchema = z
  .object({
    requestId: z.string().regex(RECORD_ID_PATTERN, 'must be a record id (8-128 of A-Z a-z 0-9 . _ -)'),
    researcher: z.string().regex(/^id[0-9a-f]{40}$/, "must be the researcher's identity key (id + 40 hex)"),
    approval: text(500),
    codes: z.array(code).min(1).max(50),
    quasiIdentifiers: z
      .array(z.enum(QUASI_IDENTIFIERS))
      .max(QUASI_IDENTIFIERS.length)
      .refine((q) => new Set(q).size === q.length, 'must not repeat'),
    k: z.number().int().min(MIN_K).max(1000).default(MIN_K),
    maxSuppressed: z.number().min(0).max(0.5).default(DEFAULT_MAX_SUPPRESSED),
    received: z
      .object({ from: z.iso.datetime({ offset: true }).optional(), to: z.iso.datetime({ offset: true }).optional() })
      .strict()
      .refine((w) => !w.from || !w.to || Date.parse(w.from) < Date.parse(w.to), 'from must be before to')
      .optional(),
  })
  .strict();

export class ExtractRequestError extends Error {
  override readonly name = 'ExtractRequestError';
  readonly code = 'INVALID_REQUEST';
}

/**
 * The request in `raw`, checked.
 * @throws ExtractRequestError naming every field that is wrong.
 */
export function parseExtractRequest(raw: unknown): ExtractRequest {
  const parsed = extractRequestSchema.safeParse(raw);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ExtractRequestError(`invalid extract request: ${details}`);
  }
  const r = parsed.data;
  return {
    requestId: r.requestId,
    researcher: r.researcher,
    approval: r.approval,
    codes: r.codes.map((c) => (c.code === undefined ? { system: c.system } : { system: c.system, code: c.code })),
    quasiIdentifiers: r.quasiIdentifiers,
    k: r.k,
    maxSuppressed: r.maxSuppressed,
    ...(r.received
      ? {
          received: {
            ...(r.received.from ? { from: new Date(r.received.from).toISOString() } : {}),
            ...(r.received.to ? { to: new Date(r.received.to).toISOString() } : {}),
          },
        }
      : {}),
  };
}

/**
 * The request in a JSON file.
 * @throws ExtractRequestError when the file cannot be read, is not JSON, or is not a valid request.
 */
export function readExtractRequest(file: string): ExtractRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ExtractRequestError(`cannot read extract request ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseExtractRequest(raw);
}
