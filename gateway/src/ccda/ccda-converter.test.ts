import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FhirError, type OutcomeIssue } from '@phr/common';
import { FhirValidator } from '../fhir/validation';
import { CCDA_ATTACHMENT_TYPE, convertCcda, type ConvertedCcda } from './ccda-converter';
import { MEDPLUM_CCDA_VERSION } from './converter-version';

const EXAMPLES = join(__dirname, '..', '..', '..', 'fixtures', 'ccda-examples');
const examples = readdirSync(EXAMPLES)
  .filter((name) => name.endsWith('.xml'))
  .sort();

type Json = Record<string, unknown>;
interface Entry {
  fullUrl: string;
  resource: Json & { resourceType: string; id: string };
  request: { method: string; url: string };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let validator: FhirValidator;
beforeAll(() => {
  validator = FhirValidator.create();
});

function convert(xml: string | Buffer): ConvertedCcda {
  const bytes = typeof xml === 'string' ? Buffer.from(xml, 'utf8') : xml;
  return convertCcda(bytes.toString('utf8'), bytes);
}

const fixtureBytes = (name: string) => readFileSync(join(EXAMPLES, name));
const converted = new Map<string, ConvertedCcda>();
/** Each fixture converted once for all the tests that only read the result. */
function fixture(name: string): ConvertedCcda {
  let result = converted.get(name);
  if (!result) {
    result = convert(fixtureBytes(name));
    converted.set(name, result);
  }
  return result;
}

const entriesOf = (bundle: Json) => bundle.entry as Entry[];
const resourcesOf = (bundle: Json, type: string) =>
  entriesOf(bundle)
    .map((e) => e.resource)
    .filter((r) => r.resourceType === type);
const oneOf = (bundle: Json, type: string) => {
  const found = resourcesOf(bundle, type);
  expect(found).toHaveLength(1);
  return found[0]!;
};

/** Validated as the gateway does: the Bundle's JSON text, parsed (decimals keep their text only in the text). */
function errorsOf(bundle: Json): string[] {
  return validator
    .validateBundle(JSON.parse(JSON.stringify(bundle)))
    .filter((i) => i.severity === 'error' || i.severity === 'fatal')
    .map((i) => `${i.expression?.join(',') ?? ''}: ${i.diagnostics ?? i.code}`);
}

/** Every `reference` string anywhere in the resources. */
function referencesIn(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const child of node) referencesIn(child, out);
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'reference' && typeof value === 'string') out.push(value);
      else referencesIn(value, out);
    }
  }
  return out;
}

function refusal(xml: string): FhirError {
  try {
    convert(xml);
  } catch (error) {
    if (error instanceof FhirError) return error;
    throw error;
  }
  throw new Error('the converter accepted the document');
}

const diagnostics = (issues: readonly OutcomeIssue[]) => issues.map((i) => i.diagnostics ?? '');

// --- A small C-CDA of our own, to vary one thing at a time ----------------------------------------

interface DocumentParts {
  /** recordTarget/patientRole/id elements */
  patientIds?: string;
  patientName?: string;
  effectiveTime?: string;
  /** what goes in ClinicalDocument/component (a structuredBody or nonXMLBody), if anything */
  body?: string;
}

function ccda(parts: DocumentParts = {}): string {
  const {
    patientIds = '<id root="2.16.840.1.113883.19.5" extension="MRN-1"/>',
    patientName = '<given>Ada</given><family>Test</family>',
    effectiveTime = '20150722180000-0500',
    body = structuredBody(resultsSection()),
  } = parts;
  return `<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <templateId root="2.16.840.1.113883.10.20.22.1.1" extension="2015-08-01"/>
  <id root="2.16.840.1.113883.19.5.99999.1" extension="DOC-1"/>
  <code code="34133-9" codeSystem="2.16.840.1.113883.6.1" displayName="Summary of episode note"/>
  <title>Converter test document</title>
  <effectiveTime value="${effectiveTime}"/>
  <recordTarget><patientRole>${patientIds}<patient>
    <name>${patientName}</name>
    <administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/>
    <birthTime value="19800101"/>
  </patient></patientRole></recordTarget>
  <author><time value="20150722"/><assignedAuthor><id root="2.16.840.1.113883.4.6" extension="111"/>
    <assignedPerson><name><given>Henry</given><family>Seven</family></name></assignedPerson></assignedAuthor></author>
  <custodian><assignedCustodian><representedCustodianOrganization><id root="2.16.840.1.113883.4.6" extension="999"/>
    <name>Community Hospital</name></representedCustodianOrganization></assignedCustodian></custodian>
  ${body}
</ClinicalDocument>`;
}

