import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { convertCcdaCommand } from './convert-command';

const REPO = resolve(__dirname, '..', '..', '..');
const EXAMPLES = join(REPO, 'fixtures', 'ccda-examples');
const examples = readdirSync(EXAMPLES)
  .filter((name) => name.endsWith('.xml'))
  .sort()
  .map((name) => join(EXAMPLES, name));
const example = (name: string) => join(EXAMPLES, name);

interface Issue {
  severity: string;
  code: string;
  diagnostics?: string;
}
interface Printed {
  bundle?: { resourceType: string; type: string; entry: { resource: { resourceType: string } }[] };
  outcome: { resourceType: string; issue: Issue[] };
}

/** Runs the command as `phr-gateway convert-ccda FILES…` would, with what it prints. */
function run(files: string[]): { code: number; lines: string[] } {
  const lines: string[] = [];
  const code = convertCcdaCommand(files, (line) => lines.push(line));
  return { code, lines };
}

/** The single-file run's JSON. */
function printed(lines: string[]): Printed {
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as Printed;
}

const errors = (outcome: Printed['outcome']) =>
  outcome.issue.filter((i) => i.severity === 'error' || i.severity === 'fatal');

let dir: string;
let withDoctype: string;
let withoutPatient: string;
let missing: string;
let badSystem: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'convert-ccda-'));
  withDoctype = join(dir, 'doctype.xml');
  writeFileSync(
    withDoctype,
    '<?xml version="1.0"?>\n<!DOCTYPE ClinicalDocument [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n' +
      '<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&x;</title></ClinicalDocument>\n',
  );
  // CCD-2 with its patientRole ids taken out
  const ccd = readFileSync(example('CCD-2.xml'), 'utf8');
  const noIds = ccd.replace(
    /(<patientRole>[\s\S]*?)(<addr)/,
    (_whole, head: string, addr: string) => head.replace(/<id [^>]*\/>/g, '') + addr,
  );
  expect(noIds).not.toBe(ccd);
  withoutPatient = join(dir, 'no-patient.xml');
  writeFileSync(withoutPatient, noIds);
  missing = join(dir, 'not-there.xml');
  // CCD-2 with a SNOMED codeSystem OID that has a space: it converts, and FHIR refuses the system URI
  const spaced = ccd.replace(/codeSystem="2\.16\.840\.1\.113883\.6\.96"/g, 'codeSystem="2.16 840"');
  expect(spaced).not.toBe(ccd);
  badSystem = join(dir, 'bad-system.xml');
  writeFileSync(badSystem, spaced);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('convertCcdaCommand: one file', () => {
  it('prints the Bundle and an OperationOutcome for a document the gateway would accept, exit 0', () => {
    const { code, lines } = run([example('CCD-2.xml')]);
    expect(code).toBe(0);
    const { bundle, outcome } = printed(lines);
    expect(bundle?.resourceType).toBe('Bundle');
    expect(bundle?.type).toBe('transaction');
    const types = bundle?.entry.map((e) => e.resource.resourceType) ?? [];
    expect(types).toEqual(expect.arrayContaining(['Patient', 'Composition', 'DocumentReference', 'Provenance']));
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue.length).toBeGreaterThan(0);
    expect(errors(outcome)).toEqual([]);
  });

  it("lists the converter's warnings in the outcome of an accepted document", () => {
    const { code, lines } = run([example('CCD-1.xml')]);
    expect(code).toBe(0);
    const { bundle, outcome } = printed(lines);
    expect(bundle).toBeDefined();
    expect(errors(outcome)).toEqual([]);
    expect(outcome.issue.some((i) => i.severity === 'warning' && /INSURANCE PROVIDERS/.test(i.diagnostics ?? ''))).toBe(
      true,
    );
  });

  it('refuses a document with a DOCTYPE: the OperationOutcome only, exit 1', () => {
    const { code, lines } = run([withDoctype]);
    expect(code).toBe(1);
    const { bundle, outcome } = printed(lines);
    expect(bundle).toBeUndefined();
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(errors(outcome)).toEqual([
      expect.objectContaining({ code: 'security', diagnostics: expect.stringMatching(/DTDs/) }),
    ]);
  });

  it('refuses a document without a patient identifier, exit 1', () => {
    const { code, lines } = run([withoutPatient]);
    expect(code).toBe(1);
    const { bundle, outcome } = printed(lines);
    expect(bundle).toBeUndefined();
    expect(errors(outcome)).toEqual([
      expect.objectContaining({ diagnostics: expect.stringMatching(/no patient with an identifier/) }),
    ]);
  });

  it('refuses a file that is not there with the reason, without throwing', () => {
    const { code, lines } = run([missing]);
    expect(code).toBe(1);
    const { outcome } = printed(lines);
    expect(errors(outcome)).toEqual([
      expect.objectContaining({ code: 'not-found', diagnostics: `cannot read ${missing}: ENOENT` }),
    ]);
  });

  it('refuses a directory with the reason, without throwing', () => {
    const { code, lines } = run([dir]);
    expect(code).toBe(1);
    expect(errors(printed(lines).outcome)[0]?.diagnostics).toBe(`cannot read ${dir}: EISDIR`);
  });
});

