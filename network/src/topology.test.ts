import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { configtx } from './configtx';
import { toShellEnv } from './shell-env';
import { endorsementPolicy, endorsementQuorum, parseTopology, TopologyError } from './topology';

const DEFAULT = readFileSync(join(__dirname, '..', 'topology.yaml'), 'utf8');

describe('topology', () => {
  it('reads the default topology: 3 orderers, 2 hospitals, patients without peers', () => {
    const t = parseTopology(DEFAULT);
    expect(t.orderers.nodes).toHaveLength(3);
    expect(t.hospitals.map((h) => h.mspId)).toEqual(['Hospital1MSP', 'Hospital2MSP']);
    expect(t.patients.mspId).toBe('PatientsMSP');
  });

  it('needs a majority of hospitals to endorse, never counting patients', () => {
    const t = parseTopology(DEFAULT);
    expect(endorsementPolicy(t)).toBe("OutOf(2,'Hospital1MSP.peer','Hospital2MSP.peer')");
    const three = { ...t, hospitals: [...t.hospitals, { ...t.hospitals[0]!, name: 'h3', mspId: 'H3MSP' }] };
    expect(endorsementQuorum(three)).toBe(2);
    const four = { ...three, hospitals: [...three.hospitals, { ...t.hospitals[0]!, name: 'h4', mspId: 'H4MSP' }] };
    expect(endorsementQuorum(four)).toBe(3);
  });

  it.each([
    [(d: string) => d.replace('port: 8051', 'port: 9051'), /both use 127.0.0.1:9051/],
    [(d: string) => d.replace('mspId: Hospital2MSP', 'mspId: Hospital1MSP'), /mspId Hospital1MSP is used twice/],
    [(d: string) => d.replace('name: hospital2', 'name: Hospital-2'), /hospitals\[1\].name/],
    [(d: string) => d.replace('mspId: PatientsMSP', 'mspId: PeopleMSP'), /patients.mspId must be PatientsMSP/],
    [(d: string) => d.replace('port: 10054', 'port: 70000'), /patients.ca.port must be a TCP port/],
    [(d: string) => d.replace('host: 127.0.0.1, port: 8054', 'host: "bad host", port: 8054'), /hospitals\[0\].ca.host/],
  ])('refuses a broken topology (%#)', (edit, message) => {
    expect(() => parseTopology(edit(DEFAULT))).toThrow(TopologyError);
    expect(() => parseTopology(edit(DEFAULT))).toThrow(message);
  });

  it('writes a configtx with Raft consenters, a short batch timeout and hospital-only endorsement', () => {
    const t = parseTopology(DEFAULT);
    const doc = parse(configtx(t, '/state')) as {
      Profiles: {
        PhrChannel: {
          Orderer: Record<string, unknown>;
          Application: {
            Policies: Record<string, { Rule: string }>;
            Organizations: { Name: string; AnchorPeers?: unknown[] }[];
          };
        };
      };
    };
    const ch = doc.Profiles.PhrChannel;
    expect(ch.Orderer.OrdererType).toBe('etcdraft');
    expect(parseInt(String(ch.Orderer.BatchTimeout), 10)).toBeLessThanOrEqual(250);
    expect(ch.Application.Policies.Endorsement?.Rule).toBe(endorsementPolicy(t));
    expect(ch.Application.Policies.LifecycleEndorsement?.Rule).toBe(endorsementPolicy(t));
    const patients = ch.Application.Organizations.find((o) => o.Name === 'PatientsMSP');
    expect(patients?.AnchorPeers).toBeUndefined();
  });

  it('emits shell variables that survive quoting', () => {
    const env = toShellEnv(parseTopology(DEFAULT.replace('displayName: Hospital 1', "displayName: St. Mary's")));
    expect(env).toContain(`HOSPITAL_hospital1_DISPLAY='St. Mary'\\''s'`);
    expect(env).toContain(`PHR_ORDERERS=('orderer1' 'orderer2' 'orderer3')`);
  });
});