const structuredBody = (...sections: string[]) =>
  `<component><structuredBody>${sections.map((s) => `<component>${s}</component>`).join('')}</structuredBody></component>`;

interface ResultParts {
  organizerTime?: string;
  observationTime?: string;
  value?: string;
  /** the content of the section's <text> */
  text?: string;
}

/** A Results section: one organizer, one observation with a value and a reference range. */
function resultsSection(parts: ResultParts = {}): string {
  const {
    organizerTime = '20150722180000-0500',
    observationTime = '20150722180000-0500',
    value = '<value xsi:type="PQ" value="7.10" unit="mg"/>',
    text = '<paragraph>Hemoglobin 7.10 mg</paragraph>',
  } = parts;
  return `<section>
  <templateId root="2.16.840.1.113883.10.20.22.2.3.1" extension="2015-08-01"/>
  <code code="30954-2" codeSystem="2.16.840.1.113883.6.1"/>
  <title>RESULTS</title>
  <text>${text}</text>
  <entry typeCode="DRIV"><organizer classCode="BATTERY" moodCode="EVN">
    <templateId root="2.16.840.1.113883.10.20.22.4.1" extension="2015-08-01"/>
    <id root="7d5a02b0-67a4-11db-bd13-0800200c9a66"/>
    <code code="57021-8" codeSystem="2.16.840.1.113883.6.1" displayName="CBC panel"/>
    <statusCode code="completed"/>
    <effectiveTime value="${organizerTime}"/>
    <component><observation classCode="OBS" moodCode="EVN">
      <templateId root="2.16.840.1.113883.10.20.22.4.2" extension="2015-08-01"/>
      <id root="107c2dc0-67a5-11db-bd13-0800200c9a66"/>
      <code code="718-7" codeSystem="2.16.840.1.113883.6.1" displayName="Hemoglobin"/>
      <statusCode code="completed"/>
      <effectiveTime value="${observationTime}"/>
      ${value}
      <referenceRange><observationRange><value xsi:type="IVL_PQ">
        <low value="12.0" unit="g/dL"/><high value="15.5" unit="g/dL"/>
      </value></observationRange></referenceRange>
    </observation></component>
  </organizer></entry>
</section>`;
}

/** The result observation (the one with code 718-7) of a converted resultsSection. */
function resultObservation(bundle: Json): Json {
  const found = resourcesOf(bundle, 'Observation').filter((o) =>
    ((o.code as { coding?: { code?: string }[] } | undefined)?.coding ?? []).some((c) => c.code === '718-7'),
  );
  expect(found).toHaveLength(1);
  return found[0]!;
}

function sectionDivs(bundle: Json): string[] {
  const composition = oneOf(bundle, 'Composition');
  return ((composition.section as { text?: { div?: string } }[] | undefined) ?? []).map((s) => s.text?.div ?? '');
}

// --- The HL7 examples ------------------------------------------------------------------------------

