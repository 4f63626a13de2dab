import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CHAINCODE_ERROR_CODES, parseChaincodeError } from '@phr/common';
import * as errors from './errors';

/** The contracts' own sources: what runs on the peer. Tests and the in-memory test ledger are not. */
function contractSources(dir = __dirname): { file: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' ? [] : contractSources(path);
    if (!entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) return [];
    return [{ file: relative(__dirname, path), text: readFileSync(path, 'utf8') }];
  });
}

/** errors.ts's factories by name, with the code each one throws. */
const factories = Object.entries(errors).flatMap(([name, value]) =>
  typeof value === 'function' && value !== errors.ChaincodeError
    ? [{ name, code: (value as (detail: string) => errors.ChaincodeError)('x').code }]
    : [],
);

/** Every code thrown in the contracts, with where: through a factory or a ChaincodeError of its own. */
function thrownCodes(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const add = (code: string, file: string) => found.set(code, [...(found.get(code) ?? []), file]);
  for (const { file, text } of contractSources()) {
    if (file === 'errors.ts') continue;
    for (const f of factories) {
      if (new RegExp(`\\b${f.name}\\(`).test(text)) add(f.code, file);
    }
    for (const m of text.matchAll(/new ChaincodeError\(\s*['"`]?([A-Za-z_.]+)/g)) add(m[1] as string, file);
  }
  return found;
}

describe('the chaincode error contract', () => {
  it('one factory per code, each making a refusal the clients parse back to its code', () => {
    expect(factories.map((f) => f.code).sort()).toEqual([...CHAINCODE_ERROR_CODES].sort());
    for (const f of factories) {
      const err = (errors as unknown as Record<string, (d: string) => errors.ChaincodeError>)[f.name]?.(
        'no consent covers it',
      );
      expect(err).toBeInstanceOf(errors.ChaincodeError);
      expect(err?.name).toBe('ChaincodeError');
      // as a client sees it: Fabric's words around the chaincode's message
      expect(parseChaincodeError(`chaincode response 500, ${err?.message}`)).toEqual({
        code: f.code,
        detail: 'no consent covers it',
      });
    }
  });

  it('the contracts throw exactly the shared codes: none outside the list, none of the list unused', () => {
    const thrown = thrownCodes();
    const unknown = [...thrown].filter(([code]) => !(CHAINCODE_ERROR_CODES as readonly string[]).includes(code));
    expect(unknown).toEqual([]);
    expect([...thrown.keys()].sort()).toEqual([...CHAINCODE_ERROR_CODES].sort());
  });

  it('the contracts refuse only through ChaincodeError, never with a code written by hand', () => {
    const offences: string[] = [];
    for (const { file, text } of contractSources()) {
      for (const m of text.matchAll(/throw\s+new\s+(?!ChaincodeError\b)\w*Error\(|\bshim\.error\(|\bShim\.error\(/g)) {
        offences.push(`${file}: ${m[0]}`);
      }
      if (file === 'errors.ts') continue;
      for (const m of text.matchAll(/['"`]([A-Z][A-Z0-9_]{2,}): /g)) offences.push(`${file}: "${m[1]}: " by hand`);
    }
    expect(offences).toEqual([]);
  });
});
