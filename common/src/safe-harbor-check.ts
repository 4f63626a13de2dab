/**
 * An automated audit of a research dataset against HIPAA Safe Harbor's 18 identifier kinds
 * (45 CFR 164.514(b)(2)(i)). The researcher's export runs it before writing anything, the e2e
 * runs it on what the researcher got. It looks three ways, because each misses what the others
 * catch: the FHIR structures that hold identifiers (HumanName, Address, ContactPoint, Identifier,
 * Attachment, Device udi, full dates), patterns in every string (a phone number inside a note),
 * and values known to belong to the source records (a name with no structure around it).
 * A finding's sample is masked: the report must not spread what it found.
 */
import { RESTRICTED_ZIP3, SAFE_HARBOR_OLDEST_AGE, type SafeHarborIdentifierKind } from './safe-harbor';

/** Values taken from the source records that must not appear anywhere in a dataset. */
export interface KnownIdentifiers {
  names?: string[];
  /** Street lines, cities, full postal codes. */
  addresses?: string[];
  birthDates?: string[];
  phones?: string[];
  emails?: string[];
  ssns?: string[];
  mrns?: string[];
  healthPlanNumbers?: string[];
  accountNumbers?: string[];
  licenceNumbers?: string[];
  /** Resource ids and fullUrls of the source records. */
  resourceIds?: string[];
  other?: string[];
}

export interface SafeHarborFinding {
  kind: SafeHarborIdentifierKind;
  /** `csv row R column C` or a FHIRPath-like location in the bundle; never the value. */
  where: string;
  /** The offending text, masked. */
  sample: string;
}

export interface SafeHarborInput {
  csv?: string;
  bundle?: unknown;
  known?: KnownIdentifiers;
}

/** Checks a CSV text and/or a FHIR Bundle; an empty list means nothing was found. */
export function checkSafeHarbor(input: SafeHarborInput): SafeHarborFinding[] {
  const sink = new FindingSink();
  const known = compileKnown(input.known ?? {});
  if (input.csv !== undefined) checkCsv(input.csv, known, sink);
  if (input.bundle !== undefined) walk(input.bundle, { path: 'Bundle', key: '', resourceType: undefined }, known, sink);
  return sink.findings;
}

/**
 * What a source bundle (Synthea's, a hospital's) says about its patients that must never reach a
 * researcher: names, addresses, birth dates, telecom, identifiers by type, and every resource id.
 */
export function knownIdentifiersFromBundle(bundle: unknown): KnownIdentifiers {
  const known: Required<KnownIdentifiers> = {
    names: [],
    addresses: [],
    birthDates: [],
    phones: [],
    emails: [],
    ssns: [],
    mrns: [],
    healthPlanNumbers: [],
    accountNumbers: [],
    licenceNumbers: [],
    resourceIds: [],
    other: [],
  };
  const entries = isObject(bundle) && Array.isArray(bundle['entry']) ? (bundle['entry'] as unknown[]) : [];
  for (const entry of entries) {
    if (!isObject(entry)) continue;
    const fullUrl = str(entry['fullUrl']);
    if (fullUrl) known.resourceIds.push(fullUrl.replace(/^urn:uuid:/, ''));
    const resource = entry['resource'];
    if (!isObject(resource)) continue;
    pushStr(known.resourceIds, resource['id']);
    if (PERSON_TYPES.has(str(resource['resourceType']) ?? '')) addPerson(resource, known);
  }
  for (const key of Object.keys(known) as (keyof KnownIdentifiers)[]) known[key] = [...new Set(known[key])];
  return known;
}

/** Resources about the patient or the patient's relatives, whose identifiers Safe Harbor removes. */
const PERSON_TYPES = new Set(['Patient', 'RelatedPerson', 'Person']);