describe('convertCcda: the 15 HL7 C-CDA R2.1 examples', () => {
  it('has the 15 examples', () => {
    expect(examples).toHaveLength(15);
  });

  it.each(examples)('%s converts to a transaction Bundle the validator finds no error in', (name) => {
    const { bundle } = fixture(name);
    expect(bundle.resourceType).toBe('Bundle');
    expect(bundle.type).toBe('transaction');
    const entries = entriesOf(bundle);
    expect(entries.length).toBeGreaterThanOrEqual(4); // Composition or not, a Patient, the document, its Provenance
    for (const entry of entries) {
      expect(entry.request).toEqual({ method: 'POST', url: entry.resource.resourceType });
    }
    expect(resourcesOf(bundle, 'Patient')).toHaveLength(1);
    expect(errorsOf(bundle)).toEqual([]);
  });

  it.each(examples)('%s: fullUrls are unique urn:uuid: ids, and references to the bundle use them', (name) => {
    const entries = entriesOf(fixture(name).bundle);
    const fullUrls = entries.map((e) => e.fullUrl);
    expect(new Set(fullUrls).size).toBe(entries.length);
    for (const { fullUrl, resource } of entries) {
      expect(resource.id).toMatch(UUID);
      expect(fullUrl).toBe(`urn:uuid:${resource.id}`);
    }
    const inBundle = new Set(entries.map((e) => `${e.resource.resourceType}/${e.resource.id}`));
    const references = referencesIn(entries.map((e) => e.resource));
    expect(references.length).toBeGreaterThan(0);
    // a reference that names a resource of this bundle by type and id instead of its fullUrl
    expect(references.filter((r) => inBundle.has(r))).toEqual([]);
    // a urn:uuid: that is no entry's fullUrl
    expect(references.filter((r) => r.startsWith('urn:uuid:') && !fullUrls.includes(r))).toEqual([]);
    // a Type/<uuid> left over: the converter's ids are UUIDs, so that is a link to nothing
    expect(references.filter((r) => /^[A-Za-z]+\/[0-9a-f-]{36}$/.test(r))).toEqual([]);
  });

  it.each(examples)('%s: the DocumentReference holds exactly the bytes that were converted', (name) => {
    const bytes = fixtureBytes(name);
    const documentRef = oneOf(fixture(name).bundle, 'DocumentReference');
    const content = documentRef.content as { attachment: Json; format: { code: string } }[];
    expect(content).toHaveLength(1);
    const attachment = content[0]!.attachment;
    expect(attachment.contentType).toBe(CCDA_ATTACHMENT_TYPE);
    expect(attachment.size).toBe(bytes.length);
    expect(Buffer.from(String(attachment.data), 'base64').equals(bytes)).toBe(true);
    expect(content[0]!.format.code).toBe('urn:hl7-org:sdwg:ccda-structuredBody:2.1');
    const patient = oneOf(fixture(name).bundle, 'Patient');
    expect(documentRef.subject).toEqual({ reference: `urn:uuid:${patient.id}` });
  });

  it.each(examples)('%s: the Provenance targets every converted resource once, its entity is the document', (name) => {
    const entries = entriesOf(fixture(name).bundle);
    const provenance = oneOf(fixture(name).bundle, 'Provenance');
    const documentRef = entries.find((e) => e.resource.resourceType === 'DocumentReference')!;
    const targets = (provenance.target as { reference: string }[]).map((t) => t.reference);
    const others = entries
      .filter((e) => e.resource.resourceType !== 'Provenance' && e.resource.resourceType !== 'DocumentReference')
      .map((e) => e.fullUrl);
    expect(others.length).toBeGreaterThan(0);
    expect([...targets].sort()).toEqual([...others].sort());
    expect(provenance.entity).toEqual([{ role: 'source', what: { reference: documentRef.fullUrl } }]);
  });

  it.each(examples)(
    '%s: each named clinician, organization, place, device, role and relative is delivered once',
    (name) => {
      // One without a name or identifier is told apart from another only by the id the document gave it.
      const participants = entriesOf(fixture(name).bundle)
        .map((e) => e.resource)
        .filter((r) =>
          ['Practitioner', 'Organization', 'Location', 'Device', 'PractitionerRole', 'RelatedPerson'].includes(
            r.resourceType,
          ),
        )
        .filter((r) => r.resourceType === 'PractitionerRole' || r.name !== undefined || r.identifier !== undefined);
      const contents = participants.map(({ id: _id, ...content }) => JSON.stringify(content));
      expect(new Set(contents).size).toBe(contents.length);
    },
  );

  it('keeps clinicians apart whom only their CDA ids tell apart (three unnamed authors in History_and_Physical)', () => {
    const { bundle } = fixture('History_and_Physical.xml');
    const unnamed = resourcesOf(bundle, 'Practitioner').filter((p) => !p.name && !p.identifier);
    expect(unnamed).toHaveLength(3);
    const urls = new Set(unnamed.map((p) => `urn:uuid:${p.id}`));
    const referenced = new Set(referencesIn(entriesOf(bundle).map((e) => e.resource)).filter((r) => urls.has(r)));
    expect(referenced.size).toBe(3);
  });

  it('merges the converter’s one Practitioner per mention: CCD-1 names 7 clinicians in 36 places', () => {
    const { bundle } = fixture('CCD-1.xml');
    const practitioners = resourcesOf(bundle, 'Practitioner');
    expect(practitioners).toHaveLength(7);
    const ids = new Set(practitioners.map((p) => `urn:uuid:${p.id}`));
    const toPractitioners = referencesIn(entriesOf(bundle).map((e) => e.resource)).filter((r) => ids.has(r));
    // the authors and performers of the entries, and the roles, all reach the 7 that stay
    expect(toPractitioners.length).toBeGreaterThanOrEqual(36);
  });

  it('is deterministic: the same bytes give the identical Bundle', () => {
    const bytes = fixtureBytes('CCD-2.xml');
    const first = convert(Buffer.from(bytes));
    const second = convert(Buffer.from(bytes));
    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
  });

  it('gives other ids when one byte changes', () => {
    const bytes = fixtureBytes('CCD-2.xml');
    const changed = Buffer.from(bytes);
    const at = changed.indexOf('<title>Summary') + '<title>'.length;
    expect(String.fromCharCode(changed[at]!)).toBe('S');
    changed[at] = 's'.charCodeAt(0);
    const ids = (c: ConvertedCcda) => entriesOf(c.bundle).map((e) => e.resource.id);
    const before = ids(fixture('CCD-2.xml'));
    const after = ids(convert(changed));
    expect(after).toHaveLength(before.length);
    expect(after.filter((id) => before.includes(id))).toEqual([]);
  });

  it('warns about a section whose entries have no mapping (Insurance Providers in CCD-1)', () => {
    const { warnings } = fixture('CCD-1.xml');
    const insurance = warnings.filter((w) => /INSURANCE PROVIDERS/.test(w.diagnostics ?? ''));
    expect(insurance).toHaveLength(1);
    expect(insurance[0]).toMatchObject({ severity: 'warning', code: 'incomplete' });
    expect(insurance[0]!.diagnostics).toMatch(/not converted into FHIR resources/);
    expect(insurance[0]!.diagnostics).toContain(MEDPLUM_CCDA_VERSION);
  });

  it('warns that an unstructured body is not converted, and still delivers the document', () => {
    const { bundle, warnings } = fixture('Unstructured_Document_embed_PDF.xml');
    expect(diagnostics(warnings).some((d) => /nonXMLBody/.test(d))).toBe(true);
    expect(resourcesOf(bundle, 'DocumentReference')).toHaveLength(1);
  });
});

