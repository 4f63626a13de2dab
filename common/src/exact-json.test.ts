import { parse as losslessParse } from 'lossless-json';
import { canonicalJson } from './canonical-json';
import { elementLeafHash } from './merkle';
import {
  exactNumber,
  hasInexactNumber,
  isExactNumber,
  JsonNumber,
  numberText,
  parseExactJson,
  reviveExactNumber,
} from './exact-json';

const SIXTY = '123456789012345678901234567890123456789012345678901234567890';
const KEPT = [
  '7.10',
  '0.000',
  '1e2',
  '1E2',
  '-0.0',
  '-0',
  SIXTY,
  `-${SIXTY}.50`,
  '0.0000001',
  '1.50e-7',
  '12345678901234567',
];
// Texts JavaScript writes back the same, exponent forms included.
const PLAIN = ['7.1', '12', '-3', '0', '0.5', '123456789012345', '1.5e-7', '1e+21'];

describe('numbers kept as written', () => {
  it.each(KEPT)('keeps %s as its text through parse, stringify and canonical JSON', (text) => {
    const doc = `{"valueQuantity":{"unit":"%","value":${text}}}`;
    expect(hasInexactNumber(doc)).toBe(true);
    const value = parseExactJson(doc) as { valueQuantity: { value: unknown } };
    expect(value.valueQuantity.value).toBeInstanceOf(JsonNumber);
    expect(String(value.valueQuantity.value)).toBe(text);
    expect(JSON.stringify(value)).toBe(doc);
    expect(canonicalJson(value)).toBe(doc);
  });

  it.each(PLAIN)('leaves %s a plain number (JSON.parse writes it back the same)', (text) => {
    const doc = `[${text},{"a":${text}}]`;
    expect(hasInexactNumber(doc)).toBe(false);
    const value = parseExactJson(doc) as [number, { a: number }];
    expect(typeof value[0]).toBe('number');
    expect(JSON.stringify(value)).toBe(doc);
  });

  it('ignores digits, exponents and escaped quotes inside strings', () => {
    const strings = ['"7.10"', '"1e2 and -0.0"', '"a\\"7.10\\"b"', '"\\\\"', '"4e5a-0.00"'];
    for (const s of strings) expect(hasInexactNumber(`{"k":${s},"n":7.1}`)).toBe(false);
    // …and still finds a number right after a string that ends in an escaped backslash
    expect(hasInexactNumber('{"k":"\\\\","n":7.10}')).toBe(true);
    expect(hasInexactNumber('["\\"",7.10]')).toBe(true);
  });

  it('finds the one inexact number among many plain ones, in arrays and nested objects', () => {
    const many = Array.from({ length: 1000 }, (_, i) => i / 4);
    const doc = JSON.stringify({ a: many, b: { c: [1, 2, { d: 3 }] } }).replace('"d":3', '"d":3.0');
    expect(hasInexactNumber(doc)).toBe(true);
    expect(JSON.stringify(parseExactJson(doc))).toBe(doc);
  });

  it('parses as lossless-json does: same values, same JsonNumbers, strings and nesting untouched', () => {
    const doc = JSON.stringify({
      attachment: 'QUJD'.repeat(50_000),
      text: 'ü "7.10" \\ \u0000 😀',
      values: [1, 2.5, { x: [-0.5, true, null, 'z'] }],
      nested: { a: { b: { c: [[], {}] } } },
    })
      .replace('2.5', '2.50')
      .replace('-0.5', '-0.50e0');
    const ours = parseExactJson(doc);
    const theirs = losslessParse(doc, undefined, exactNumber);
    expect(ours).toEqual(theirs);
    expect(JSON.stringify(ours)).toBe(doc);
    const values = (ours as { values: [number, JsonNumber, { x: [JsonNumber] }] }).values;
    expect(values[1]).toBeInstanceOf(JsonNumber);
    expect(values[2].x[0]).toBeInstanceOf(JsonNumber);
    expect(typeof values[0]).toBe('number');
  });

  it('makes hashes over the text: 7.10 and 7.1 are different elements', () => {
    const salt = 'ab'.repeat(16);
    const el = (v: unknown) => ({ id: 's.1', kind: 'coded', resourceType: 'Observation', path: 'p', value: v });
    const a = elementLeafHash(el(exactNumber('7.10')), salt);
    const b = elementLeafHash(el(exactNumber('7.1')), salt);
    expect(a).not.toBe(b);
    expect(canonicalJson(el(exactNumber('7.10')))).toContain('"value":7.10');
  });

  it('revives a JsonNumber after structured clone, and nothing else', () => {
    const cloned = structuredClone({ v: new JsonNumber('7.10') }).v;
    expect(cloned).not.toBeInstanceOf(JsonNumber);
    const revived = reviveExactNumber(cloned);
    expect(revived).toBeInstanceOf(JsonNumber);
    expect(String(revived)).toBe('7.10');
    for (const other of ['7.10', 7.1, { value: 7 }, { isLosslessNumber: true }, null]) {
      expect(reviveExactNumber(other)).toBe(other);
    }
  });

  it('refuses to make a JsonNumber of text that is not a JSON number', () => {
    expect(() => new JsonNumber('1,"x":2')).toThrow();
    expect(() => reviveExactNumber({ isLosslessNumber: true, value: '1}' })).toThrow();
  });

  it('gives the text and the value of either kind of number', () => {
    expect(numberText(exactNumber('7.10'))).toBe('7.10');
    expect(numberText(7.1)).toBe('7.1');
    expect(Number(exactNumber('1e2'))).toBe(100);
    expect(isExactNumber(exactNumber('1e2'))).toBe(true);
    expect(isExactNumber('1e2')).toBe(false);
  });

  it('parses what JSON.parse refuses as an error too', () => {
    expect(() => parseExactJson('{"a":7.10,}')).toThrow();
    expect(() => parseExactJson('{"a":7.1,}')).toThrow();
  });
});
