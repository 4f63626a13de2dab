#!/usr/bin/env node
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { common } from '@hyperledger/fabric-protos';
import { computeConfigUpdate, LocalIdentity, organizationGroup, type RawOrg } from '@phr/embedded-fabric';
import { parse } from 'yaml';
import {
  applicationMspIds,
  configFromBlock,
  GovernanceError,
  isMembersGoverned,
  mspConfigOf,
  withHospital,
  withMembersGovernance,
  withRevocationList,
} from './governance/channel-config';
import {
  configSigners,
  envelopeUpdate,
  fetchBlock,
  signConfigUpdate,
  submitConfigUpdate,
  updateEnvelope,
  type OrdererEndpoint,
} from './governance/config-transactions';
import { EmbeddedLifecycle, type DefinitionTerms } from './governance/embedded-lifecycle';
import { sameSignaturePolicy } from './governance/policy-text';
import { crlIssuedBy } from './governance/revocation';
import { NetworkState } from './network-state';

const USAGE = `usage: phr-governance <command> [options]   (PHR_TOPOLOGY / PHR_STATE, or --topology / --state)
  lifecycle approve   --org ORG --name N --version V --sequence S --policy P --package-id ID
  lifecycle commit    --org ORG --name N --version V --sequence S --policy P
  lifecycle query     --org ORG --name N
  lifecycle readiness --org ORG --name N --version V --sequence S --policy P
        the embedded network's chaincode lifecycle, as ORG's admin through ORG's peer
  lifecycle same-policy --policy P (--committed-json FILE | --text P2)
        whether a committed definition (peer lifecycle querycommitted -O json) has policy P

  config fetch --org ORG --out FILE [--block config|newest|N]
        a block from the orderer as ORG's admin (peer channel fetch); exit 3 when ORG is not a member
  config members --block FILE           the hospitals (application organisations but the patients') a config block lists
  config governed --block FILE          exit 0 when every hospital is governed by the members' majority
  config has-crl --block FILE --msp ID --crl FILE   exit 0 when the organisation's MSP carries the CRL
  config approvals --block FILE         the MSP ids whose admins signed the update a config block records
  config org-group --configtx FILE --msp ID --out FILE   the organisation's group (configtxgen -printOrg, as protobuf)
  config extract-group --config FILE --msp ID --out FILE   an application organisation's group from a Config
  config edit --block FILE --original OUT --updated OUT (--govern | --add ID --org-group FILE | --revoke ID --crl FILE)
  config compute-update --original F --updated F --out FILE   the ConfigUpdate (configtxlator compute_update)
  config envelope --update FILE --out FILE    the unsigned CONFIG_UPDATE envelope
  config sign --org ORG --envelope FILE       appends ORG's admin's signature (peer channel signconfigtx)
  config signers --envelope FILE              the MSP ids that signed, one per line
  config submit --org ORG --envelope FILE     sends it to the orderer as ORG's admin (peer channel update)`;

