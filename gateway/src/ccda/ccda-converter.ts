import { createHash } from 'node:crypto';
import { convertCcdaToFhir } from '@medplum/ccda';
import { isExactNumberText, JsonNumber, type OutcomeIssue } from '@phr/common';
import { warning, unprocessable } from './ccda-issues';
import { asArray, readCcdaXml } from './ccda-xml';
import { xmlCharset } from './xml-guard';
import { escapeText } from './cda-narrative';
import { repairResource } from './fhir-repairs';
import { GoalStatuses } from './goal-statuses';
import { uuidV8 } from '../ingest/uuid-v8';
import { MEDPLUM_CCDA_VERSION } from './converter-version';

/** A C-CDA document converted into the transaction Bundle the gateway ingests like any other. */
export interface ConvertedCcda {
  /** A FHIR R4 `transaction` Bundle: the converted resources, the original document, its Provenance. */
  bundle: Record<string, unknown>;
  /** What the converter left out (sections whose entries it could not map): warnings, never dropped silently. */
  warnings: OutcomeIssue[];
  /**
   * The patient's first identifier from recordTarget/patientRole/id as the converter writes it (a
   * well-known OID becomes its FHIR system): what the hospital links for this document to resolve.
   */
  patientIdentifier?: { system: string; value: string };
}

/**
 * The media type the original document is attached with (HL7 CDA R2 and IHE MHD use text/xml), with
 * `; charset=` when its bytes are not UTF-8 (UTF-16, or the Latin encoding its declaration names).
 */
export const CCDA_ATTACHMENT_TYPE = 'text/xml';
/** IHE format code of a C-CDA R2.1 structured-body document. */
const CCDA_FORMAT = {
  system: 'http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode',
  code: 'urn:hl7-org:sdwg:ccda-structuredBody:2.1',
  display: 'C-CDA R2.1 structured body',
};
const UUID_TEXT = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const IS_UUID = new RegExp(`^${UUID_TEXT}$`);

type Json = Record<string, unknown>;

/**
 * Converts a C-CDA R2.1 ClinicalDocument (already through `guardXml`) with @medplum/ccda, then
 * adds only what the ingest needs and the converter does not give:
 * - ids derived from the document's bytes instead of random ones, so that posting the same
 *   document again is the same content, hence the same delivery (retries stay idempotent);
 * - a transaction Bundle (fullUrl `urn:uuid:`, POST entries, references to those fullUrls);
 * - the original document as a DocumentReference, and a Provenance from every converted resource
 *   to it, so the patient keeps everything the document says, also what the converter left out.
 *
 * @param xml the document's text; `bytes` are what was posted (attached as they came)
 * @throws FhirError 422 when the document has no patient or no clinical content, or the converter
 *   cannot read it
 */