function addPerson(resource: Record<string, unknown>, known: Required<KnownIdentifiers>): void {
  for (const name of arr(resource['name'])) addHumanName(name, known.names);
  for (const contact of arr(resource['contact'])) {
    if (isObject(contact)) addHumanName(contact['name'], known.names);
  }
  for (const ext of arr(resource['extension'])) {
    if (!isObject(ext)) continue;
    if (/mothersMaidenName$/.test(str(ext['url']) ?? '')) pushStr(known.names, ext['valueString']);
    if (isObject(ext['valueAddress'])) addAddress(ext['valueAddress'], known.addresses);
  }
  for (const address of arr(resource['address'])) addAddress(address, known.addresses);
  pushStr(known.birthDates, resource['birthDate']);
  for (const t of arr(resource['telecom'])) {
    if (!isObject(t)) continue;
    const system = str(t['system']);
    if (system === 'email') pushStr(known.emails, t['value']);
    else if (system !== 'url') pushStr(known.phones, t['value']);
  }
  const lists: Partial<Record<SafeHarborIdentifierKind, string[]>> = {
    ssn: known.ssns,
    'medical-record-number': known.mrns,
    'health-plan-number': known.healthPlanNumbers,
    'account-number': known.accountNumbers,
    'licence-number': known.licenceNumbers,
  };
  for (const identifier of arr(resource['identifier'])) {
    if (isObject(identifier)) pushStr(lists[identifierKind(identifier)] ?? known.other, identifier['value']);
  }
}

// ---------------------------------------------------------------------------------------------
// Findings

class FindingSink {
  readonly findings: SafeHarborFinding[] = [];
  private readonly seen = new Set<string>();