// --- Timestamps ----------------------------------------------------------------------------------

describe('convertCcda: timestamps', () => {
  it('converts a result with its PQ value and IVL_PQ reference range as they are', () => {
    const { bundle, warnings } = convert(ccda());
    expect(warnings).toEqual([]);
    const observation = resultObservation(bundle);
    // As written: 7.10 and 12.0 keep their text (JsonNumber), 15.5 is a plain number.
    expect(JSON.stringify(observation.valueQuantity)).toMatch(/"value":7\.10[,}]/);
    expect(observation.valueQuantity).toMatchObject({ unit: 'mg' });
    expect(JSON.stringify(observation.referenceRange)).toMatch(/"low":\{"value":12\.0[,}]/);
    expect(JSON.stringify(observation.referenceRange)).toMatch(/"high":\{"value":15\.5[,}]/);
    expect(observation.effectiveDateTime).toBe('2015-07-22T18:00:00-05:00');
    expect(errorsOf(bundle)).toEqual([]);
  });

  it('drops an invalid timestamp with a warning naming its path, and leaves PQ values alone', () => {
    const { bundle, warnings } = convert(
      ccda({ body: structuredBody(resultsSection({ observationTime: '20150722230000-5000' })) }),
    );
    expect(diagnostics(warnings)).toEqual([
      expect.stringMatching(
        new RegExp(
          '^ClinicalDocument/component/structuredBody/component\\[0\\]/section\\[0\\]/entry\\[0\\]/organizer\\[0\\]/' +
            "component\\[0\\]/observation\\[0\\]/effectiveTime\\[0\\]/@value '20150722230000-5000' is not a valid HL7 timestamp",
        ),
      ),
    ]);
    const observation = resultObservation(bundle);
    expect(Object.keys(observation).filter((k) => k.startsWith('effective'))).toEqual([]);
    // the PQ value (7.10) and the range's <low value="12.0"/> are no timestamps: kept, no warning
    // As written: 7.10 and 12.0 keep their text (JsonNumber), 15.5 is a plain number.
    expect(JSON.stringify(observation.valueQuantity)).toMatch(/"value":7\.10[,}]/);
    expect(observation.valueQuantity).toMatchObject({ unit: 'mg' });
    expect(JSON.stringify(observation.referenceRange)).toMatch(/"low":\{"value":12\.0[,}]/);
    expect(JSON.stringify(observation.referenceRange)).toMatch(/"high":\{"value":15\.5[,}]/);
    expect(JSON.stringify(bundle)).not.toContain('-50:00');
    expect(errorsOf(bundle)).toEqual([]);
  });

  it.each([
    ['a zone of 50 hours', '20150722230000-5000'],
    ['a 13th month', '20151322'],
    ['a 32nd day', '20150732'],
    ['hour 24', '2015072224'],
    ['an odd number of digits', '201507221'],
    ['not digits', '2015-07-22'],
  ])('drops %s with a warning', (_what, value) => {
    const { bundle, warnings } = convert(ccda({ body: structuredBody(resultsSection({ observationTime: value })) }));
    expect(diagnostics(warnings)).toEqual([expect.stringContaining(`effectiveTime[0]/@value '${value}'`)]);
    expect(errorsOf(bundle)).toEqual([]);
  });

  it('makes an hour-precision timestamp a valid dateTime of that hour', () => {
    const { bundle, warnings } = convert(
      ccda({
        effectiveTime: '2015072218-0500',
        body: structuredBody(resultsSection({ organizerTime: '2015072218-0500', observationTime: '2015072218-0500' })),
      }),
    );
    expect(warnings).toEqual([]);
    expect(resultObservation(bundle).effectiveDateTime).toBe('2015-07-22T18:00:00-05:00');
    expect(oneOf(bundle, 'Composition').date).toBe('2015-07-22T18:00:00-05:00');
    expect(errorsOf(bundle)).toEqual([]);
  });

  it.each([
    ['a date with a zone', '20150722-0500', /^2015-07-22(T|$)/],
    ['a month', '201507', /^2015-07/],
    ['a month with a zone', '201507-0500', /^2015-07/],
    ['a fraction of a second', '20150722183015.123-0500', /^2015-07-22T18:30:15(\.\d+)?-05:00$/],
    ['minutes and a zone', '201507221830+0530', /^2015-07-22T18:30:00\+05:30$/],
  ])('converts %s to a valid dateTime that says the same', (_what, value, expected) => {
    const { bundle, warnings } = convert(
      ccda({ effectiveTime: value, body: structuredBody(resultsSection({ observationTime: value })) }),
    );
    expect(warnings).toEqual([]);
    expect(resultObservation(bundle).effectiveDateTime).toMatch(expected);
    expect(oneOf(bundle, 'Composition').date).toMatch(expected);
    expect(errorsOf(bundle)).toEqual([]);
  });
});

