import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { kitMarker, rolesOf, writeLocal, writeMembers } from './members';
import { toShellEnv } from './shell-env';
import { parseTopology, type Topology } from './topology';

const DEFAULT = readFileSync(join(__dirname, '..', 'topology.yaml'), 'utf8');

/** `n` more hospitals after the default topology's two (they may join later). */
function withMoreHospitals(n: number): string {
  let extra = '';
  for (let i = 3; i < 3 + n; i++) {
    const p = 8000 + i * 1000;
    extra += `  - name: hospital${i}
    mspId: Hospital${i}MSP
    displayName: Hospital ${i}
    ca: { host: 127.0.0.1, port: ${p + 54}, operationsPort: ${p + 10054} }
    peer: { host: 127.0.0.1, port: ${p + 51}, chaincodeListenPort: ${p + 52}, operationsPort: ${p + 10051} }
    chaincodeServer: { host: 127.0.0.1, port: ${p + 59} }
    gateway: { host: 127.0.0.1, port: ${p + 443} }
`;
  }
  return DEFAULT.replace('\n# The doorman', `${extra}\n# The doorman`);
}

/** What a script that sources the output sees: each array's items and each scalar's value, read by bash. */
function sourced(env: string, arrays: string[], scalars: string[]): Record<string, string | string[]> {
  const script = [
    env,
    ...arrays.map((n) => `printf '%s\\t%s' ${n} "\${#${n}[@]}"; printf '\\t%s' "\${${n}[@]}"; printf '\\n'`),
    ...scalars.map((n) => `printf '%s\\t1\\t%s\\n' ${n} "\${${n}}"`),
  ].join('\n');
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const out: Record<string, string | string[]> = {};
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const [name = '', count = '0', ...items] = line.split('\t');
    out[name] = scalars.includes(name) ? (items[0] ?? '') : items.slice(0, Number(count));
  }
  return out;
}

/** The values of the bash assignments, read without bash (array items are names, without quotes). */
function assignments(env: string): Map<string, string | string[]> {
  const map = new Map<string, string | string[]>();
  for (const line of env.split('\n')) {
    const arr = /^([A-Za-z_][A-Za-z0-9_]*)=\((.*)\)$/.exec(line);
    if (arr) {
      map.set(
        arr[1] as string,
        [...(arr[2] as string).matchAll(/'([^']*)'/g)].map((m) => m[1] as string),
      );
      continue;
    }
    const scalar = /^([A-Za-z_][A-Za-z0-9_]*)='(.*)'$/.exec(line);
    // a quote inside the value is written '\\'' (close, escaped quote, reopen)
    if (scalar) map.set(scalar[1] as string, (scalar[2] as string).replaceAll(`'\\''`, `'`));
  }
  return map;
}

const ROLE_VARS = ['PHR_MEMBERS', 'PHR_LOCAL', 'PHR_CORE', 'PHR_CA_ORGS', 'PHR_ENDORSEMENT_POLICY', 'PHR_HOSPITALS'];

