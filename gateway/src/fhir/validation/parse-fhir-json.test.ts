import { FhirError } from '@phr/common';
import { parseFhirJson } from './parse-fhir-json';

function refusal(body: Buffer | string, limits?: Parameters<typeof parseFhirJson>[1]): FhirError {
  try {
    parseFhirJson(body, limits);
  } catch (error) {
    if (error instanceof FhirError) return error;
    throw error;
  }
  throw new Error('expected a FhirError');
}

describe('parseFhirJson', () => {
  it('parses FHIR JSON from a Buffer or a string', () => {
    const text = '{"resourceType":"Patient","id":"p1"}';
    expect(parseFhirJson(Buffer.from(text))).toEqual({ resourceType: 'Patient', id: 'p1' });
    expect(parseFhirJson(text)).toEqual({ resourceType: 'Patient', id: 'p1' });
  });

  it('drops a leading UTF-8 byte order mark', () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"resourceType":"Patient"}')]);
    expect(parseFhirJson(body)).toEqual({ resourceType: 'Patient' });
    expect(parseFhirJson('\ufeff{"resourceType":"Patient"}')).toEqual({ resourceType: 'Patient' });
  });

  it('answers 413 for a body over maxBytes, counting bytes not characters', () => {
    const error = refusal('{"resourceType":"Patient","name":[{"text":"é"}]}', { maxBytes: 48 });
    expect(error.status).toBe(413);
    expect(error.issues[0]?.code).toBe('too-costly');
    expect(parseFhirJson('{"resourceType":"Patient","name":[{"text":"é"}]}', { maxBytes: 49 })).toBeDefined();
  });

  it('defaults to a 16 MiB limit', () => {
    const big = Buffer.alloc(16 * 1024 * 1024 + 1, 0x20);
    expect(refusal(big).status).toBe(413);
  });

  it('answers 400 for nesting deeper than maxDepth, before parsing', () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    expect(parseFhirJson(`{"resourceType":"Basic","x":${deep(62)}}`)).toBeDefined(); // 63 levels
    const error = refusal(`{"resourceType":"Basic","x":${deep(64)}}`);
    expect(error.status).toBe(400);
    expect(error.issues[0]?.diagnostics).toMatch(/deeper than 64 levels \(line 1, column \d+\)/);
    expect(refusal(deep(1_000_000)).status).toBe(400);
    expect(refusal('{"a":{"b":{"c":1}}}', { maxDepth: 2 }).status).toBe(400);
  });

  it('does not count brackets inside strings as nesting', () => {
    const text = `{"resourceType":"Basic","text":{"status":"generated","div":"${'[{'.repeat(100)}\\"]}"}}`;
    expect(parseFhirJson(text, { maxDepth: 3 })).toBeDefined();
  });

  it('answers 400 with line, column and element for non-JSON', () => {
    const error = refusal('{\n  "resourceType": "Patient",\n  "name": [{ "family": "A" "given": ["B"] }]\n}');
    expect(error.status).toBe(400);
    expect(error.issues[0]).toMatchObject({
      severity: 'fatal',
      code: 'structure',
      expression: ['Patient.name[0].given'],
    });
    expect(error.issues[0]?.diagnostics).toBe('Invalid JSON at line 3, column 28: A comma is missing');
    expect(refusal('not json').status).toBe(400);
    expect(refusal('').status).toBe(400);
    expect(refusal('{"resourceType":"Patient"} {}').status).toBe(400);
  });

  it('never echoes the body in diagnostics', () => {
    const error = refusal('{"resourceType":"Patient","name":[{"family":"Secretname" oops}]}');
    for (const issue of error.issues) expect(issue.diagnostics).not.toMatch(/Secretname|oops/);
  });

  it('refuses comments', () => {
    const error = refusal('// a comment\n{"resourceType":"Patient"}');
    expect(error.status).toBe(400);
    expect(error.issues[0]?.diagnostics).toMatch(/line 1, column 1: Comments are not allowed/);
    expect(refusal('{"resourceType":"Patient" /* x */}').issues[0]?.diagnostics).toMatch(/Comments/);
  });

  it('refuses trailing commas in arrays and objects', () => {
    const array = refusal('{"resourceType":"Patient","name":[{"given":["A",]}]}');
    expect(array.issues[0]?.diagnostics).toMatch(/extra comma at the end of an array/);
    expect(array.issues[0]?.expression).toEqual(['Patient.name[0].given[1]']);
    const object = refusal('{"resourceType":"Patient","active":true,}');
    expect(object.issues[0]?.diagnostics).toMatch(/extra comma at the end of an object/);
  });

  it('says an array or object is not terminated when the body ends inside it, not that a comma is extra', () => {
    for (const [text, expression, column] of [
      ['{"resourceType":"Bundle","entry":[{}', 'Bundle.entry', 37],
      ['{"resourceType":"Bundle","entry":[{},', 'Bundle.entry', 38],
      ['{"resourceType":"Bundle","entry":[{}, \n', 'Bundle.entry', 1],
      ['{"resourceType":"Bundle","entry":[', 'Bundle.entry', 35],
      [
        '{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","name":[{"given":["A"',
        'Bundle.entry[0].resource.name[0].given',
        94,
      ],
    ] as const) {
      const error = refusal(text);
      expect(error.status).toBe(400);
      expect(error.issues).toHaveLength(1);
      expect(error.issues[0]?.expression).toEqual([expression]);
      expect(error.issues[0]?.diagnostics).toMatch(
        new RegExp(`column ${column}: The array is not terminated: the body ends before its closing '\\]'$`),
      );
      expect(error.issues[0]?.diagnostics).not.toMatch(/comma/);
    }
    const object = refusal('{"resourceType":"Bundle","entry":[{"request":{"method":"POST"');
    expect(object.issues[0]?.diagnostics).toMatch(
      /The object is not terminated: the body ends before its closing '\}'$/,
    );
    expect(object.issues[0]?.expression).toEqual(['Bundle.entry[0].request']);
    // An unterminated string is the one mistake; the containers it leaves open are not reported again.
    const string = refusal('{"resourceType":"Bundle","entry":[{"fullUrl":"urn:uuid:');
    expect(string.issues.map((i) => i.diagnostics)).toEqual([expect.stringMatching(/A string is not terminated$/)]);
  });

  it('says a value is missing between two commas', () => {
    const error = refusal('{"resourceType":"Patient","name":[{"given":["A",,"B"]}]}');
    expect(error.issues[0]?.diagnostics).toMatch(/A value is missing between two commas/);
    expect(error.issues[0]?.expression).toEqual(['Patient.name[0].given[1]']);
  });

  it('refuses unquoted property names and single quotes', () => {
    expect(refusal('{resourceType:"Patient"}').status).toBe(400);
    expect(refusal("{'resourceType':'Patient'}").status).toBe(400);
  });

  it('refuses invalid UTF-8', () => {
    const body = Buffer.concat([
      Buffer.from('{"resourceType":"Patient","id":"'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]);
    const error = refusal(body);
    expect(error.status).toBe(400);
    expect(error.issues[0]?.diagnostics).toMatch(/UTF-8/);
  });

  it('refuses a property repeated in one object, which JSON.parse would silently collapse', () => {
    const error = refusal('{"resourceType":"Observation","status":"final","code":{"text":"x","te\\u0078t":"y"}}');
    expect(error.status).toBe(400);
    expect(error.issues[0]?.expression).toEqual(['Observation.code.text']);
    expect(error.issues[0]?.diagnostics).toMatch(/'text' appears twice/);
    const nested = refusal('{"resourceType":"Patient","name":[{"given":["a"]},{"family":"b","family":"c"}]}');
    expect(nested.issues[0]?.expression).toEqual(['Patient.name[1].family']);
    // The same name in different objects is fine.
    expect(parseFhirJson('{"resourceType":"Patient","name":[{"family":"a"},{"family":"b"}]}')).toBeDefined();
  });
});
