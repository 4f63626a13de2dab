import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  kitMarker,
  localFile,
  memberTopology,
  membersFile,
  readLocal,
  readMembers,
  rolesOf,
  runsCore,
  writeLocal,
  writeMembers,
} from './members';
import { parseTopology, type Topology } from './topology';

const DEFAULT = readFileSync(join(__dirname, '..', 'topology.yaml'), 'utf8');

/** The default topology with a third hospital described (it may join later). */
const THREE_HOSPITALS = DEFAULT.replace(
  '\n# The doorman',
  `  - name: hospital3
    mspId: Hospital3MSP
    displayName: Hospital 3
    ca: { host: 127.0.0.1, port: 11054, operationsPort: 21054 }
    peer: { host: 127.0.0.1, port: 11051, chaincodeListenPort: 11052, operationsPort: 21051 }
    chaincodeServer: { host: 127.0.0.1, port: 11059 }
    gateway: { host: 127.0.0.1, port: 11443 }

# The doorman`,
);

const ALL = ['hospital1', 'hospital2', 'hospital3'];

describe('members and local hospitals of a state folder', () => {
  const t: Topology = parseTopology(THREE_HOSPITALS);
  let state: string;
  beforeEach(() => {
    state = mkdtempSync(join(tmpdir(), 'phr-members-'));
  });
  afterEach(() => rmSync(state, { recursive: true, force: true }));
  const kit = () => {
    mkdirSync(dirname(kitMarker(state)), { recursive: true });
    writeFileSync(kitMarker(state), 'PHR_KIT=1\n');
  };

  it('keeps its files where the network scripts look for them', () => {
    expect(membersFile(state)).toBe(join(state, 'channel', 'members'));
    expect(localFile(state)).toBe(join(state, 'local-hospitals'));
    expect(kitMarker(state)).toBe(join(state, 'kit', 'kit.env'));
  });

  it('writes one name a line, without repeats, creating the folder; reads them back trimmed', () => {
    expect(readMembers(state)).toBeUndefined();
    expect(readLocal(state)).toBeUndefined();
    writeMembers(state, ['hospital1', 'hospital2', 'hospital1']);
    expect(readFileSync(membersFile(state), 'utf8')).toBe('hospital1\nhospital2\n');
    expect(readMembers(state)).toEqual(['hospital1', 'hospital2']);
    expect(existsSync(`${membersFile(state)}.tmp`)).toBe(false);
    writeMembers(state, ['hospital2']);
    expect(readMembers(state)).toEqual(['hospital2']);
    writeFileSync(localFile(state), '  hospital2 \n\n hospital3\n');
    expect(readLocal(state)).toEqual(['hospital2', 'hospital3']);
    writeLocal(state, ['hospital3']);
    expect(readLocal(state)).toEqual(['hospital3']);
  });

  it('before the channel exists, every hospital of the topology is a member and local, and the core runs here', () => {
    expect(rolesOf(t, undefined)).toEqual({ members: ALL, local: ALL, core: true });
    expect(rolesOf(t, state)).toEqual({ members: ALL, local: ALL, core: true });
    expect(runsCore(state)).toBe(true);
  });

  it('with a members file, only the members count; local defaults to the members', () => {
    writeMembers(state, ['hospital1', 'hospital2']);
    expect(rolesOf(t, state)).toEqual({
      members: ['hospital1', 'hospital2'],
      local: ['hospital1', 'hospital2'],
      core: true,
    });
    writeLocal(state, ['hospital2']);
    expect(rolesOf(t, state)).toEqual({ members: ['hospital1', 'hospital2'], local: ['hospital2'], core: true });
  });

  it('ignores names the topology does not have', () => {
    writeMembers(state, ['hospital1', 'hospital9']);
    writeLocal(state, ['hospital9', 'hospital1']);
    expect(rolesOf(t, state)).toEqual({ members: ['hospital1'], local: ['hospital1'], core: true });
    expect(rolesOf(t, state, 'hospital9')).toEqual({ members: ['hospital1'], local: ['hospital1'], core: true });
  });

  it('counts a joining hospital (--with) as a member and local, once', () => {
    writeMembers(state, ['hospital1', 'hospital2']);
    expect(rolesOf(t, state, 'hospital3')).toEqual({
      members: ['hospital1', 'hospital2', 'hospital3'],
      local: ['hospital1', 'hospital2', 'hospital3'],
      core: true,
    });
    expect(rolesOf(t, state, 'hospital2')).toEqual({
      members: ['hospital1', 'hospital2'],
      local: ['hospital1', 'hospital2'],
      core: true,
    });
    // the files are only read
    expect(readMembers(state)).toEqual(['hospital1', 'hospital2']);
    expect(readLocal(state)).toBeUndefined();
  });

  it("made from another machine's network kit: no core, and no local hospital unless recorded or joining", () => {
    kit();
    expect(runsCore(state)).toBe(false);
    expect(rolesOf(t, state)).toEqual({ members: [], local: [], core: false });
    writeMembers(state, ['hospital1', 'hospital2']);
    expect(rolesOf(t, state)).toEqual({ members: ['hospital1', 'hospital2'], local: [], core: false });
    expect(rolesOf(t, state, 'hospital3')).toEqual({
      members: ['hospital1', 'hospital2', 'hospital3'],
      local: ['hospital3'],
      core: false,
    });
    writeLocal(state, ['hospital3']);
    writeMembers(state, ['hospital1', 'hospital2', 'hospital3']);
    expect(rolesOf(t, state)).toEqual({ members: ALL, local: ['hospital3'], core: false });
  });

  it('gives the topology as the channel knows it', () => {
    expect(memberTopology(t, undefined)).toBe(t);
    const two = memberTopology(t, ['hospital3', 'hospital1']);
    expect(two.hospitals.map((h) => h.name)).toEqual(['hospital1', 'hospital3']);
    expect(two.orderers).toBe(t.orderers);
    expect(t.hospitals).toHaveLength(3);
    expect(memberTopology(t, []).hospitals).toEqual([]);
  });
});