export function convertCcda(xml: string, bytes: Uint8Array): ConvertedCcda {
  const { document, converted, warnings } = runConverter(xml);
  const entries = ((converted.entry as { resource?: Json }[] | undefined) ?? [])
    .map((e) => e.resource)
    .filter((r): r is Json => r !== undefined);
  const goals = entries.filter((r) => r.resourceType === 'Goal');
  const context = { goalStatuses: GoalStatuses.in(document, goals), warnings };
  for (const r of entries) repairResource(r, context);
  const patient = entries.find((r) => r.resourceType === 'Patient');
  if (!patient || !hasIdentifier(patient)) {
    throw unprocessable(
      'the C-CDA document has no patient with an identifier (ClinicalDocument/recordTarget/patientRole/id): ' +
        'the gateway finds the patient through the MRN the hospital linked',
    );
  }
  const patientIdentifier = identifierOf(patient);
  const composition = entries.find((r) => r.resourceType === 'Composition');
  if (composition) undatedDocument(composition, document, warnings);
  const sections = sectionsOf(document);
  const nonXmlBody = document.component?.nonXMLBody !== undefined;
  if (!nonXmlBody && !sections.some((s) => s.entries > 0 || s.hasText)) {
    throw unprocessable(
      'the C-CDA document has no clinical content: no section with entries or narrative, and no nonXMLBody',
    );
  }
  warnings.push(...unmappedWarnings(sections, composition));
  if (nonXmlBody) {
    warnings.push(
      warning(
        'the document body is not structured (nonXMLBody): nothing in it is converted into FHIR resources; the ' +
          'patient receives it within the original document (DocumentReference)',
      ),
    );
  }

  const ids = deterministicIds(bytes);
  const documentRef = documentReference(ids.next(), bytes, patient, composition, document);
  const provenanceId = ids.next();
  // Provenance targets the resources as they are delivered: copies that differ included, once each.
  const distinct = mergeIdenticalParticipants(distinctIds([...entries, documentRef], ids), uuidsWrittenIn(xml));
  const delivered = distinct.filter((r) => r !== documentRef);
  const provenance = provenanceOf(provenanceId, delivered, documentRef, composition);
  const resources = rewriteIds([...distinct, provenance], ids);
  // No Bundle.identifier from ClinicalDocument/id: senders reuse ids across documents (HL7's own
  // examples do), and the same id on other content would be a 409. The ids above make the same
  // document the same content, so a retry is the same delivery all the same.
  return {
    bundle: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: resources.map((resource) => ({
        fullUrl: `urn:uuid:${String(resource.id)}`,
        resource,
        request: { method: 'POST', url: String(resource.resourceType) },
      })),
    },
    warnings: collapseRepeats(warnings),
    ...(patientIdentifier ? { patientIdentifier } : {}),
  };
}

/**
 * The document read into @medplum/ccda's tree (ccda-xml.ts), and the converter's FHIR output. When the converter fails on a section's
 * entries, that section is converted without them (its narrative stays) and a warning says so;
 * a document it cannot read at all is a 422.
 */
function runConverter(xml: string): { document: CdaDocument; converted: Json; warnings: OutcomeIssue[] } {
  let document: CdaDocument;
  try {
    document = readCcdaXml(xml) as CdaDocument;
  } catch (err) {
    throw unprocessable(`the C-CDA document could not be read: ${messageOf(err)}`);
  }
  if (!document || typeof document !== 'object') throw unprocessable('the document has no ClinicalDocument element');
  const warnings: OutcomeIssue[] = [];
  normaliseTimestamps(document, ['ClinicalDocument'], warnings);
  const decimals = protectDecimals(document);
  dropEmptyComponents(document);
  escapePlainNarratives(document);
  plainTitles(document);
  try {
    return { document, converted: restored(convert(document, warnings), decimals), warnings };
  } catch (err) {
    const failing = failingSections(document);
    if (failing.length === 0) {
      throw unprocessable(
        `the converter (@medplum/ccda ${MEDPLUM_CCDA_VERSION}) could not convert this document: ${messageOf(err)}`,
      );
    }
    for (const { section, error } of failing) {
      const entries = (section.entry ?? []).length;
      delete section.entry;
      warnings.push(
        warning(
          `section "${textOf(section.title) || section.code?.['@_code'] || 'untitled'}": the converter failed on its ` +
            `${entries} entr${entries === 1 ? 'y' : 'ies'} (${error}); they are not converted into FHIR resources, ` +
            'its narrative and the whole document are kept',
        ),
      );
    }
    try {
      return { document, converted: restored(convert(document, warnings), decimals), warnings };
    } catch (again) {
      throw unprocessable(
        `the converter (@medplum/ccda ${MEDPLUM_CCDA_VERSION}) could not convert this document: ${messageOf(again)}`,
      );
    }
  }
}

/**
 * Sections the converter has no mapping for are skipped here and reported by unmappedWarnings.
 * What it skips inside an entry it only says on the console (`Unhandled observation value type:
 * ED`): that is caught, synchronously, and becomes a warning instead.
 */