  add(kind: SafeHarborIdentifierKind, where: string, value: string): void {
    const key = `${kind}\0${where}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.findings.push({ kind, where, sample: mask(value) });
  }
}

/** First character, then one star per character up to 8: enough to find it, not enough to read it. */
function mask(value: string): string {
  const text = value.trim();
  if (text.length === 0) return '';
  return `${text[0] as string}${'*'.repeat(Math.min(8, Math.max(1, text.length - 1)))}`;
}

// ---------------------------------------------------------------------------------------------
// Patterns over free strings

interface Pattern {
  kind: SafeHarborIdentifierKind;
  re: RegExp;
  /** A second look at a match, for what a regular expression says badly. */
  accept?: (match: string) => boolean;
  /** Not applied to a code (a Coding's code, a CSV `code` column): SNOMED CT ids are 6 to 18 digits. */
  notInCodes?: boolean;
}

/** Whether YYYY, MM and DD name a day of the calendar (no 31 April, no 29 February 2019). */
function isCalendarDay(year: number, month: number, day: number): boolean {
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

/** A 3-digit postal area Safe Harbor lets through: a populous area, or 000 for the rest. */
function isReleasablePostal3(value: string): boolean {
  return /^\d{3}$/.test(value) && !RESTRICTED_ZIP3.includes(value);
}

const MONTHS =
  'Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?';

/** Terminology namespaces: a code system's URI names a vocabulary, not a person. */
const TERMINOLOGY_URI_PREFIXES = [
  'http://loinc.org',
  'http://snomed.info/',
  'http://hl7.org/fhir/',
  'http://terminology.hl7.org/',
  'http://unitsofmeasure.org',
  'http://www.nlm.nih.gov/research/umls/',
  'http://www.ama-assn.org/go/cpt',
  'http://www.whocc.no/atc',
  'http://hl7.org/fhir/sid/cvx',
  'http://hl7.org/fhir/sid/icd-10',
  'http://hl7.org/fhir/sid/ndc',
  'http://id.who.int/icd',
  'https://phr-ledger.example/fhir/',
];

const PATTERNS: Pattern[] = [
  // Dates with a month: ISO, US numeric, written out. A year alone is allowed.
  { kind: 'date', re: /(?<![\w-])(?:1[89]|2[01])\d{2}-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?(?![\d])/g },
  { kind: 'date', re: /(?<![\w/.-])(?:0?[1-9]|1[0-2])([/.-])(?:0?[1-9]|[12]\d|3[01])\1(?:\d{4}|\d{2})(?![\w/.-])/g },
  { kind: 'date', re: new RegExp(`\\b(?:${MONTHS})\\.?\\s+\\d{1,2}(?:st|nd|rd|th)?,?\\s+\\d{4}\\b`, 'gi') },
  { kind: 'date', re: new RegExp(`\\b\\d{1,2}\\s+(?:${MONTHS})\\.?,?\\s+\\d{4}\\b`, 'gi') },
  { kind: 'date', re: new RegExp(`\\b(?:${MONTHS})\\.?\\s+\\d{4}\\b`, 'gi') },
  // Compact dates (YYYYMMDD, as HL7 v2 and file names write them), with an optional time; an
  // underscore may border them (lab_20150314.pdf), a letter or digit may not (a lot or code number).
  {
    kind: 'date',
    re: /(?<![A-Za-z\d.])(?:1[89]|2[01])\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:T?(?:[01]\d|2[0-3])[0-5]\d(?:[0-5]\d(?:\.\d+)?)?(?:Z|[+-]\d{4})?)?(?![A-Za-z\d-]|\.\d)/g,
    accept: (m) => isCalendarDay(Number(m.slice(0, 4)), Number(m.slice(4, 6)), Number(m.slice(6, 8))),
    notInCodes: true,
  },
  { kind: 'fax', re: /\bfax\b[\s.:#-]*(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}\b/gi },
  { kind: 'telephone', re: /(?<![\w-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w-])/g },
  { kind: 'email', re: /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g },
  { kind: 'ssn', re: /(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])/g },
  { kind: 'medical-record-number', re: /\b(?:MRN|medical record (?:no\.?|number|#))\s*[:#]?\s*[A-Z0-9-]{3,}/gi },
  {
    kind: 'health-plan-number',
    re: /\b(?:member|policy|subscriber|insurance|health plan|medicare|medicaid)\s*(?:id|no\.?|number|#)\s*[:#]?\s*[A-Z0-9-]{4,}/gi,
  },
  { kind: 'account-number', re: /\b(?:account|acct)\.?\s*(?:no\.?|number|#)\s*[:#]?\s*[A-Z0-9-]{4,}/gi },
  {
    kind: 'licence-number',
    re: /\b(?:licen[cs]e|passport|certificate|DEA|NPI)\s*(?:no\.?|number|#|id)?\s*[:#]\s*[A-Z0-9-]{4,}/gi,
  },
  { kind: 'vehicle-identifier', re: /\b(?:licen[cs]e plate|plate (?:no\.?|number)|VIN)\b/gi },
  {
    kind: 'vehicle-identifier',
    re: /\b[A-HJ-NPR-Z0-9]{17}\b/g,
    accept: (m) => /[A-Z]/.test(m) && /\d/.test(m),
  },
  { kind: 'device-identifier', re: /\(01\)\d{14}/g },
  { kind: 'device-identifier', re: /\b(?:serial (?:no\.?|number)|UDI)\s*[:#]?\s*[A-Z0-9-]{4,}/gi },
  {
    kind: 'url',
    re: /\b(?:https?|ftp):\/\/[^\s"'<>,]+|\bwww\.[a-z0-9-]+\.[^\s"'<>,]+/gi,
    accept: (m) => !TERMINOLOGY_URI_PREFIXES.some((p) => m.startsWith(p)),
  },
  {
    kind: 'ip-address',
    re: /(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])/g,
  },
  { kind: 'ip-address', re: /(?<![:\w])(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}(?![:\w])/gi },
  {
    kind: 'ip-address',
    re: /(?<![:\w])(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?(?![:\w])/gi,
    accept: (m) => (m.match(/[0-9a-f]{1,4}/gi) ?? []).length >= 2,
  },
  {
    kind: 'biometric',
    re: /\b(?:biometric|finger ?prints?|retina(?:l)? scan|iris scan|voice ?prints?|face ?prints?|hand geometry)\b/gi,
  },
  {
    kind: 'photo',
    re: /data:(?:image|video)\/|(?<![A-Za-z0-9+/])(?:\/9j\/|iVBORw0KGgo)|\b\S+\.(?:jpe?g|png|gif|bmp|tiff?|heic|dcm)\b/gi,
  },
  { kind: 'name', re: /\b(?:Mr|Mrs|Ms|Dr|Prof)\.\s+[A-Z][a-z]+|\bMiss\s+[A-Z][a-z]+/g },
  {
    kind: 'geographic-subdivision',
    re: /\b\d{1,5}\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Court|Ct|Way|Place|Pl|Terrace|Circle|Parkway|Pkwy|Highway|Hwy|Square|Sq)\b/g,
  },
  { kind: 'geographic-subdivision', re: /\b(?:Apt|Apartment|Suite|Unit)\.?\s*#?\s*\d+[A-Z]?\b/g },
  { kind: 'geographic-subdivision', re: /\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b/g },
  {
    kind: 'other-unique-code',
    re: /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi,
  },
  { kind: 'other-unique-code', re: /\b[0-9a-f]{20,}\b/gi, accept: (m) => /\d/.test(m) && /[a-f]/i.test(m) },
  {
    kind: 'other-unique-code',
    re: /[A-Za-z0-9+/]{32,}={0,2}/g,
    accept: (m) => /\d/.test(m) && /[a-z]/.test(m) && /[A-Z]/.test(m),
  },
  { kind: 'other-unique-code', re: /(?<![\d.])\d{9,}(?![\d.])/g },
];

/** `skip`: pattern kinds the structure already judged (a code system URI is not a URL to report). */
function checkString(
  text: string,
  where: string,
  known: CompiledKnown,
  sink: FindingSink,
  skip: ReadonlySet<SafeHarborIdentifierKind> = NONE,
  isCode = false,
): void {
  const faxSpans: [number, number][] = [];
  for (const pattern of PATTERNS) {
    if (skip.has(pattern.kind) || (isCode && pattern.notInCodes)) continue;
    for (const m of text.matchAll(pattern.re)) {
      const found = m[0];
      if (pattern.accept && !pattern.accept(found)) continue;
      const at = m.index;
      if (pattern.kind === 'fax') faxSpans.push([at, at + found.length]);
      // A fax number is also shaped like a phone number; report it once, as what it is.
      if (pattern.kind === 'telephone' && faxSpans.some(([s, e]) => at >= s && at < e)) continue;
      sink.add(pattern.kind, where, found);
    }
  }
  if (known.entries.length === 0) return;
  const folded = fold(text);
  for (const k of known.entries) {
    if (skip.has(k.kind)) continue;
    const hit = k.match(text, folded);
    if (hit !== undefined) sink.add(k.kind, where, hit);
  }
}

const NONE: ReadonlySet<SafeHarborIdentifierKind> = new Set();

// ---------------------------------------------------------------------------------------------
// Known values

interface CompiledKnown {
  entries: { kind: SafeHarborIdentifierKind; match: (text: string, folded: string) => string | undefined }[];
}

function fold(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

function compileKnown(known: KnownIdentifiers): CompiledKnown {
  const entries: CompiledKnown['entries'] = [];
  const words = (kind: SafeHarborIdentifierKind, values: string[] | undefined, minLength: number): void => {
    for (const value of values ?? []) {
      // A name matches word by word: "Adán Portillo" is found as "PORTILLO" in a list of surnames.
      for (const word of fold(value).split(/[^\p{L}\p{N}'-]+/u)) {
        const clean = word.replace(/\d+$/, '');
        if (clean.length < minLength) continue;
        const re = new RegExp(`(?<![\\p{L}\\p{N}])${escapeRe(clean)}(?![\\p{L}])`, 'u');
        entries.push({ kind, match: (_text, folded) => (re.test(folded) ? clean : undefined) });
      }
    }
  };
  const phrases = (kind: SafeHarborIdentifierKind, values: string[] | undefined, minLength: number): void => {
    for (const value of values ?? []) {
      const needle = fold(value.trim());
      if (needle.length < minLength) continue;
      const re = new RegExp(`(?<![\\p{L}\\p{N}])${escapeRe(needle)}(?![\\p{L}\\p{N}])`, 'u');
      entries.push({ kind, match: (_text, folded) => (re.test(folded) ? value : undefined) });
    }
  };
  const digits = (kind: SafeHarborIdentifierKind, values: string[] | undefined): void => {
    for (const value of values ?? []) {
      const needle = value.replace(/\D/g, '');
      if (needle.length < 7) continue;
      entries.push({
        kind,
        match: (text) =>
          (text.match(/[\d()+\s.-]{7,}/g) ?? []).some((run) => run.replace(/\D/g, '').includes(needle))
            ? value
            : undefined,
      });
    }
  };
  words('name', known.names, 3);
  phrases('geographic-subdivision', known.addresses, 3);
  phrases('date', known.birthDates, 8);
  digits('telephone', known.phones);
  phrases('email', known.emails, 5);
  digits('ssn', known.ssns);
  phrases('medical-record-number', known.mrns, 4);
  phrases('health-plan-number', known.healthPlanNumbers, 4);
  phrases('account-number', known.accountNumbers, 4);
  phrases('licence-number', known.licenceNumbers, 4);
  phrases('other-unique-code', known.resourceIds, 6);
  phrases('other-unique-code', known.other, 4);
  return { entries };
}

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---------------------------------------------------------------------------------------------
// CSV

/** RFC 4180: quoted fields may hold commas, quotes (doubled) and line breaks. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field.length === 0) quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field.length > 0 || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

function checkCsv(text: string, known: CompiledKnown, sink: FindingSink): void {
  const rows = parseCsv(text);
  const header = rows[0] ?? [];
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as string[];
    for (let c = 0; c < row.length; c++) {
      const cell = row[c] as string;
      const column = header[c] ?? String(c + 1);
      const where = `csv row ${r + 1} column ${JSON.stringify(column)}`;
      if (r > 0) checkCsvColumn(column, cell, where, sink);
      checkString(cell, where, known, sink, NONE, column.trim().toLowerCase() === 'code');
    }
  }
}

/** What a column's name says its cells are. */
function checkCsvColumn(column: string, cell: string, where: string, sink: FindingSink): void {
  const name = column.toLowerCase();
  if (cell.trim() === '') return;
  if (/^(?:age|age_?years)$/.test(name) && !isReleasableAge(cell.trim(), true)) sink.add('date', where, cell);
  // Three digits of a populous area, 000, or generalised away; a restricted area's digits are out.
  if (/(?:zip|postal)/.test(name) && !/^\*+$/.test(cell.trim()) && !isReleasablePostal3(cell.trim()))
    sink.add('geographic-subdivision', where, cell);
  if (/(?:^|_)(?:name|surname|given|family)(?:$|_)/.test(name)) sink.add('name', where, cell);
  if (/(?:street|address|city|county)/.test(name)) sink.add('geographic-subdivision', where, cell);
  if (/(?:phone|mobile|tel)/.test(name)) sink.add('telephone', where, cell);
  if (/fax/.test(name)) sink.add('fax', where, cell);
  if (/e-?mail/.test(name)) sink.add('email', where, cell);
  if (/(?:ssn|social)/.test(name)) sink.add('ssn', where, cell);
  if (/(?:mrn|medical_?record)/.test(name)) sink.add('medical-record-number', where, cell);
}

// ---------------------------------------------------------------------------------------------
// FHIR structure

interface Ctx {
  path: string;
  /** The key this node sits under in its parent object. */
  key: string;
  resourceType: string | undefined;
}

const CONTACT_POINT_SYSTEMS: Record<string, SafeHarborIdentifierKind> = {
  phone: 'telephone',
  sms: 'telephone',
  pager: 'telephone',
  other: 'telephone',
  fax: 'fax',
  email: 'email',
  url: 'url',
};

/** Identifier.type codes (HL7 v2 table 0203) and what Safe Harbor calls them. */
const IDENTIFIER_TYPES: Record<string, SafeHarborIdentifierKind> = {
  MR: 'medical-record-number',
  MRT: 'medical-record-number',
  PI: 'medical-record-number',
  SS: 'ssn',
  SB: 'ssn',
  DL: 'licence-number',
  PPN: 'licence-number',
  LN: 'licence-number',
  NPI: 'licence-number',
  DEA: 'licence-number',
  MB: 'health-plan-number',
  MA: 'health-plan-number',
  MC: 'health-plan-number',
  SN: 'health-plan-number',
  NH: 'health-plan-number',
  AN: 'account-number',
  BA: 'account-number',
  BC: 'account-number',
  VN: 'account-number',
  SNO: 'device-identifier',
  UDI: 'device-identifier',
};

const ADDRESS_BELOW_STATE = ['line', 'city', 'district', 'postalCode', 'text'] as const;

/** Where a full date is the dataset's own, not a patient's: when it was made. */
const DATASET_DATE_PATHS = [/^Bundle\.timestamp$/, /\.resource\(Provenance\)\.recorded$/];

function walk(node: unknown, ctx: Ctx, known: CompiledKnown, sink: FindingSink): void {
  checkKey(node, ctx, sink);
  if (typeof node === 'string') {
    checkLeafString(node, ctx, known, sink);
    return;
  }
  if (Array.isArray(node)) {
    node.forEach((item, i) => walk(item, { ...ctx, path: `${ctx.path}[${i}]` }, known, sink));
    return;
  }
  if (!isObject(node)) return;
  const resourceType = typeof node['resourceType'] === 'string' ? node['resourceType'] : ctx.resourceType;
  const path = node['resourceType'] && ctx.key === 'resource' ? `${ctx.path}(${resourceType})` : ctx.path;
  checkStructure(node, { ...ctx, path, resourceType }, sink);
  for (const [key, value] of Object.entries(node)) {
    walk(value, { path: `${path}.${key}`, key, resourceType }, known, sink);
  }
}

/** What the element's name says it holds, whatever its value looks like. */
function checkKey(node: unknown, ctx: Ctx, sink: FindingSink): void {
  const { key, path } = ctx;
  if (key === 'subscriberId') sink.add('health-plan-number', path, flat(node));
  if (/^udi/i.test(key) || key === 'serialNumber' || key === 'lotNumber' || key === 'distinctIdentifier') {
    sink.add('device-identifier', path, flat(node));
  }
  if (key === 'photo') sink.add('photo', path, flat(node));
  if (/biometric|fingerprint|retina|voiceprint/i.test(key)) sink.add('biometric', path, key);
  if (key === 'age' && (typeof node === 'number' || typeof node === 'string') && !isReleasableAge(node)) {
    sink.add('date', path, String(node));
  }
}

function checkStructure(node: Record<string, unknown>, ctx: Ctx, sink: FindingSink): void {
  checkPersonParts(node, ctx, sink);
  checkContactAndIds(node, ctx, sink);
  checkAttachment(node, ctx, sink);
  const age = ageOf(node);
  if (age !== undefined && !isReleasableAge(age.value)) sink.add('date', ctx.path, flat(age.value));
}

/** HumanName, Address below the state, geolocation, a Reference's display of a person. */
function checkPersonParts(node: Record<string, unknown>, { path, key }: Ctx, sink: FindingSink): void {
  if ('family' in node || 'given' in node) sink.add('name', path, flat(node['family'] ?? node['given']));
  if (/address$/i.test(key) || key === 'birthPlace') {
    for (const field of ADDRESS_BELOW_STATE) {
      const v = node[field];
      if (v === undefined || (field === 'postalCode' && isReleasablePostal3(flat(v)))) continue;
      sink.add('geographic-subdivision', `${path}.${field}`, flat(v));
    }
  }
  const url = str(node['url']);
  if (url && /geolocation$/i.test(url)) sink.add('geographic-subdivision', path, url);
  const reference = str(node['reference']);
  if (
    reference &&
    /^(?:Patient|Practitioner|RelatedPerson|Person)\//.test(reference) &&
    typeof node['display'] === 'string'
  ) {
    sink.add('name', `${path}.display`, node['display']);
  }
}

/** ContactPoint and Identifier. */
function checkContactAndIds(node: Record<string, unknown>, { path, key }: Ctx, sink: FindingSink): void {
  const system = str(node['system']);
  const contactSystem = system !== undefined && Object.hasOwn(CONTACT_POINT_SYSTEMS, system) ? system : undefined;
  if (key === 'telecom' || (contactSystem !== undefined && 'value' in node)) {
    sink.add(CONTACT_POINT_SYSTEMS[contactSystem ?? 'phone'] ?? 'telephone', path, flat(node['value']));
  }
  if (key === 'identifier' || key === 'masterIdentifier') sink.add(identifierKind(node), path, flat(node['value']));
}

function checkAttachment(node: Record<string, unknown>, { path }: Ctx, sink: FindingSink): void {
  const contentType = str(node['contentType']);
  if (contentType === undefined) return;
  const label = flat(node['url'] ?? node['title'] ?? contentType);
  if (/^(?:image|video)\//.test(contentType)) sink.add('photo', path, label);
  // An attachment's bytes cannot be audited: a scan may hold any identifier.
  else if ('data' in node || 'url' in node) sink.add('other-unique-code', path, label);
}

/** LOINC 30525-0 "Age" and SNOMED 397669002 "Age": an Observation that states an age. */
const AGE_CODES = new Set(['30525-0', '397669002']);

/**
 * The value an age extension (url ending in `age`) or an age Observation states, whatever its
 * type; undefined when the node is neither, or states no value.
 */
function ageOf(node: Record<string, unknown>): { value: unknown } | undefined {
  const quantity = isObject(node['valueQuantity']) ? node['valueQuantity']['value'] : undefined;
  const value = node['valueInteger'] ?? node['valueDecimal'] ?? quantity ?? node['valueString'];
  if (value === undefined) return undefined;
  if (/[/#.]age$/i.test(str(node['url']) ?? '')) return { value };
  const code = node['code'];
  const codings = isObject(code) ? arr(code['coding']) : [];
  return codings.some((c) => isObject(c) && AGE_CODES.has(str(c['code']) ?? '')) ? { value } : undefined;
}

/**
 * Safe Harbor's forms of an age: whole years 0..89, or exactly '90+'. Anything else in an age's
 * place is refused: "95 years" or "95" as text slip past a numeric comparison, and a fraction of
 * a year narrows the birth date below the year. In a CSV every cell is text, so there the digits
 * of a whole number count as the number.
 */
function isReleasableAge(value: unknown, csvCell = false): boolean {
  if (value === '90+') return true;
  const years =
    typeof value === 'number'
      ? value
      : csvCell && typeof value === 'string' && /^\d{1,2}$/.test(value)
        ? Number(value)
        : NaN;
  return Number.isInteger(years) && years >= 0 && years <= SAFE_HARBOR_OLDEST_AGE;
}

function checkLeafString(text: string, ctx: Ctx, known: CompiledKnown, sink: FindingSink): void {
  const skip = new Set<SafeHarborIdentifierKind>();
  // Code system and profile URIs name vocabularies and structures, not a person.
  if (['system', 'profile', 'valueSet', 'url'].includes(ctx.key)) skip.add('url');
  if (DATASET_DATE_PATHS.some((re) => re.test(ctx.path))) skip.add('date');
  checkString(text, ctx.path, known, sink, skip, ctx.key === 'code');
}

function identifierKind(identifier: Record<string, unknown>): SafeHarborIdentifierKind {
  const type = identifier['type'];
  const codes: string[] = [];
  if (isObject(type)) {
    for (const coding of arr(type['coding']))
      if (isObject(coding) && typeof coding['code'] === 'string') codes.push(coding['code']);
  }
  for (const code of codes) {
    const kind = IDENTIFIER_TYPES[code];
    if (kind) return kind;
  }
  const system = str(identifier['system']) ?? '';
  if (/us-ssn/.test(system)) return 'ssn';
  if (/us-npi|licen[cs]e|passport/i.test(system)) return 'licence-number';
  return 'other-unique-code';
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function pushStr(list: string[], value: unknown): void {
  if (typeof value === 'string' && value.trim() !== '') list.push(value.trim());
}

/** A printable stand-in for a structure's value, only ever passed to mask(). */
function flat(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(flat).join(' ');
  if (isObject(value)) return Object.values(value).map(flat).join(' ');
  return '?';
}

function addHumanName(name: unknown, names: string[]): void {
  if (!isObject(name)) return;
  pushStr(names, name['text']);
  pushStr(names, name['family']);
  for (const given of arr(name['given'])) pushStr(names, given);
}

function addAddress(address: unknown, addresses: string[]): void {
  if (!isObject(address)) return;
  for (const line of arr(address['line'])) pushStr(addresses, line);
  pushStr(addresses, address['city']);
  pushStr(addresses, address['district']);
  pushStr(addresses, address['postalCode']);
}