// --- Text ----------------------------------------------------------------------------------------

describe('convertCcda: text', () => {
  it('keeps escaped markup in a narrative escaped', () => {
    const { bundle } = convert(
      ccda({
        body: structuredBody(resultsSection({ text: '<paragraph>&lt;script&gt;alert(1)&lt;/script&gt;</paragraph>' })),
      }),
    );
    const [div] = sectionDivs(bundle);
    expect(div).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(div).not.toMatch(/<script/i);
    expect(errorsOf(bundle)).toEqual([]);
  });

  it.each([
    ['an ampersand', 'pain &amp; swelling', 'pain &amp; swelling'],
    ['escaped markup', '&lt;b&gt;not bold&lt;/b&gt;', '&lt;b&gt;not bold&lt;/b&gt;'],
    ['a less-than sign', 'a &lt; b', 'a &lt; b'],
  ])('keeps %s in a narrative of plain text (no elements) as text', (_what, text, expected) => {
    const { bundle } = convert(ccda({ body: structuredBody(resultsSection({ text })) }));
    const [div] = sectionDivs(bundle);
    expect(div).toBe(`<div xmlns="http://www.w3.org/1999/xhtml">${expected}</div>`);
    expect(errorsOf(bundle)).toEqual([]);
  });

  it('reads numeric character references as the characters they name', () => {
    const { bundle } = convert(
      ccda({
        patientName: '<given>Jos&#233;</given><family>Pe&#xF1;a &#38; Sons</family>',
        body: structuredBody(resultsSection({ text: '<paragraph>caf&#233; &#60;ok&#62;</paragraph>' })),
      }),
    );
    const name = (oneOf(bundle, 'Patient').name as { given?: string[]; family?: string }[])[0];
    expect(name?.given).toEqual(['José']);
    expect(name?.family).toBe('Peña & Sons');
    const [div] = sectionDivs(bundle);
    expect(div).toContain('café &lt;ok&gt;');
    expect(errorsOf(bundle)).toEqual([]);
  });

  it('leaves &#…; inside CDATA as it is written', () => {
    const { bundle } = convert(
      ccda({ body: structuredBody(resultsSection({ text: '<paragraph><![CDATA[&#233;]]></paragraph>' })) }),
    );
    const [div] = sectionDivs(bundle);
    expect(div).toContain('&amp;#233;');
  });
});

// --- Refusals ------------------------------------------------------------------------------------