/* eslint-disable no-console -- the converter's console is borrowed for the length of one synchronous call */
function convert(document: CdaDocument, warnings?: OutcomeIssue[]): Json {
  const said: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    said.push(args.map(String).join(' ').slice(0, 200));
  };
  let bundle: unknown;
  try {
    // typed as @medplum/fhirtypes' Bundle, a package not installed here: read as the JSON it is
    bundle = convertCcdaToFhir(document as never, { ignoreUnsupportedSections: true });
  } finally {
    console.warn = warn;
    /* eslint-enable no-console */
  }
  // Only a conversion that succeeds speaks: what a failed attempt said, the retry says again.
  // Repeats are counted with every other warning (collapseRepeats).
  for (const text of said) {
    warnings?.push(
      warning(
        `@medplum/ccda ${MEDPLUM_CCDA_VERSION} left something out: ${text}; it is in the original document (DocumentReference)`,
      ),
    );
  }
  return bundle as Json;
}

/**
 * A section `<text>` that is only text (no element, no attribute) reaches @medplum/ccda as the
 * parsed, unescaped string, which it copies into the narrative as it is: `&amp;` became a bare `&`
 * (invalid XHTML) and `&lt;b&gt;` an element. Such text is escaped again first.
 */
function escapePlainNarratives(document: CdaDocument): void {
  eachSection(document, (section) => {
    if (typeof section.text === 'string') section.text = escapeText(section.text);
  });
}

/** Every section of the structured body, subsections included, in document order. */
function eachSection(document: CdaDocument, visit: (section: CdaSection) => void): void {
  const walk = (components: { section?: CdaSection | CdaSection[] }[] | undefined): void => {
    for (const component of components ?? []) {
      for (const section of asArray(component.section)) {
        visit(section);
        walk(asArray(section.component));
      }
    }
  };
  walk(document.component?.structuredBody?.component);
}

/**
 * A title with attributes (`<title xsi:type="ST">`) is read as an object, which the converter
 * copies into Composition.title: the document's and each section's title become their text.
 */
function plainTitles(document: CdaDocument): void {
  if (document.title !== undefined) document.title = textOf(document.title);
  eachSection(document, (section) => {
    if (section.title !== undefined) section.title = textOf(section.title);
  });
}

/**
 * A structuredBody `<component>` with no section (HL7's own referral-closing example) makes the
 * converter fail on the whole document: it holds nothing, and is left out.
 */
function dropEmptyComponents(document: CdaDocument): void {
  const body = document.component?.structuredBody;
  if (body && Array.isArray(body.component)) {
    body.component = body.component.filter((c) => typeof c === 'object' && c !== null && asArray(c.section).length > 0);
  }
}

/**
 * The converter dates a document that states no valid effectiveTime (none, or one left out by
 * normaliseTimestamps) with the time it runs: the patient would see it dated the day it arrived, and
 * the same bytes would convert to other content each time. Composition.date is required: it says
 * the date is unknown (data-absent-reason) instead.
 */
function undatedDocument(composition: Json, document: CdaDocument, warnings: OutcomeIssue[]): void {
  const stated = asArray(document.effectiveTime)[0]?.['@_value'];
  if (typeof stated === 'string' && stated !== '') return;
  delete composition.date;
  composition._date = {
    extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }],
  };
  warnings.push(
    warning(
      'the document states no valid effectiveTime (ClinicalDocument/effectiveTime): its Composition says the date ' +
        'is unknown, and the converter’s date of conversion is not used',
    ),
  );
}

/** Sections the converter fails on when it converts each alone (the header with one section). */
function failingSections(document: CdaDocument): { section: CdaSection; error: string }[] {
  const body = document.component?.structuredBody;
  if (!body?.component) return [];
  const failing: { section: CdaSection; error: string }[] = [];
  for (const component of body.component) {
    for (const section of asArray(component.section)) {
      const alone: CdaDocument = {
        ...document,
        component: { structuredBody: { ...body, component: [{ ...component, section: [section] }] } },
      };
      try {
        convert(alone);
      } catch (err) {
        failing.push({ section, error: messageOf(err) });
      }
    }
  }
  return failing;
}

