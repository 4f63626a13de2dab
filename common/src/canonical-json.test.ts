import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { canonicalize } from 'json-canonicalize';
import { canonicalJson, CanonicalJsonError } from './canonical-json';

describe('canonicalJson (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units and drops whitespace', () => {
    // Key-order example from RFC 8785 section 3.2.3.
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew',
      '1': 'One',
      '\ud83d\ude00': 'Emoji',
      '\u0080': 'Control',
      '\u00f6': 'Latin',
    };
    const out = canonicalJson(input);
    const keys = Object.keys(JSON.parse(out) as object);
    expect(out.indexOf('"\\r"')).toBeLessThan(out.indexOf('"1"'));
    expect(keys).toHaveLength(7);
    expect(out).not.toMatch(/\s":/);
    expect(out.indexOf('\ud83d\ude00')).toBeLessThan(out.indexOf('\ufb33'));
  });

  it('serializes numbers the ECMAScript way (RFC 8785 section 3.2.2.3)', () => {
    // The RFC's own vector: the literal is meant to round to the nearest double.
    // eslint-disable-next-line no-loss-of-precision
    expect(canonicalJson({ n: [333333333.33333329, 1e30, 4.5, 0.002, 1e-7, -0] })).toBe(
      '{"n":[333333333.3333333,1e+30,4.5,0.002,1e-7,0]}',
    );
  });

  it('produces identical output for differently ordered equal objects', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 2], c: 'x' } })).toBe(canonicalJson({ a: { c: 'x', d: [1, 2] }, b: 1 }));
  });

  it.each([
    [{ x: Number.NaN }, 'not a finite number'],
    [{ x: Number.POSITIVE_INFINITY }, 'not a finite number'],
    [{ x: undefined }, 'undefined'],
    [{ x: () => 1 }, 'function'],
  ])('refuses %p', (value, message) => {
    expect(() => canonicalJson(value)).toThrow(CanonicalJsonError);
    expect(() => canonicalJson(value)).toThrow(message);
  });
});

/**
 * The fast writer must produce the reference implementation's bytes exactly: every hash and every
 * ledger record depends on it. Compared on real data (every fixture) and on generated values that
 * stress escaping, key order and number formatting.
 */
describe('canonicalJson matches json-canonicalize byte for byte', () => {
  const fixtures = join(__dirname, '..', '..', 'fixtures');
  const files = ['synthea-r4', 'fhir-invalid'].flatMap((d) =>
    readdirSync(join(fixtures, d))
      .filter((f) => f.endsWith('.json'))
      .map((f) => join(fixtures, d, f)),
  );

  it.each(files.map((f) => [basename(f), f]))('%s', (_name, file) => {
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      return; // deliberately malformed JSON among the invalid cases
    }
    expect(canonicalJson(value)).toBe(canonicalize(value));
  });

  it('on long strings, which take another path (a sealed envelope holds 670 KB of base64)', () => {
    const base = 'QUJD+/09'.repeat(1000);
    for (const piece of ['', '"', '\\', '\n', '\u0000', '\u2028', 'é', '\ud83d\ude00', '\ud800', '\udc00']) {
      for (const value of [piece + base, base + piece, base.slice(0, 2048) + piece + base.slice(2048)]) {
        expect(canonicalJson({ ciphertext: value, v: [value] })).toBe(canonicalize({ ciphertext: value, v: [value] }));
      }
    }
    expect(canonicalJson('x'.repeat(4096))).toBe(canonicalize('x'.repeat(4096)));
    expect(canonicalJson('"'.repeat(4097))).toBe(canonicalize('"'.repeat(4097)));
  });

  it('on generated values', () => {
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const pieces = [
      'a',
      'Z',
      '"',
      '\\',
      '\n',
      '\u0000',
      '\u001f',
      '\u007f',
      '\u2028',
      'é',
      '\u20ac',
      '\ud83d\ude00',
      '\ud800',
      '\udc00',
      '1',
      '10',
      '2',
      '_',
      ' ',
    ];
    const numbers = [
      0,
      -0,
      1,
      -1,
      4.5,
      0.1,
      1e21,
      1e-7,
      123456789012345680000,
      5e-324,
      Number.MAX_VALUE,
      -(2 ** 53),
      333333333.3333333,
    ];
    const text = () => Array.from({ length: Math.floor(rnd() * 6) }, () => pick(pieces)).join('');
    const gen = (depth: number): unknown => {
      const r = rnd();
      if (depth > 4 || r < 0.3) return pick([text(), pick(numbers), rnd() * 1e6 - 5e5, true, false, null]);
      if (r < 0.6) return Array.from({ length: Math.floor(rnd() * 5) }, () => gen(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 6) }, () => [text(), gen(depth + 1)]));
    };
    for (let i = 0; i < 2000; i++) {
      const value = gen(0);
      expect(canonicalJson(value)).toBe(canonicalize(value));
    }
  });

  it('on values that take the reference path', () => {
    const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
    const withToJson = { at: new Date(0), raw: Buffer.from('hi') };
    for (const value of [sparse, withToJson, { s: sparse }]) expect(canonicalJson(value)).toBe(canonicalize(value));
    expect(() => canonicalJson({ deep: [{ x: 1n }] })).toThrow('$.deep[0].x has type bigint');
  });
});