class UsageError extends Error {}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      topology: { type: 'string' },
      state: { type: 'string' },
      org: { type: 'string' },
      name: { type: 'string' },
      version: { type: 'string' },
      sequence: { type: 'string' },
      policy: { type: 'string' },
      'package-id': { type: 'string' },
      out: { type: 'string' },
      block: { type: 'string' },
      configtx: { type: 'string' },
      msp: { type: 'string' },
      original: { type: 'string' },
      updated: { type: 'string' },
      govern: { type: 'boolean' },
      add: { type: 'string' },
      'org-group': { type: 'string' },
      revoke: { type: 'string' },
      crl: { type: 'string' },
      update: { type: 'string' },
      envelope: { type: 'string' },
      'committed-json': { type: 'string' },
      text: { type: 'string' },
      config: { type: 'string' },
    },
  });
  const need = (k: keyof typeof values): string => {
    const v = values[k];
    if (typeof v !== 'string' || !v) throw new UsageError(`--${k} is required\n${USAGE}`);
    return v;
  };
  const terms = (): DefinitionTerms => ({
    name: need('name'),
    version: need('version'),
    sequence: Number(need('sequence')),
    endorsementPolicy: need('policy'),
  });
  const [group, command] = positionals;
  if (group === 'lifecycle' && command === 'same-policy') {
    const committed = values['committed-json']
      ? (JSON.parse(readFileSync(values['committed-json'], 'utf8')) as { validation_parameter?: string })
          .validation_parameter
      : undefined;
    const other = values.text ?? committed;
    if (!other) throw new UsageError(`--committed-json or --text is required\n${USAGE}`);
    return sameSignaturePolicy(need('policy'), other) ? 0 : 1;
  }
  if (group === 'config') return config(command, values, (k: string) => need(k as keyof typeof values));
  if (group !== 'lifecycle') throw new UsageError(USAGE);
  const state = NetworkState.load(values.topology, values.state);
  const lifecycle = EmbeddedLifecycle.connect(state, need('org'));
  try {
    switch (command) {
      case 'approve':
        await lifecycle.approve(terms(), need('package-id'));
        return 0;
      case 'commit':
        await lifecycle.commit(terms());
        return 0;
      case 'query': {
        const def = await lifecycle.committed(need('name'));
        if (!def) {
          process.stderr.write(`chaincode ${values.name} is not defined on the channel\n`);
          return 3;
        }
        process.stdout.write(`${JSON.stringify(def)}\n`);
        return 0;
      }
      case 'readiness':
        process.stdout.write(`${JSON.stringify(await lifecycle.readiness(terms()))}\n`);
        return 0;
      default:
        throw new UsageError(USAGE);
    }
  } finally {
    lifecycle.close();
  }
}

type Values = Record<string, string | boolean | undefined>;

function identityOf(state: NetworkState, org: string): LocalIdentity {
  return LocalIdentity.fromMspFolder(state.mspIdOf(org), join(state.identityDir(org, 'orgadmin'), 'msp'));
}

/** The orderers to try, in the topology's order, trusted through the orderer organisation's CA. */
function orderers(state: NetworkState): OrdererEndpoint[] {
  const tlsRootCertPem = readFileSync(join(state.dir, 'orgs', 'orderer', 'msp', 'cacerts', 'ca.pem'), 'utf8');
  return state.topology.orderers.nodes.map((n) => ({ address: `${n.host}:${n.port}`, tlsRootCertPem }));
}

/** Runs `fn` against each orderer until one answers; a refusal is an answer. */
async function withOrderer<T>(state: NetworkState, fn: (o: OrdererEndpoint) => Promise<T>): Promise<T> {
  let last: GovernanceError | undefined;
  for (const o of orderers(state)) {
    try {
      return await fn(o);
    } catch (err) {
      if (!(err instanceof GovernanceError) || err.code !== 'UNREACHABLE') throw err;
      last = err;
    }
  }
  throw last ?? new GovernanceError('the topology names no orderer', 'UNREACHABLE');
}

const readBlock = (file: string) => common.Block.deserializeBinary(readFileSync(file));
const readConfig = (file: string) => common.Config.deserializeBinary(readFileSync(file));