/** Elements whose `value` is an HL7 TS (others, such as a PQ's value, are left alone). */
const TS_ELEMENTS = new Set(['effectiveTime', 'time', 'birthTime', 'sdtc:deceasedTime']);
/** Parts of an interval: timestamps when the interval is of timestamps. */
const INTERVAL_PARTS = new Set(['low', 'high', 'center']);
const TS_TYPES = new Set(['TS', 'IVL_TS', 'PIVL_TS', 'EIVL_TS', 'SXCM_TS']);
const TS = /^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.\d{1,4})?)?)?)?)?)?(?:[+-](\d{2})(\d{2}))?$/;

/**
 * Timestamps the converter would turn into invalid or wrong FHIR dateTimes:
 * - to the hour (`2015072218-0500`) @medplum/ccda writes `2015-07-22T18:-0:500`: they get their
 *   minutes (`201507221800-0500`), which names the same hour;
 * - a zone after a date without a time (`20150722-0500`: `2015-07-22T-0:50:00Z`) is left out, as
 *   is a fraction of a second (`20150722183015.123-0500` keeps its zone without the colon);
 * - to the month (`201507`), it reads the year only (`2015-01-01…`): the month gets its first day;
 * - not an HL7 TS at all (a `-5000` zone, a 13th month): left out of the conversion with a
 *   warning — the value is still in the original document the patient receives.
 */
