import { join } from 'node:path';
import { stringify } from 'yaml';
import { endorsementPolicy, endorsementQuorum, type Hospital, type Topology } from './topology';

const sig = (rule: string) => ({ Type: 'Signature', Rule: rule });
const meta = (rule: string) => ({ Type: 'ImplicitMeta', Rule: rule });

/** Batch timeout: a lone transaction waits this long for its block (Fabric's stock value is 2 s). */
export const BATCH_TIMEOUT = '200ms';

/** Which engine runs the network: real Fabric, or the embedded network (network/embedded). */
export type Engine = 'fabric' | 'embedded';

/**
 * Our channel definition for configtxgen (Fabric) or the embedded network's genesis tool, which
 * reads the same file. Organisation MSP folders and orderer TLS certificates are those the network
 * scripts enrolled under `stateDir`. The embedded network runs one orderer, the topology's first,
 * with no consensus protocol: its channel names that orderer only, with OrdererType `embedded`.
 */
export function configtx(t: Topology, stateDir: string, engine: Engine = 'fabric'): string {
  const ordererNodes = engine === 'embedded' ? t.orderers.nodes.slice(0, 1) : t.orderers.nodes;
  const orgDir = (org: string) => join(stateDir, 'orgs', org);
  const ordererOrg = {
    Name: t.orderers.mspId,
    ID: t.orderers.mspId,
    MSPDir: join(orgDir('orderer'), 'msp'),
    Policies: {
      Readers: sig(`OR('${t.orderers.mspId}.member')`),
      Writers: sig(`OR('${t.orderers.mspId}.member')`),
      Admins: sig(`OR('${t.orderers.mspId}.admin')`),
    },
    OrdererEndpoints: ordererNodes.map((n) => `${n.host}:${n.port}`),
  };
  const hospitalOrgs = t.hospitals.map((h) => hospitalOrg(h, join(orgDir(h.name), 'msp')));
  // Patients submit their own transactions (clients) but run no peers, so they never endorse.
  const patientsOrg = {
    Name: t.patients.mspId,
    ID: t.patients.mspId,
    MSPDir: join(orgDir('patients'), 'msp'),
    Policies: {
      Readers: sig(`OR('${t.patients.mspId}.admin','${t.patients.mspId}.client')`),
      Writers: sig(`OR('${t.patients.mspId}.admin','${t.patients.mspId}.client')`),
      Admins: sig(`OR('${t.patients.mspId}.admin')`),
      Endorsement: sig(`OR('${t.patients.mspId}.peer')`),
    },
  };
  const hospitalsMajority = sig(endorsementPolicy(t));
  const admins = t.hospitals.map((h) => `'${h.mspId}.admin'`).join(',');

  const doc = {
    Profiles: {
      PhrChannel: {
        Policies: { Readers: meta('ANY Readers'), Writers: meta('ANY Writers'), Admins: meta('MAJORITY Admins') },
        Capabilities: { V3_0: true },
        Orderer: {
          BatchTimeout: BATCH_TIMEOUT,
          BatchSize: { MaxMessageCount: 500, AbsoluteMaxBytes: '10 MB', PreferredMaxBytes: '2 MB' },
          ...(engine === 'embedded'
            ? { OrdererType: 'embedded' }
            : {
                OrdererType: 'etcdraft',
                EtcdRaft: {
                  Consenters: ordererNodes.map((n) => {
                    const tls = join(orgDir('orderer'), 'identities', n.name, 'tls', 'server.crt');
                    return { Host: n.host, Port: n.port, ClientTLSCert: tls, ServerTLSCert: tls };
                  }),
                  Options: {
                    TickInterval: '500ms',
                    ElectionTick: 10,
                    HeartbeatTick: 1,
                    MaxInflightBlocks: 5,
                    SnapshotIntervalSize: '16 MB',
                  },
                },
              }),
          Organizations: [ordererOrg],
          Policies: {
            Readers: meta('ANY Readers'),
            Writers: meta('ANY Writers'),
            Admins: meta('MAJORITY Admins'),
            BlockValidation: meta('ANY Writers'),
          },
          Capabilities: { V2_0: true },
        },
        Application: {
          Organizations: [...hospitalOrgs, patientsOrg],
          Policies: {
            Readers: meta('ANY Readers'),
            Writers: meta('ANY Writers'),
            // Membership and every member's definition are changed by a majority of the hospitals'
            // admins; the patients' organisation, an application organisation too, does not count.
            Admins: sig(`OutOf(${endorsementQuorum(t)},${admins})`),
            // Chaincode definitions and the default endorsement: a majority of hospitals.
            LifecycleEndorsement: hospitalsMajority,
            Endorsement: hospitalsMajority,
          },
          Capabilities: { V2_5: true },
        },
      },
    },
  };
  return stringify(doc, { aliasDuplicateObjects: false, lineWidth: 0 });
}

/** A hospital's organisation as configtx.yaml describes it (configtxgen reads its MSP folder). */
function hospitalOrg(h: Hospital, mspDir: string) {
  return {
    Name: h.mspId,
    ID: h.mspId,
    MSPDir: mspDir,
    Policies: {
      Readers: sig(`OR('${h.mspId}.admin','${h.mspId}.peer','${h.mspId}.client')`),
      Writers: sig(`OR('${h.mspId}.admin','${h.mspId}.client')`),
      Admins: sig(`OR('${h.mspId}.admin')`),
      Endorsement: sig(`OR('${h.mspId}.peer')`),
    },
    AnchorPeers: [{ Host: h.peer.host, Port: h.peer.port }],
  };
}

/**
 * A joining hospital's organisation alone, for `configtxgen -printOrg` (Fabric) or the embedded
 * network's equivalent: what the members add to the channel when they admit it.
 */
export function organizationConfigtx(h: Hospital, mspDir: string): string {
  return stringify({ Organizations: [hospitalOrg(h, mspDir)] }, { aliasDuplicateObjects: false, lineWidth: 0 });
}