describe('convertCcdaCommand: several files', () => {
  it('prints one line per file and the count, exit 0 when all are accepted', () => {
    const files = [example('CCD-2.xml'), example('Care_Plan.xml')];
    const { code, lines } = run(files);
    expect(lines).toEqual([`accepted ${files[0]}`, `accepted ${files[1]}`, '2 of 2 accepted']);
    expect(code).toBe(0);
  });

  it('says why each refused file was refused, on one line, and exits 1', () => {
    const files = [example('CCD-2.xml'), withDoctype, withoutPatient, missing];
    const { code, lines } = run(files);
    expect(code).toBe(1);
    expect(lines).toHaveLength(files.length + 1);
    expect(lines[0]).toBe(`accepted ${files[0]}`);
    expect(lines[1]).toMatch(new RegExp(`^refused ${literal(withDoctype)}: .*DTDs`));
    expect(lines[2]).toMatch(new RegExp(`^refused ${literal(withoutPatient)}: .*no patient with an identifier`));
    expect(lines[3]).toBe(`refused ${missing}: cannot read ${missing}: ENOENT`);
    expect(lines[4]).toBe('1 of 4 accepted');
    for (const line of lines) expect(line).not.toContain('\n');
  });

  it('says where in the Bundle a validation error is', () => {
    const { code, lines } = run([badSystem]);
    expect(code).toBe(1);
    const { outcome } = printed(lines);
    expect(errors(outcome).length).toBeGreaterThan(0);
    const batch = run([badSystem, example('CCD-2.xml')]);
    expect(batch.lines[0]).toMatch(
      new RegExp(
        `^refused ${literal(badSystem)}: Invalid uri format \\(at Bundle\\.entry\\[\\d+\\]\\.resource\\..*system\\)$`,
      ),
    );
  });

  it('exits 1 when none is accepted', () => {
    const { code, lines } = run([withDoctype, missing]);
    expect(code).toBe(1);
    expect(lines.at(-1)).toBe('0 of 2 accepted');
  });
});

describe('convertCcdaCommand: usage', () => {
  it('prints the usage and exits 2 without files', () => {
    const { code, lines } = run([]);
    expect(code).toBe(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^usage: phr-gateway convert-ccda FILE/);
  });
});

describe('phr-gateway convert-ccda (the built CLI)', () => {
  const main = join(REPO, 'gateway', 'dist', 'main.js');

  it('accepts the 15 HL7 examples', () => {
    if (!existsSync(main)) throw new Error(`${main} is missing: build with \`npx tsc -b gateway\` first`);
    const files = examples.map((file) => relative(REPO, file));
    expect(files).toHaveLength(15);
    const child = spawnSync(process.execPath, [main, 'convert-ccda', ...files], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(child.error).toBeUndefined();
    expect(child.stderr).toBe('');
    const lines = child.stdout.trim().split('\n');
    expect(lines.filter((line) => line.startsWith('accepted '))).toEqual(files.map((file) => `accepted ${file}`));
    expect(lines.at(-1)).toBe('15 of 15 accepted');
    expect(child.status).toBe(0);
  }, 150_000);

  it('ends quietly when its reader stops early (`| head -1`)', () => {
    const files = examples.map((file) => relative(REPO, file));
    const child = spawnSync(
      'bash',
      ['-c', `"${process.execPath}" "${main}" convert-ccda "$@" | head -1; exit \${PIPESTATUS[0]}`, 'bash', ...files],
      { cwd: REPO, encoding: 'utf8', timeout: 120_000 },
    );
    expect(child.stdout).toBe(`accepted ${files[0]}\n`);
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
  }, 150_000);
});

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