function normaliseTimestamps(
  node: unknown,
  path: (string | number)[],
  warnings: OutcomeIssue[],
  inTs = false,
  element = 'ClinicalDocument',
): void {
  if (Array.isArray(node)) {
    // An array's items are the element they are listed under: `element` passes through.
    for (let i = 0; i < node.length; i++) {
      path.push(i);
      normaliseTimestamps(node[i], path, warnings, inTs, element);
      path.pop();
    }
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  const isTs =
    TS_ELEMENTS.has(element) || TS_TYPES.has(String(record['@_xsi:type'])) || (inTs && INTERVAL_PARTS.has(element));
  const value = record['@_value'];
  if (isTs && typeof value === 'string') {
    if (!validTimestamp(value)) {
      delete record['@_value'];
      warnings.push(
        warning(
          `${pathText(path)}/@value '${value.slice(0, 40)}' is not a valid HL7 timestamp: it is left out of the FHIR resources`,
        ),
      );
    } else {
      const convertible = convertibleTimestamp(value);
      if (convertible !== value) record['@_value'] = convertible;
    }
  }
  for (const key in record) {
    const child = record[key];
    if (typeof child !== 'object' || child === null) continue;
    path.push(key);
    normaliseTimestamps(child, path, warnings, isTs, key);
    path.pop();
  }
}

/** The path is joined only for a warning: building it for every node cost more than the rest. */
function pathText(path: readonly (string | number)[]): string {
  return path
    .reduce<string>((text, segment) => (typeof segment === 'number' ? `${text}[${segment}]` : `${text}/${segment}`), '')
    .slice(1);
}

function restored(converted: Json, decimals: ReadonlyMap<number, string>): Json {
  restoreDecimals(converted, decimals);
  return converted;
}

/** Data types whose `value` is a number (a PQ's, a REAL's...), and the parts of their intervals. */
const NUMBER_TYPES = new Set(['PQ', 'REAL', 'INT', 'MO', 'IVL_PQ', 'IVL_REAL', 'IVL_INT']);
const DECIMAL = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;
/** Stands in for a decimal while the converter runs: no measurement is this small. */
const sentinel = (k: number) => `${k}e-290`;

/**
 * FHIR makes a decimal's precision significant (`7.10` is not `7.1`), and @medplum/ccda reads
 * each value into a JavaScript number, which cannot hold `7.10`. Every numeric `value` whose text
 * a number would change stands in as a unique tiny number while the converter runs, and
 * restoreDecimals puts its text back as a JsonNumber (written as sent, hashed as sent).
 */
function protectDecimals(document: CdaDocument): Map<number, string> {
  const texts = new Map<number, string>();
  const walk = (node: unknown, numeric: boolean): void => {
    if (Array.isArray(node)) {
      for (const child of node) walk(child, numeric);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const record = node as Record<string, unknown>;
    const type = record['@_xsi:type'];
    const isNumber = (typeof type === 'string' && NUMBER_TYPES.has(type)) || numeric;
    const value = record['@_value'];
    if (isNumber && typeof value === 'string' && DECIMAL.test(value) && !isExactNumberText(value)) {
      const k = texts.size + 1;
      // JSON has no leading zeros (`00`, `007.50`): they carry no precision, and go.
      texts.set(Number(sentinel(k)), value.replace(/^(-?)0+(?=\d)/, '$1'));
      record['@_value'] = sentinel(k);
    }
    const interval = typeof type === 'string' && type.startsWith('IVL_') && isNumber;
    for (const key in record) {
      const child = record[key];
      if (typeof child === 'object' && child !== null) walk(child, interval && INTERVAL_PARTS.has(key));
    }
  };
  walk(document, false);
  return texts;
}

function restoreDecimals(node: unknown, texts: ReadonlyMap<number, string>): void {
  if (texts.size === 0 || typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  for (const key in record) {
    const value = record[key];
    if (typeof value === 'number') {
      const text = texts.get(value);
      if (text !== undefined) record[key] = new JsonNumber(text);
    } else if (typeof value === 'string' && value.includes('e-290')) {
      // Defensive: should the converter ever write a value as text, the text is the original's.
      record[key] = value.replace(/\d+e-290/g, (s) => texts.get(Number(s)) ?? s);
    } else restoreDecimals(value, texts);
  }
}

/** A valid HL7 TS in a form @medplum/ccda converts right (see normaliseTimestamps). */
function convertibleTimestamp(value: string): string {
  const m = /^(\d+)(?:\.\d+)?([+-]\d{4})?$/.exec(value);
  if (!m) return value;
  let digits = m[1] ?? '';
  if (digits.length === 6) digits += '01';
  if (digits.length === 10) digits += '00';
  return digits.length > 8 ? `${digits}${m[2] ?? ''}` : digits;
}

function validTimestamp(value: string): boolean {
  const m = TS.exec(value);
  if (!m) return false;
  const [, , month, day, hour, minute, second, zoneHours, zoneMinutes] = m.map((x) =>
    x === undefined ? undefined : Number(x),
  );
  const within = (x: number | undefined, low: number, high: number) => x === undefined || (x >= low && x <= high);
  return (
    within(month, 1, 12) &&
    within(day, 1, 31) &&
    within(hour, 0, 23) &&
    within(minute, 0, 59) &&
    within(second, 0, 60) &&
    within(zoneHours, 0, 14) &&
    within(zoneMinutes, 0, 59)
  );
}

/**
 * The converter gives one id to every resource it makes from the same CDA id (a clinician who is
 * author and performer): identical copies are one resource; a copy that differs keeps its content
 * under an id of its own (references keep naming the first of its type). When the first resource of
 * a type had to take a new id (the id was another type's), references to it are redirected to that
 * id, so that they still reach it.
 */
function distinctIds(resources: readonly Json[], ids: { next(): string }): Json[] {
  const seen = new Map<string, Json>();
  const renamed = new Map<string, string>();
  const out: Json[] = [];
  for (const r of resources) {
    const key = `${String(r.resourceType)}/${String(r.id)}`;
    const first = seen.get(key) ?? seen.get(String(r.id));
    if (first === undefined) {
      seen.set(key, r);
      seen.set(String(r.id), r);
      out.push(r);
    } else if (JSON.stringify(first) !== JSON.stringify(r)) {
      const id = ids.next();
      if (!seen.has(key)) {
        seen.set(key, r);
        renamed.set(key, `${String(r.resourceType)}/${id}`);
      }
      out.push({ ...r, id });
    }
  }
  if (renamed.size > 0) for (const r of out) redirectReferences(r, renamed);
  return out;
}

/**
 * Resources the converter makes from a CDA participation, one per mention: an author of twenty
 * entries becomes twenty Practitioners with the same content (CCD-1: 36 Practitioners, 7 distinct).
 * Copies that are identical apart from their id are one resource: references to the others name the
 * first, and the patient receives each clinician, organization or relative once. Roles and relatives
 * name other participants, so they are compared after those have merged.
 *
 * Only ids the converter made up are left out of the comparison. It takes a CDA id whose root is a
 * bare UUID as the FHIR id and drops it from the identifiers, so such an id is all that tells two
 * clinicians apart (three unnamed authors with their own ids in History_and_Physical.xml): a
 * resource whose id the document wrote is never merged with another id.
 */
const PARTICIPANT_ROUNDS: readonly (readonly string[])[] = [
  ['Practitioner', 'Organization', 'Location', 'Device'],
  ['PractitionerRole', 'RelatedPerson'],
];

function mergeIdenticalParticipants(resources: Json[], documentUuids: ReadonlySet<string>): Json[] {
  let out = resources;
  for (const types of PARTICIPANT_ROUNDS) {
    const firstByContent = new Map<string, Json>();
    const replaced = new Map<string, string>();
    out = out.filter((r) => {
      const type = String(r.resourceType);
      if (!types.includes(type)) return true;
      const { id, ...content } = r;
      const written = documentUuids.has(String(id).toLowerCase());
      const key = `${type} ${written ? String(id) : ''} ${JSON.stringify(content)}`;
      const first = firstByContent.get(key);
      if (first === undefined) {
        firstByContent.set(key, r);
        return true;
      }
      replaced.set(`${type}/${String(id)}`, `${type}/${String(first.id)}`);
      replaced.set(`urn:uuid:${String(id)}`, `urn:uuid:${String(first.id)}`);
      return false;
    });
    if (replaced.size > 0) for (const r of out) redirectReferences(r, replaced);
  }
  return out;
}

/** Every UUID the document writes as an attribute value (an id's root or extension), lower-cased. */
function uuidsWrittenIn(xml: string): Set<string> {
  const found = new Set<string>();
  for (const m of xml.matchAll(new RegExp(`=\\s*["'](${UUID_TEXT})["']`, 'gi'))) found.add((m[1] ?? '').toLowerCase());
  return found;
}

function redirectReferences(node: unknown, replaced: ReadonlyMap<string, string>): void {
  if (typeof node !== 'object' || node === null || node instanceof JsonNumber) return;
  const record = node as Record<string, unknown>;
  for (const key in record) {
    const value = record[key];
    if (key === 'reference' && typeof value === 'string') record[key] = replaced.get(value) ?? value;
    else redirectReferences(value, replaced);
  }
}

/** The parts of the converter's parsed C-CDA this module reads. */
interface CdaDocument {
  id?: CdaId | CdaId[];
  title?: unknown;
  effectiveTime?: { '@_value'?: string } | { '@_value'?: string }[];
  component?: {
    structuredBody?: { component?: { section?: CdaSection | CdaSection[] }[] };
    nonXMLBody?: unknown;
  };
}
interface CdaId {
  '@_root'?: string;
  '@_extension'?: string;
}
interface CdaSection {
  title?: unknown;
  code?: { '@_code'?: string; '@_displayName'?: string };
  text?: unknown;
  entry?: unknown[];
  component?: { section?: CdaSection | CdaSection[] } | { section?: CdaSection | CdaSection[] }[];
  '@_nullFlavor'?: string;
}

interface SectionSummary {
  title: string;
  code?: string;
  entries: number;
  hasText: boolean;
}

function sectionsOf(document: CdaDocument): SectionSummary[] {
  const out: SectionSummary[] = [];
  for (const component of document.component?.structuredBody?.component ?? []) {
    for (const section of asArray(component.section)) {
      const code = section.code?.['@_code'];
      out.push({
        title: textOf(section.title) || section.code?.['@_displayName'] || code || 'untitled section',
        ...(code ? { code } : {}),
        entries: (section.entry ?? []).filter((e) => !isNullFlavored(e)).length,
        hasText: section.text !== undefined && section.text !== '',
      });
    }
  }
  return out;
}

/**
 * Sections with entries that produced no FHIR entry: the converter has no mapping for them (their
 * narrative stays in Composition.section.text when it kept the section, and in the original).
 */
function unmappedWarnings(sections: readonly SectionSummary[], composition: Json | undefined): OutcomeIssue[] {
  const converted = ((composition?.section as Json[] | undefined) ?? []).map((s) => ({
    title: typeof s.title === 'string' ? s.title : '',
    code: codeOf(s.code),
    entries: Array.isArray(s.entry) ? s.entry.length : 0,
  }));
  const warnings: OutcomeIssue[] = [];
  for (const s of sections) {
    if (s.entries === 0) continue;
    const match = converted.find((c) => c.title === s.title || (s.code !== undefined && c.code === s.code));
    if (match && match.entries > 0) continue;
    const named = `section "${s.title}"${s.code ? ` (LOINC ${s.code})` : ''}`;
    warnings.push(
      warning(
        `${named}: its ${s.entries} entr${s.entries === 1 ? 'y was' : 'ies were'} not converted into FHIR resources ` +
          `(@medplum/ccda ${MEDPLUM_CCDA_VERSION} has no mapping for them); ` +
          (match
            ? 'its narrative is kept in the Composition and the whole document in the DocumentReference'
            : 'the whole document, with this section, is kept in the DocumentReference'),
      ),
    );
  }
  return warnings;
}

function documentReference(
  id: string,
  bytes: Uint8Array,
  patient: Json,
  composition: Json | undefined,
  document: CdaDocument,
): Json {
  const identifier = documentIdentifier(document);
  const date = instantOf(composition?.date);
  const title = typeof composition?.title === 'string' ? composition.title : textOf(document.title);
  const charset = xmlCharset(bytes);
  return {
    resourceType: 'DocumentReference',
    id,
    ...(identifier ? { masterIdentifier: identifier } : {}),
    status: 'current',
    docStatus: 'final',
    ...(composition?.type ? { type: composition.type } : {}),
    subject: { reference: `Patient/${String(patient.id)}` },
    ...(date ? { date } : {}),
    ...(Array.isArray(composition?.author) ? { author: composition.author } : {}),
    ...(composition?.custodian ? { custodian: composition.custodian } : {}),
    ...(title ? { description: title } : {}),
    content: [
      {
        attachment: {
          contentType: charset ? `${CCDA_ATTACHMENT_TYPE}; charset=${charset}` : CCDA_ATTACHMENT_TYPE,
          data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
          size: bytes.byteLength,
          title: title || 'C-CDA document',
        },
        format: CCDA_FORMAT,
      },
    ],
    ...(composition ? { context: { related: [{ reference: `Composition/${String(composition.id)}` }] } } : {}),
  };
}

function provenanceOf(id: string, entries: readonly Json[], documentRef: Json, composition: Json | undefined): Json {
  const custodian = composition?.custodian as Json | undefined;
  return {
    resourceType: 'Provenance',
    id,
    target: entries.map((r) => ({ reference: `${String(r.resourceType)}/${String(r.id)}` })),
    // When the document was made, not when it was posted: a retry must be the same content.
    recorded: instantOf(composition?.date) ?? '1970-01-01T00:00:00Z',
    activity: { text: `converted from C-CDA R2.1 by @medplum/ccda ${MEDPLUM_CCDA_VERSION}` },
    agent: [
      {
        type: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
              code: 'assembler',
              display: 'Assembler',
            },
          ],
        },
        who: { display: 'PHR Ledger gateway' },
        ...(custodian ? { onBehalfOf: custodian } : {}),
      },
    ],
    entity: [{ role: 'source', what: { reference: `DocumentReference/${String(documentRef.id)}` } }],
  };
}