async function config(command: string | undefined, values: Values, req: (k: string) => string): Promise<number> {
  const state = NetworkState.load(values.topology as string | undefined, values.state as string | undefined);
  const hospitals = (cfg: common.Config) => applicationMspIds(cfg).filter((m) => m !== state.topology.patients.mspId);
  switch (command) {
    case 'fetch': {
      const which = (values.block as string | undefined) ?? 'config';
      const at = which === 'config' || which === 'newest' ? which : Number(which);
      if (typeof at === 'number' && !Number.isInteger(at))
        throw new UsageError('--block must be config, newest or a number');
      const identity = identityOf(state, req('org'));
      try {
        const block = await withOrderer(state, (o) => fetchBlock(identity, o, state.topology.channel, at));
        writeFileSync(req('out'), block.serializeBinary());
      } catch (err) {
        if (err instanceof GovernanceError && err.code === 'NOT_A_MEMBER') {
          process.stderr.write(`${err.message}\n`);
          return 3;
        }
        throw err;
      }
      return 0;
    }
    case 'members':
      process.stdout.write(
        hospitals(configFromBlock(readBlock(req('block'))))
          .map((m) => `${m}\n`)
          .join(''),
      );
      return 0;
    case 'approvals': {
      // Who signed the update a config block carries (its last_update): the block is the record.
      const block = readBlock(req('block'));
      const [first] = block.getData()?.getDataList_asU8() ?? [];
      const payload = common.Payload.deserializeBinary(
        common.Envelope.deserializeBinary(first ?? new Uint8Array()).getPayload_asU8(),
      );
      const last = common.ConfigEnvelope.deserializeBinary(payload.getData_asU8()).getLastUpdate();
      if (!last) throw new GovernanceError('the block carries no config update (the genesis block has none)');
      // One line per organisation: `peer channel update` adds the submitter's signature again.
      const msps = [...new Set(configSigners(last.serializeBinary()).map((x) => x.mspId))];
      process.stdout.write(msps.map((m) => `${m}\n`).join(''));
      return 0;
    }
    case 'has-crl': {
      const crl = readFileSync(req('crl'));
      const msp = mspConfigOf(configFromBlock(readBlock(req('block'))), req('msp'));
      return msp.getRevocationListList_asU8().some((c) => Buffer.from(c).equals(crl)) ? 0 : 1;
    }
    case 'governed': {
      const cfg = configFromBlock(readBlock(req('block')));
      return isMembersGoverned(cfg, hospitals(cfg)) ? 0 : 1;
    }
    case 'org-group': {
      const doc = parse(readFileSync(req('configtx'), 'utf8')) as { Organizations?: RawOrg[] };
      const org = doc.Organizations?.find((o) => o.Name === req('msp'));
      if (!org) throw new UsageError(`no organisation ${req('msp')} in ${req('configtx')}`);
      // As configtxgen: a relative MSPDir is relative to the configtx.yaml that names it.
      const mspDir = resolve(dirname(req('configtx')), org.MSPDir);
      writeFileSync(req('out'), organizationGroup({ ...org, MSPDir: mspDir }, 'application').serializeBinary());
      return 0;
    }
    case 'extract-group': {
      const group = common.Config.deserializeBinary(readFileSync(req('config')))
        .getChannelGroup()
        ?.getGroupsMap()
        .get('Application')
        ?.getGroupsMap()
        .get(req('msp'));
      if (!group) throw new UsageError(`no organisation ${req('msp')} in ${req('config')}`);
      writeFileSync(req('out'), group.serializeBinary());
      return 0;
    }
    case 'edit': {
      const original = configFromBlock(readBlock(req('block')));
      const members = hospitals(original);
      let updated: common.Config;
      if (values.govern) {
        updated = withMembersGovernance(original, members);
      } else if (values.add) {
        const group = common.ConfigGroup.deserializeBinary(readFileSync(req('org-group')));
        updated = withHospital(original, values.add as string, group, members);
      } else if (values.revoke) {
        const crl = readFileSync(req('crl'));
        updated = withRevocationList(original, values.revoke as string, crl, (c) => crlIssuedBy(c, crl));
      } else {
        throw new UsageError('config edit needs --govern, --add or --revoke');
      }
      writeFileSync(req('original'), original.serializeBinary());
      writeFileSync(req('updated'), updated.serializeBinary());
      return 0;
    }
    case 'compute-update': {
      const update = computeConfigUpdate(
        state.topology.channel,
        readConfig(req('original')),
        readConfig(req('updated')),
      );
      writeFileSync(req('out'), update.serializeBinary());
      return 0;
    }
    case 'envelope':
      writeFileSync(req('out'), updateEnvelope(common.ConfigUpdate.deserializeBinary(readFileSync(req('update')))));
      return 0;
    case 'sign': {
      const file = req('envelope');
      writeFileSync(file, signConfigUpdate(readFileSync(file), identityOf(state, req('org'))));
      return 0;
    }
    case 'signers':
      envelopeUpdate(readFileSync(req('envelope')));
      process.stdout.write(
        configSigners(readFileSync(req('envelope')))
          .map((s) => `${s.mspId}\n`)
          .join(''),
      );
      return 0;
    case 'submit': {
      const identity = identityOf(state, req('org'));
      const bytes = readFileSync(req('envelope'));
      await withOrderer(state, (o) => submitConfigUpdate(bytes, identity, o));
      return 0;
    }
    default:
      throw new UsageError(USAGE);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`phr-governance: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof UsageError ? 2 : err instanceof GovernanceError && err.code === 'REFUSED' ? 4 : 1);
  },
);