describe('convertCcda: refusals', () => {
  it.each([
    ['no patient id', ''],
    ['a null-flavored patient id', '<id nullFlavor="NI"/>'],
  ])('refuses a document with %s (422)', (_what, patientIds) => {
    const error = refusal(ccda({ patientIds }));
    expect(error.status).toBe(422);
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({ severity: 'error' });
    expect(error.issues[0]!.diagnostics).toMatch(/no patient with an identifier/);
  });

  it('refuses a document with no recordTarget (422)', () => {
    const xml = ccda().replace(/<recordTarget>[\s\S]*<\/recordTarget>/, '');
    expect(xml).not.toContain('recordTarget');
    const error = refusal(xml);
    expect(error.status).toBe(422);
    expect(error.issues[0]!.diagnostics).toMatch(/no patient with an identifier/);
  });

  it.each([
    ['no body at all', ''],
    ['an empty structuredBody', '<component><structuredBody/></component>'],
    [
      'only an empty section',
      structuredBody(
        '<section><code code="30954-2" codeSystem="2.16.840.1.113883.6.1"/><title>RESULTS</title></section>',
      ),
    ],
  ])('refuses a document with %s: no clinical content (422)', (_what, body) => {
    const error = refusal(ccda({ body }));
    expect(error.status).toBe(422);
    expect(error.issues[0]!.diagnostics).toMatch(/no clinical content/);
  });

  it('accepts a nonXMLBody as content', () => {
    const body =
      '<component><nonXMLBody><text mediaType="text/plain" representation="B64">SGVsbG8=</text></nonXMLBody></component>';
    const { bundle, warnings } = convert(ccda({ body }));
    expect(diagnostics(warnings).some((d) => /nonXMLBody/.test(d))).toBe(true);
    expect(errorsOf(bundle)).toEqual([]);
  });

  it.each([
    ['text', 'this is not XML at all'],
    ['an empty body', ''],
    ['JSON', '{"resourceType":"Bundle","type":"transaction"}'],
    ['another XML root', '<html><body><p>hello</p></body></html>'],
    ['a name the parser refuses', '<ClinicalDocument xmlns="urn:hl7-org:v3"><__proto__/></ClinicalDocument>'],
  ])('refuses %s, which the converter cannot read (422)', (_what, xml) => {
    const error = refusal(xml);
    expect(error.status).toBe(422);
    expect(error.issues[0]).toMatchObject({ severity: 'error' });
  });
});

// --- The converter itself ------------------------------------------------------------------------

describe('convertCcda: @medplum/ccda', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('keeps the converter off the console and makes what it says a warning', () => {
    const consoleWarn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { bundle, warnings } = convert(
      ccda({ body: structuredBody(resultsSection({ value: '<value xsi:type="ED">free text result</value>' })) }),
    );
    expect(consoleWarn).not.toHaveBeenCalled();
    // eslint-disable-next-line no-console -- the converter must put the console back as it found it
    expect(console.warn).toBe(consoleWarn);
    const said = warnings.filter((w) => /Unhandled observation value type: ED/.test(w.diagnostics ?? ''));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({ severity: 'warning', code: 'incomplete' });
    expect(said[0]!.diagnostics).toContain(`@medplum/ccda ${MEDPLUM_CCDA_VERSION}`);
    expect(errorsOf(bundle)).toEqual([]);
  });

  it('names the installed @medplum/ccda version', () => {
    let dir = dirname(require.resolve('@medplum/ccda'));
    let manifest: { name?: string; version?: string } = {};
    // the package's dist folders have package.json files of their own (module type only)
    for (let i = 0; i < 5 && manifest.name !== '@medplum/ccda'; i++, dir = dirname(dir)) {
      try {
        manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as typeof manifest;
      } catch {
        manifest = {};
      }
    }
    expect(manifest.name).toBe('@medplum/ccda');
    expect(MEDPLUM_CCDA_VERSION).toBe(manifest.version);
  });

  it('names the converter and its version in the Provenance', () => {
    const provenance = oneOf(convert(ccda()).bundle, 'Provenance');
    expect((provenance.activity as { text: string }).text).toContain(`@medplum/ccda ${MEDPLUM_CCDA_VERSION}`);
  });
});

describe('convertCcda keeps a decimal as the document wrote it', () => {
  it('12.0 and 3.90 in CCD-1 reach the Bundle text as 12.0 and 3.90, never 12 and 3.9', () => {
    const bytes = fixtureBytes('CCD-1.xml');
    const text = JSON.stringify(convertCcda(bytes.toString('utf8'), bytes).bundle);
    expect(text).toMatch(/"value":12\.0[,}]/);
    expect(text).toMatch(/"value":3\.90[,}]/);
    expect(text).not.toMatch(/"value":3\.9[,}]/);
    expect(text).not.toContain('e-290');
  });
});

// --- What senders write that FHIR cannot hold as it is ----------------------------------------------

/** A Goals section: each goal observation as [id element, statusCode, its text (Goal <i>)]. */
function goalsSection(goals: [string, string, string?][]): string {
  return `<section>
  <templateId root="2.16.840.1.113883.10.20.22.2.60"/>
  <code code="61146-7" codeSystem="2.16.840.1.113883.6.1"/>
  <title>GOALS</title>
  <text><paragraph>Goals</paragraph></text>
  ${goals
    .map(
      ([id, status, text], i) => `<entry><observation classCode="OBS" moodCode="GOL">
    <templateId root="2.16.840.1.113883.10.20.22.4.121"/>
    ${id}
    <code code="289169006" codeSystem="2.16.840.1.113883.6.96" displayName="Exercise"/>
    <statusCode code="${status}"/>
    <effectiveTime value="2015072${i}"/>
    <value xsi:type="ST">${text ?? `Goal ${i}`}</value>
  </observation></entry>`,
    )
    .join('\n')}
</section>`;
}