/**
 * The converter's random UUIDs become ids derived from the document's bytes (in the order the
 * converter gives them), and `Type/<id>` references to resources of this bundle become the
 * `urn:uuid:` fullUrls a transaction resolves.
 */
function rewriteIds(resources: readonly Json[], ids: { next(): string }): Json[] {
  const mapping = new Map<string, string>();
  for (const r of resources) {
    if (typeof r.id === 'string' && !mapping.has(r.id)) mapping.set(r.id, IS_UUID.test(r.id) ? ids.next() : r.id);
  }
  const known = new Set(resources.map((r) => `${String(r.resourceType)}/${String(r.id)}`));
  const uuids = new RegExp(UUID_TEXT, 'g');
  const rewrite = (value: string, key: string): string => {
    if (key === 'reference') {
      const slash = value.indexOf('/');
      const target = known.has(value) ? value.slice(slash + 1) : undefined;
      if (target !== undefined) return `urn:uuid:${mapping.get(target) ?? target}`;
    }
    // A string with no hyphen holds no UUID: the attached original's base64 (hundreds of KB) is not searched.
    return value.length >= 36 && value.includes('-') ? value.replace(uuids, (u) => mapping.get(u) ?? u) : value;
  };
  const walk = (node: unknown): void => {
    if (typeof node !== 'object' || node === null || node instanceof JsonNumber) return;
    const record = node as Record<string, unknown>;
    for (const key in record) {
      const value = record[key];
      if (typeof value === 'string') record[key] = rewrite(value, key);
      else walk(value);
    }
  };
  for (const r of resources) walk(r);
  return [...resources];
}

