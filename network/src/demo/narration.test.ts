import type { DataElement } from '@phr/common';
import {
  accessLogLine,
  andList,
  codeSummary,
  duration,
  listCounts,
  plural,
  redact,
  resultRange,
  shellWord,
  statusPath,
} from './narration';
import { Narrator } from './narrator';

const hba1c = (value: number, time: string): DataElement => ({
  id: `seg.${time}`,
  kind: 'coded',
  resourceType: 'Observation',
  path: 'Observation.code.coding[0]',
  system: 'http://loinc.org',
  code: '4548-4',
  display: 'Hemoglobin A1c/Hemoglobin.total in Blood',
  value,
  unit: '%',
  time,
});

describe('the demo narration', () => {
  test('counts and lists read as sentences', () => {
    expect(plural(1, 'element')).toBe('1 element');
    expect(plural(3, 'delivery', 'deliveries')).toBe('3 deliveries');
    expect(andList([])).toBe('');
    expect(andList(['a'])).toBe('a');
    expect(andList(['a', 'b', 'c'])).toBe('a, b and c');
    expect(listCounts([['Observation', 188]])).toBe('188 Observation');
    expect(
      listCounts([
        ['Observation', 188],
        ['Claim', 14],
        ['Goal', 5],
        ['Patient', 1],
      ]),
    ).toBe('188 Observation, 14 Claim, 5 Goal and 1 Patient');
    expect(
      listCounts(
        [
          ['Observation', 188],
          ['Claim', 14],
          ['Goal', 5],
          ['Patient', 1],
        ],
        2,
      ),
    ).toBe('188 Observation, 14 Claim and 6 more of 2 other types');
  });

  test('durations', () => {
    expect(duration(14)).toBe('14 ms');
    expect(duration(2345)).toBe('2.3 s');
    expect(duration(125_000)).toBe('2 min 5 s');
  });

  test("a delivery's history, oldest first, as the statuses it went through", () => {
    expect(statusPath([{ status: 'waiting' }, { status: 'complete' }])).toBe('waiting → complete');
    expect(statusPath([{ status: 'waiting' }, { status: 'waiting' }, { status: 'rejected' }])).toBe(
      'waiting → rejected',
    );
  });

  test('pulled results: codes with their names, and the first and last value by clinical time', () => {
    const elements = [hba1c(6.3939167, '2021-02-15T10:00:00Z'), hba1c(6.1016707, '2011-12-26T10:55:45Z')];
    expect(codeSummary(elements)).toBe('2 × LOINC 4548-4 (Hemoglobin A1c/Hemoglobin.total in Blood)');
    expect(resultRange(elements)).toBe('the earliest 6.1 % on 2011-12-26, the latest 6.39 % on 2021-02-15');
    expect(resultRange(elements.slice(0, 1))).toBe('6.39 % on 2021-02-15');
    expect(resultRange([])).toBeUndefined();
    expect(codeSummary([{ ...hba1c(1, '2020-01-01'), system: 'urn:x', code: 'y', display: undefined }])).toBe(
      '1 × urn:x|y',
    );
  });

  test('an access-log entry with its time', () => {
    expect(
      accessLogLine({
        at: '2026-12-05T14:01:06.123Z',
        summary: 'Hospital2MSP (clinician) read your records: laboratory records for treatment — allowed.',
      }),
    ).toBe(
      '2026-12-05 14:01:06 UTC  Hospital2MSP (clinician) read your records: laboratory records for treatment — allowed.',
    );
  });

  test('shell words are quoted only when they must be', () => {
    expect(shellWord('/tmp/state/demo/x/agent')).toBe('/tmp/state/demo/x/agent');
    expect(shellWord("/tmp/my state/it's")).toBe(`'/tmp/my state/it'\\''s'`);
  });

  test('secrets are redacted wherever they appear', () => {
    expect(redact('secret s3cr3t-value and s3cr3t-value', ['s3cr3t-value'])).toBe('secret [redacted] and [redacted]');
    expect(redact('ab', ['a'])).toBe('ab'); // too short to be a secret: would blank out ordinary text
  });

  test('the narrator never prints a secret it was told about, not even in a failure', () => {
    let out = '';
    const n = new Narrator({ write: (t: string) => (out += t) });
    n.secret('ENROLL-SECRET-123');
    n.step(1, 8, 'Enroll');
    n.say('the secret is ENROLL-SECRET-123');
    n.ok('checked');
    n.failure('phr-agent init exited with status 1: bad secret ENROLL-SECRET-123');
    expect(out).not.toContain('ENROLL-SECRET-123');
    expect(out).toBe(
      '\n[1/8] Enroll\n' +
        '      the secret is [redacted]\n' +
        '    ✓ checked\n' +
        '\nFAILED: phr-agent init exited with status 1: bad secret [redacted]\n',
    );
  });
});
