import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { HL7_V3 } from './xml-guard';

/**
 * A C-CDA document read into the object tree @medplum/ccda converts: the tree its own
 * `convertXmlToCcda` builds with fast-xml-parser, built here from the events of saxes (a strict XML
 * 1.0 parser, the one jsdom uses). fast-xml-parser's object building was more than half of a CCD's
 * whole conversion (about 6 of 12 ms); saxes and the tree below take under 2.
 *
 * The shape is fast-xml-parser's with medplum's options (attributes as `@_name`, values kept as
 * strings, `#text` for text beside elements or attributes, `''` for an empty element), and the
 * paths medplum always makes arrays. `ccda-xml.test.ts` compares it with medplum's own reading of
 * every example document and of generated variations, so a medplum release that reads differently
 * fails there. Where XML itself says otherwise, XML wins: line ends become `\n` and whitespace
 * characters in attribute values become spaces (XML 1.0 §2.11, §3.3.3), and every character
 * reference is resolved (fast-xml-parser leaves `&#233;` as it is).
 */

/**
 * @medplum/ccda's `ARRAY_PATHS` (src/xml.ts, not exported): an element or attribute whose dotted
 * path ends with one of these is always an array, even when it occurs once.
 */
export const MEDPLUM_ARRAY_PATHS = [
  'ClinicalDocument.participant',
  'ClinicalDocument.recordTarget',
  '.id',
  '.templateId',
  '.name',
  '.addr',
  '.telecom',
  '.streetAddressLine',
  '.author',
  '.effectiveTime',
  'name.given',
  'name.suffix',
  'name.prefix',
  'patient.raceCode',
  'patient.sdtc:raceCode',
  'patient.ethnicGroupCode',
  'patient.languageCommunication',
  'component.structuredBody.component',
  'component.structuredBody.component.section',
  'component.section',
  'component.observation',
  'component.act',
  'code.translation',
  'value.translation',
  'routeCode.translation',
  'methodCode.translation',
  'targetSiteCode.translation',
  'approachSiteCode.translation',
  'administrationUnitCode.translation',
  'section.entry',
  'entry.act',
  'entry.organizer',
  'entry.substanceAdministration',
  'entry.observation',
  'entry.encounter',
  'entry.procedure',
  'encounter.performer',
  'encounter.participant',
  'encounter.entryRelationship',
  'entryRelationship.observation',
  'entryRelationship.substanceAdministration',
  'entryRelationship.act',
  'organizer.component',
  'substanceAdministration.consumable.manufacturedProduct',
  'substanceAdministration.entryRelationship',
  'substanceAdministration.performer',
  'act.entryRelationship',
  'act.performer',
  'observation.participant',
  'observation.entryRelationship',
  'observation.referenceRange',
  'consumable.manufacturedProduct',
  'manufacturedProduct.manufacturedMaterial',
  'manufacturedProduct.manufacturerOrganization',
  'manufacturedProduct.manufacturedLabeledDrug',
  'manufacturedMaterial.code',
  'manufacturedMaterial.lotNumberText',
];

/** The array paths by their last name, so that each element looks only at the few that can match. */
const ARRAY_PATHS_BY_NAME = new Map<string, string[]>();
for (const path of MEDPLUM_ARRAY_PATHS) {
  const name = path.slice(path.lastIndexOf('.') + 1);
  ARRAY_PATHS_BY_NAME.set(name, [...(ARRAY_PATHS_BY_NAME.get(name) ?? []), path]);
}

/** `path` is asked for only when some array path ends in `name`: most names end none. */
function alwaysArray(name: string, path: () => string): boolean {
  const suffixes = ARRAY_PATHS_BY_NAME.get(name);
  if (suffixes === undefined) return false;
  const full = path();
  return suffixes.some((suffix) => full.endsWith(suffix));
}

type Tree = Record<string, unknown>;

/** An element the tree holds once or several times (or not at all), as the list it is. */
export function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** An element being read. */
interface Open {
  name: string;
  /** dotted path from the root element, as medplum's array paths are written */
  path: string;
  attributes: Record<string, string>;
  children: Tree;
  /** the element's text so far: each run between two tags trimmed, the runs joined */
  text: string | undefined;
  /** the current run, until the next tag, CDATA section or processing instruction ends it */
  run: string;
  /** namespace prefixes in scope that name CDA's, SDTC's or XML Schema instance's namespace */
  prefixes: Prefixes;
}

/** What each namespace's names are written as in medplum's tree: CDA's bare, the others by their usual prefix. */
const WRITTEN_AS: ReadonlyMap<string, string> = new Map([
  [HL7_V3, ''],
  ['urn:hl7-org:sdtc', 'sdtc:'],
  ['http://www.w3.org/2001/XMLSchema-instance', 'xsi:'],
]);
/** prefix → how names with that prefix are written (`''` for CDA's); none bound by default. */
type Prefixes = ReadonlyMap<string, string>;
const NO_PREFIXES: Prefixes = new Map();

/**
 * The ClinicalDocument of a well-formed document (one `guardXml` let through) as medplum's tree.
 *
 * @throws Error when the text is not well-formed XML (saxes' message; the guard, which runs first,
 *   says where).
 */