describe('toShellEnv over the roles of a state folder', () => {
  const t: Topology = parseTopology(withMoreHospitals(1));
  let state: string;
  beforeEach(() => {
    state = mkdtempSync(join(tmpdir(), 'phr-shell-env-'));
  });
  afterEach(() => rmSync(state, { recursive: true, force: true }));
  const kit = () => {
    mkdirSync(dirname(kitMarker(state)), { recursive: true });
    writeFileSync(kitMarker(state), 'PHR_KIT=1\n');
  };
  const vars = (joining?: string) => assignments(toShellEnv(t, rolesOf(t, state, joining)));
  const pick = (m: Map<string, string | string[]>) => Object.fromEntries(ROLE_VARS.map((k) => [k, m.get(k)]));
  const ALL = ['hospital1', 'hospital2', 'hospital3'];

  it('before the channel exists: every hospital is a member and local, the core runs here', () => {
    const expected = {
      PHR_MEMBERS: ALL,
      PHR_LOCAL: ALL,
      PHR_CORE: '1',
      PHR_CA_ORGS: ['orderer', 'patients', ...ALL],
      PHR_ENDORSEMENT_POLICY: "OutOf(2,'Hospital1MSP.peer','Hospital2MSP.peer','Hospital3MSP.peer')",
      PHR_HOSPITALS: ALL,
    };
    expect(pick(vars())).toEqual(expected);
    // what toShellEnv gives without roles
    expect(pick(assignments(toShellEnv(t)))).toEqual(expected);
  });

  it('with a members file and a local file: the members endorse, the local hospitals run their CAs', () => {
    writeMembers(state, ['hospital1', 'hospital2']);
    writeLocal(state, ['hospital2']);
    expect(pick(vars())).toEqual({
      PHR_MEMBERS: ['hospital1', 'hospital2'],
      PHR_LOCAL: ['hospital2'],
      PHR_CORE: '1',
      PHR_CA_ORGS: ['orderer', 'patients', 'hospital2'],
      // hospital 3 is described but not a member: it does not count
      PHR_ENDORSEMENT_POLICY: "OutOf(2,'Hospital1MSP.peer','Hospital2MSP.peer')",
      PHR_HOSPITALS: ALL,
    });
    // every hospital of the topology is still described, members or not
    expect(vars().get('HOSPITAL_hospital3_MSP')).toBe('Hospital3MSP');
    expect(vars().get('CA_hospital3_PORT')).toBe('11054');
  });

  it("in a state folder made from a network kit: no core, no CA of the orderers' or the patients'", () => {
    kit();
    writeMembers(state, ['hospital1', 'hospital2']);
    expect(pick(vars())).toEqual({
      PHR_MEMBERS: ['hospital1', 'hospital2'],
      PHR_LOCAL: [],
      PHR_CORE: '0',
      PHR_CA_ORGS: [],
      PHR_ENDORSEMENT_POLICY: "OutOf(2,'Hospital1MSP.peer','Hospital2MSP.peer')",
      PHR_HOSPITALS: ALL,
    });
    // the joining hospital (--with hospital3) is a member and the one local hospital
    expect(pick(vars('hospital3'))).toEqual({
      PHR_MEMBERS: ALL,
      PHR_LOCAL: ['hospital3'],
      PHR_CORE: '0',
      PHR_CA_ORGS: ['hospital3'],
      PHR_ENDORSEMENT_POLICY: "OutOf(2,'Hospital1MSP.peer','Hospital2MSP.peer','Hospital3MSP.peer')",
      PHR_HOSPITALS: ALL,
    });
  });

  it('on the core machine, a joining hospital is added to the members and the majority', () => {
    writeMembers(state, ['hospital1', 'hospital2']);
    writeLocal(state, ['hospital1', 'hospital2']);
    const env = vars('hospital3');
    expect(env.get('PHR_MEMBERS')).toEqual(ALL);
    expect(env.get('PHR_LOCAL')).toEqual(ALL);
    expect(env.get('PHR_CA_ORGS')).toEqual(['orderer', 'patients', ...ALL]);
    expect(env.get('PHR_CORE')).toBe('1');
  });

  it('counts only the members in the endorsement majority', () => {
    const five = parseTopology(withMoreHospitals(3));
    const policy = (members: string[]) =>
      assignments(toShellEnv(five, { members, local: members, core: true })).get('PHR_ENDORSEMENT_POLICY');
    expect(policy(['hospital1'])).toBe("OutOf(1,'Hospital1MSP.peer')");
    expect(policy(['hospital1', 'hospital2', 'hospital3', 'hospital4'])).toBe(
      "OutOf(3,'Hospital1MSP.peer','Hospital2MSP.peer','Hospital3MSP.peer','Hospital4MSP.peer')",
    );
    expect(policy(['hospital5', 'hospital2', 'hospital4'])).toBe(
      "OutOf(2,'Hospital2MSP.peer','Hospital4MSP.peer','Hospital5MSP.peer')",
    );
    expect(policy(['hospital1', 'hospital2', 'hospital3', 'hospital4', 'hospital5'])).toMatch(/^OutOf\(3,/);
    // never the patients
    expect(policy(['hospital1', 'hospital2'])).not.toMatch(/Patients/);
  });

  it('is what bash reads when a script sources it', () => {
    writeMembers(state, ['hospital1', 'hospital2']);
    kit();
    const env = toShellEnv(t, rolesOf(t, state, 'hospital3'));
    expect(sourced(env, ['PHR_MEMBERS', 'PHR_LOCAL', 'PHR_CA_ORGS'], ['PHR_CORE', 'PHR_ENDORSEMENT_POLICY'])).toEqual({
      PHR_MEMBERS: ALL,
      PHR_LOCAL: ['hospital3'],
      PHR_CA_ORGS: ['hospital3'],
      PHR_CORE: '0',
      PHR_ENDORSEMENT_POLICY: "OutOf(2,'Hospital1MSP.peer','Hospital2MSP.peer','Hospital3MSP.peer')",
    });
    expect(sourced(toShellEnv(t, { members: [], local: [], core: false }), ['PHR_LOCAL', 'PHR_CA_ORGS'], [])).toEqual({
      PHR_LOCAL: [],
      PHR_CA_ORGS: [],
    });
  });
});
