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