export function readCcdaXml(xml: string): Tree | undefined {
  const top: Open = {
    name: '',
    path: '',
    attributes: {},
    children: {},
    text: undefined,
    run: '',
    prefixes: NO_PREFIXES,
  };
  const open: Open[] = [top];
  // Names are read as written (`sdtc:raceCode`), as medplum's paths name them, unless a prefix
  // binds CDA's own namespace (`<v3:ClinicalDocument xmlns:v3="urn:hl7-org:v3">`): see renamed().
  const parser = new SaxesParser({ xmlns: false, position: false });
  let current = top;
  const scoped = bindsUnusualPrefixes(xml);
  parser.on('opentag', (tag: SaxesTagPlain) => {
    endRun(current);
    const prefixes = scoped ? declared(tag.attributes, current.prefixes) : NO_PREFIXES;
    const attributes = prefixes.size === 0 ? tag.attributes : renamedAttributes(tag.attributes, prefixes);
    const written = prefixes.size === 0 ? tag.name : renamed(tag.name, prefixes);
    // fast-xml-parser's renaming: `__proto__` as a key would set the object's prototype.
    const name = written === '__proto__' ? '#__proto__' : written;
    const path = current === top ? name : `${current.path}.${name}`;
    current = { name, path, attributes, children: {}, text: undefined, run: '', prefixes };
    open.push(current);
  });
  // Text outside the root element is whitespace (anything else is not well-formed): nothing to keep.
  parser.on('text', (text) => {
    if (current !== top) current.run += text;
  });
  // A comment does not end a run: text on both sides of it is one run, as in fast-xml-parser.
  parser.on('cdata', (text) => {
    endRun(current);
    current.text = (current.text ?? '') + text;
  });
  // Processing instructions are not content (and never followed); like a tag, one ends a run.
  parser.on('processinginstruction', () => endRun(current));
  parser.on('closetag', () => {
    const element = open.pop() as Open;
    current = open[open.length - 1] as Open;
    endRun(element);
    add(current.children, element.name, valueOf(element), element.path);
  });
  parser.write(xml).close();
  const root = top.children.ClinicalDocument;
  return root !== null && typeof root === 'object' && !Array.isArray(root) ? (root as Tree) : undefined;
}

/**
 * Whether the text declares a prefix for CDA's, SDTC's or XML Schema instance's namespace other than
 * the usual one (`xmlns:v3="urn:hl7-org:v3"`). Most documents do not, and are then read without
 * looking at each element's declarations. A match in text that is not a declaration only costs that.
 */
function bindsUnusualPrefixes(xml: string): boolean {
  for (const m of xml.matchAll(/xmlns:([^\s=]+)\s*=\s*(["'])([^"']*)\2/g)) {
    const as = WRITTEN_AS.get((m[3] ?? '').trim());
    if (as !== undefined && as !== `${m[1] ?? ''}:`) return true;
  }
  return false;
}

/**
 * The prefixes in scope after an element's own declarations. Only declarations that bind CDA's,
 * SDTC's or XML Schema instance's namespace under another prefix than medplum reads matter; a
 * document that writes `xmlns="urn:hl7-org:v3"`, `xmlns:sdtc` and `xmlns:xsi` as usual has none.
 */
function declared(attributes: Record<string, string>, outer: Prefixes): Prefixes {
  let prefixes = outer;
  for (const name in attributes) {
    if (!name.startsWith('xmlns:')) continue;
    const prefix = name.slice('xmlns:'.length);
    const as = WRITTEN_AS.get((attributes[name] as string).trim());
    const usual = as !== undefined && as === `${prefix}:`;
    if ((as === undefined || usual) && !prefixes.has(prefix)) continue;
    if (prefixes === outer) prefixes = new Map(outer);
    if (as === undefined || usual) (prefixes as Map<string, string>).delete(prefix);
    else (prefixes as Map<string, string>).set(prefix, as);
  }
  return prefixes;
}

/** `v3:section` → `section`, `s:raceCode` (SDTC) → `sdtc:raceCode`: the names medplum reads. */
function renamed(name: string, prefixes: Prefixes): string {
  const colon = name.indexOf(':');
  if (colon < 0) return name;
  const as = prefixes.get(name.slice(0, colon));
  return as === undefined ? name : `${as}${name.slice(colon + 1)}`;
}

/** Names, and the type an `xsi:type` names (`v3:PQ` is CDA's PQ, which medplum reads as `PQ`). */
function renamedAttributes(attributes: Record<string, string>, prefixes: Prefixes): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in attributes) {
    const as = renamed(name, prefixes);
    const value = attributes[name] as string;
    out[as] = as === 'xsi:type' ? renamed(value.trim(), prefixes) : value;
  }
  return out;
}

function endRun(element: Open): void {
  if (element.run === '') return;
  // JavaScript's trim, as fast-xml-parser's: no-break spaces at a run's ends go too.
  const trimmed = element.run.trim();
  element.run = '';
  if (trimmed !== '') element.text = (element.text ?? '') + trimmed;
}

/** An element's value: children first, then `#text`, then attributes, in fast-xml-parser's key order. */
function valueOf(element: Open): unknown {
  const value = element.children;
  if (element.text !== undefined && element.text !== '') value['#text'] = element.text;
  let attributes = false;
  const given = element.attributes;
  for (const name in given) {
    attributes = true;
    const text = (given[name] as string).trim();
    value[`@_${name}`] = alwaysArray(name, () => `${element.path}.${name}`) ? [text] : text;
  }
  if (attributes) return value;
  const keys = Object.keys(value);
  if (keys.length === 0) return '';
  return keys.length === 1 && value['#text'] !== undefined ? value['#text'] : value;
}

function add(children: Tree, name: string, value: unknown, path: string): void {
  if (!Object.prototype.hasOwnProperty.call(children, name)) {
    children[name] = alwaysArray(name, () => path) ? [value] : value;
    return;
  }
  const earlier = children[name];
  if (Array.isArray(earlier)) earlier.push(value);
  else children[name] = [earlier, value];
}