const goalsOf = (bundle: Json) =>
  new Map(resourcesOf(bundle, 'Goal').map((g) => [(g.description as { text?: string }).text, g.lifecycleStatus]));

describe('convertCcda: what senders write that FHIR cannot hold as it is', () => {
  it('gives each Goal the lifecycle status its statusCode names, found by its CDA id', () => {
    const { bundle, warnings } = convert(
      ccda({
        body: structuredBody(
          goalsSection([
            ['<id root="2.16.840.1.113883.19" extension="G-1"/>', 'held'],
            ['<id root="0f3c8e2a-1b2c-4d5e-8f90-123456789abc"/>', 'new'],
            ['<id root="2.16.840.1.113883.19" extension="G-3"/>', 'active'],
            ['<id root="2.16.840.1.113883.19" extension="G-4"/>', 'nullified'],
          ]),
        ),
      }),
    );
    expect(errorsOf(bundle)).toEqual([]);
    expect(goalsOf(bundle)).toEqual(
      new Map([
        ['Goal 0', 'on-hold'],
        ['Goal 1', 'proposed'],
        ['Goal 2', 'active'],
        ['Goal 3', 'entered-in-error'],
      ]),
    );
    expect(diagnostics(warnings).join('\n')).not.toMatch(/Goal/);
  });

  it('matches goals by their order in the document, ids or not', () => {
    const { bundle, warnings } = convert(
      ccda({
        body: structuredBody(
          goalsSection([
            ['<id root="2.16.840.1.113883.19"/>', 'held', 'Walk daily'],
            ['<id root="2.16.840.1.113883.19"/>', 'new', 'Walk daily'],
          ]),
        ),
      }),
    );
    expect(errorsOf(bundle)).toEqual([]);
    expect(resourcesOf(bundle, 'Goal').map((g) => g.lifecycleStatus)).toEqual(['on-hold', 'proposed']);
    expect(diagnostics(warnings).join('\n')).not.toMatch(/Goal/);
  });

  it('says so, once per repeated warning, when a goal status has no FHIR lifecycle status', () => {
    const { bundle, warnings } = convert(
      ccda({
        body: structuredBody(
          goalsSection([
            ['<id root="2.16.840.1.113883.19"/>', 'bogus', 'Walk daily'],
            ['<id root="2.16.840.1.113883.19"/>', 'bogus', 'Walk daily'],
          ]),
        ),
      }),
    );
    expect(errorsOf(bundle)).toEqual([]);
    expect(resourcesOf(bundle, 'Goal').map((g) => g.lifecycleStatus)).toEqual(['proposed', 'proposed']);
    const said = diagnostics(warnings).filter((d) => d.startsWith('Goal "Walk daily"'));
    expect(said).toEqual([
      "Goal \"Walk daily\": its status 'bogus' has no FHIR lifecycle status; FHIR requires one, it is given as 'proposed' (2 times)",
    ]);
  });

  it('converts a document again without the entries of a section the converter fails on, saying each thing once', () => {
    // A goal observation without a statusCode makes @medplum/ccda throw; the ED value makes it warn.
    const failing = goalsSection([['<id root="2.16.840.1.113883.19"/>', 'active']]).replace(
      '<statusCode code="active"/>',
      '',
    );
    const { bundle, warnings } = convert(
      ccda({
        body: structuredBody(resultsSection({ value: '<value xsi:type="ED">scanned</value>' }), failing),
      }),
    );
    expect(errorsOf(bundle)).toEqual([]);
    expect(resourcesOf(bundle, 'Goal')).toEqual([]);
    expect(resultObservation(bundle)).toBeDefined();
    const said = diagnostics(warnings);
    expect(said.filter((d) => d.startsWith('section "GOALS": the converter failed on its 1 entry'))).toHaveLength(1);
    // Said by the failed attempt and by the retry: one warning, not "(2 times)".
    expect(said.filter((d) => d.includes('Unhandled observation value type: ED'))).toEqual([
      `@medplum/ccda ${MEDPLUM_CCDA_VERSION} left something out: Unhandled observation value type: ED; it is in the original document (DocumentReference)`,
    ]);
  });

  it('leaves out the end of an interval that ends before it starts', () => {
    const xml = ccda().replace(
      '</custodian>',
      '</custodian><documentationOf><serviceEvent classCode="PCPR"><effectiveTime>' +
        '<low value="20130130090051"/><high value="20120130080051-0500"/></effectiveTime></serviceEvent></documentationOf>',
    );
    const { bundle, warnings } = convert(xml);
    expect(errorsOf(bundle)).toEqual([]);
    const events = oneOf(bundle, 'Composition').event as { period: { start?: string; end?: string } }[];
    expect(events.map((e) => e.period)).toEqual([{ start: '2013-01-30T09:00:51Z' }]);
    expect(diagnostics(warnings).join('\n')).toMatch(
      /Composition\.event\.period: the interval's end \(2012-01-30T08:00:51-05:00\) is not after its start/,
    );
  });

  it('says a document with no valid effectiveTime has an unknown date, never the day it was converted', () => {
    for (const xml of [
      ccda().replace(/\s*<effectiveTime value="20150722180000-0500"\/>(\s*<recordTarget>)/, '$1'),
      ccda({ effectiveTime: '20151322' }),
    ]) {
      expect(xml).not.toMatch(/<effectiveTime value="20150722180000-0500"\/>\s*<recordTarget>/);
      const first = convert(xml);
      expect(errorsOf(first.bundle)).toEqual([]);
      const composition = oneOf(first.bundle, 'Composition');
      expect(composition.date).toBeUndefined();
      expect(composition._date).toEqual({
        extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }],
      });
      expect(oneOf(first.bundle, 'DocumentReference').date).toBeUndefined();
      expect(diagnostics(first.warnings).join('\n')).toMatch(/no valid effectiveTime/);
      // The same bytes, the same content: nothing in it depends on when it was converted.
      jest.useFakeTimers({ now: new Date('2031-02-03T04:05:06Z') });
      try {
        expect(JSON.stringify(convert(xml).bundle)).toBe(JSON.stringify(first.bundle));
      } finally {
        jest.useRealTimers();
      }
    }
  });

  it('keeps a title written with attributes, or with no-break spaces, as its text', () => {
    const { bundle } = convert(
      ccda().replace(
        '<title>Converter test document</title>',
        '<title xsi:type="ST">Converter\u00a0test\u00a0document</title>',
      ),
    );
    expect(errorsOf(bundle)).toEqual([]);
    expect(oneOf(bundle, 'Composition').title).toBe('Converter\u00a0test\u00a0document');
    expect(oneOf(bundle, 'DocumentReference').description).toBe('Converter\u00a0test\u00a0document');
  });

  it('names a document without a title by its type', () => {
    const { bundle } = convert(ccda().replace('<title>Converter test document</title>', '<title> </title>'));
    expect(errorsOf(bundle)).toEqual([]);
    expect(oneOf(bundle, 'Composition').title).toBe('Summary of episode note');
  });

  it('leaves out a structuredBody component with no section, and refuses a body of only that', () => {
    const body = `<component><structuredBody><component> </component><component>${resultsSection()}</component></structuredBody></component>`;
    const { bundle } = convert(ccda({ body }));
    expect(errorsOf(bundle)).toEqual([]);
    expect(resultObservation(bundle)).toBeDefined();
    const empty = '<component><structuredBody><component> </component></structuredBody></component>';
    expect(refusal(ccda({ body: empty })).issues[0]!.diagnostics).toMatch(/no clinical content/);
  });

  it('writes a value with leading zeros as JSON can (00 → 0, 007.50 → 7.50), keeping its precision', () => {
    const value = (v: string) =>
      convert(
        ccda({ body: structuredBody(resultsSection({ value: `<value xsi:type="PQ" value="${v}" unit="mg"/>` })) }),
      );
    for (const [written, json] of [
      ['00', '0'],
      ['007.50', '7.50'],
      ['-0.50', '-0.50'],
    ] as const) {
      const { bundle } = value(written);
      expect(errorsOf(bundle)).toEqual([]);
      expect(JSON.stringify(resultObservation(bundle).valueQuantity)).toContain(`"value":${json},`);
    }
  });

  it('keeps an organization address marked as home (HP) without the use FHIR forbids for it (org-2)', () => {
    const { bundle, warnings } = convert(
      ccda().replace(
        '<name>Community Hospital</name>',
        '<name>Community Hospital</name><addr use="HP"><streetAddressLine>1 Main St</streetAddressLine><city>Portland</city></addr>',
      ),
    );
    expect(errorsOf(bundle)).toEqual([]);
    const organization = resourcesOf(bundle, 'Organization').find((o) => o.name === 'Community Hospital')!;
    expect(organization.address).toEqual([expect.objectContaining({ city: 'Portland' })]);
    expect((organization.address as Json[])[0]!.use).toBeUndefined();
    expect(diagnostics(warnings).join('\n')).toMatch(/Organization "Community Hospital".*org-2/);
  });
});