function deterministicIds(bytes: Uint8Array): { next(): string } {
  const seed = createHash('sha256').update(bytes).digest();
  let n = 0;
  return {
    next() {
      return uuidV8(createHash('sha256').update(seed).update(String(n++)).digest());
    },
  };
}

/** `ClinicalDocument/id` as an Identifier (`urn:oid:` root, extension as value; a lone root is its own value). */
function documentIdentifier(document: CdaDocument): { system: string; value: string } | undefined {
  const id = asArray(document.id)[0];
  const root = id?.['@_root'];
  if (!root) return undefined;
  const system = /^[0-2](\.\d+)+$/.test(root) ? `urn:oid:${root}` : `urn:uuid:${root.toLowerCase()}`;
  const extension = id['@_extension'];
  return extension ? { system, value: extension } : { system: 'urn:ietf:rfc:3986', value: system };
}

/** A FHIR instant from a converted dateTime that has a time and zone; date-only values have none. */
function instantOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.exec(value);
  if (!m) return undefined;
  return `${m[1]}${m[2] ?? ':00'}${m[4]}`;
}

function hasIdentifier(patient: Json): boolean {
  return Array.isArray(patient.identifier) && patient.identifier.some((i) => typeof (i as Json)?.value === 'string');
}

function identifierOf(patient: Json): { system: string; value: string } | undefined {
  const found = (Array.isArray(patient.identifier) ? (patient.identifier as Json[]) : []).find(
    (i) => typeof i?.system === 'string' && typeof i.value === 'string',
  );
  return found ? { system: found.system as string, value: found.value as string } : undefined;
}

function codeOf(concept: unknown): string | undefined {
  const coding = (concept as { coding?: { code?: unknown }[] } | undefined)?.coding?.[0]?.code;
  return typeof coding === 'string' ? coding : undefined;
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value.trim();
  const text = (value as { '#text'?: unknown } | undefined)?.['#text'];
  return typeof text === 'string' ? text.trim() : '';
}

function isNullFlavored(entry: unknown): boolean {
  return typeof entry === 'object' && entry !== null && '@_nullFlavor' in entry;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The same warning for each of twelve doses is one warning that says twelve times. */
function collapseRepeats(warnings: readonly OutcomeIssue[]): OutcomeIssue[] {
  const counts = new Map<string, { issue: OutcomeIssue; times: number }>();
  for (const issue of warnings) {
    const key = `${issue.severity} ${issue.code} ${issue.diagnostics ?? ''}`;
    const seen = counts.get(key);
    if (seen) seen.times++;
    else counts.set(key, { issue, times: 1 });
  }
  return [...counts.values()].map(({ issue, times }) =>
    times === 1 ? issue : { ...issue, diagnostics: `${issue.diagnostics ?? ''} (${times} times)` },
  );
}
