import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isClinicalDocument, xmlRoot } from './xml-root';

const FIXTURES = join(__dirname, '..', '..', '..', 'fixtures');
const text = (s: string) => Buffer.from(s, 'utf8');

describe('xmlRoot', () => {
  it('finds the ClinicalDocument of a real C-CDA behind its declaration, stylesheet and long comment', () => {
    const ccd = readFileSync(join(FIXTURES, 'ccda-examples', 'CCD-1.xml'));
    expect(xmlRoot(ccd.subarray(0, 64 * 1024))).toEqual({ name: 'ClinicalDocument', namespace: 'urn:hl7-org:v3' });
    expect(isClinicalDocument(ccd)).toBe(true);
  });

  it('tells FHIR XML from C-CDA', () => {
    expect(xmlRoot(text('<Bundle xmlns="http://hl7.org/fhir"><type value="transaction"/></Bundle>'))).toEqual({
      name: 'Bundle',
      namespace: 'http://hl7.org/fhir',
    });
    expect(isClinicalDocument(text('<Bundle xmlns="http://hl7.org/fhir"/>'))).toBe(false);
  });

  it('reads a prefixed root, a byte-order mark, UTF-16 and a DOCTYPE with an internal subset', () => {
    expect(xmlRoot(text('<cda:ClinicalDocument xmlns:cda="urn:hl7-org:v3" xmlns="x">'))).toEqual({
      name: 'ClinicalDocument',
      namespace: 'urn:hl7-org:v3',
    });
    expect(isClinicalDocument(text('\uFEFF<?xml version="1.0"?>\n<ClinicalDocument>'))).toBe(true);
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<ClinicalDocument/>', 'utf16le')]);
    expect(isClinicalDocument(utf16)).toBe(true);
    const utf16be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('<ClinicalDocument/>', 'utf16le').swap16()]);
    expect(isClinicalDocument(utf16be)).toBe(true);
    expect(
      isClinicalDocument(text('<!DOCTYPE x [ <!ENTITY a "<b>"> ]><!-- <Bundle> --><ClinicalDocument a="1">')),
    ).toBe(true);
  });

  it('says nothing about what is not XML or stops before the root', () => {
    expect(xmlRoot(text('{"resourceType":"Bundle"}'))).toBeUndefined();
    expect(xmlRoot(text('<?xml version="1.0"?><!-- a comment that does not end'))).toBeUndefined();
    expect(xmlRoot(text(''))).toBeUndefined();
    expect(isClinicalDocument(text('<ClinicalDocumentary/>'))).toBe(false);
  });
});
