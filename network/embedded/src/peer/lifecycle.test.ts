import { join } from 'node:path';
import { common, peer } from '@hyperledger/fabric-protos';
import { getMetadata } from '../ledger/block';
import { PeerLedger } from '../ledger/peer-ledger';
import { StateLock } from '../ledger/state-lock';
import type { LocalIdentity } from '../node/local-identity';
import { CHANNEL_ID, MAJORITY_OF_HOSPITALS, silentLogger, TestChannel } from '../testing/channel';
import { ccaasPackage, commitGenesis, install } from '../testing/packages';
import {
  endorsedEnvelope,
  endorsement,
  envelopeOf,
  ordererBlock,
  proposal,
  rwset,
  type TestProposal,
} from '../testing/transactions';
import { BlockValidator } from './block-validator';
import { ChaincodeRegistry } from './chaincode-registry';
import { Committer } from './committer';
import { Endorser } from './endorser';
import { approvalKey, Lifecycle, type ChaincodeDefinition } from './lifecycle';
import { Qscc } from './qscc';

const C = peer.TxValidationCode;

/**
 * The `_lifecycle` system chaincode on two hospitals' peers sharing one ledger: proposals endorsed
 * by the peers' Endorsers, transactions committed by the validator that checks who endorsed them.
 */
describe('the _lifecycle system chaincode', () => {
  const channel = new TestChannel();
  const [h1, h2] = [channel.hospital1, channel.hospital2];
  const admin1 = h1.admin();
  const admin2 = h2.admin();
  const [peer1, peer2] = [h1.peer(), h2.peer()];
  let ledger: PeerLedger;
  let committer: Committer;
  /** Each hospital's peer: its endorser and its registry (its own installed packages). */
  const peers: { endorser: Endorser; registry: ChaincodeRegistry }[] = [];
  const packages: Record<'a' | 'b', string> = { a: '', b: '' };

  beforeAll(async () => {
    ledger = new PeerLedger(join(channel.dir, 'ledger.db'));
    commitGenesis(ledger, channel.genesis);
    const lock = new StateLock();
    const log = silentLogger();
    for (const identity of [peer1, peer2]) {
      const lifecycleDir = join(channel.dir, `lifecycle-${identity.mspId}`);
      packages.a = await install(lifecycleDir, await ccaasPackage('phr_1.0', { address: '127.0.0.1:1' }));
      packages.b = await install(lifecycleDir, await ccaasPackage('phr_2.0', { address: '127.0.0.1:2' }));
      const registry = new ChaincodeRegistry(ledger, identity.mspId, () => channel.config, lifecycleDir, log);
      const endorser = new Endorser({
        channelId: CHANNEL_ID,
        config: () => channel.config,
        ledger,
        lock,
        registry,
        qscc: new Qscc(CHANNEL_ID, ledger),
        lifecycle: new Lifecycle(() => channel.config, identity.mspId),
        identity,
        log,
      });
      peers.push({ endorser, registry });
    }
    const validator = new BlockValidator(ledger, () => channel.config, (peers[0] as (typeof peers)[0]).registry);
    committer = new Committer(ledger, lock, validator, log);
  });
  afterAll(() => {
    for (const p of peers) p.registry.close();
    ledger.close();
    channel.remove();
  });

  const terms = (d: ChaincodeDefinition) => [d.name, d.version, String(d.sequence), d.endorsementPolicy];
  const phr1: ChaincodeDefinition = {
    name: 'phr',
    version: '1.0',
    sequence: 1,
    endorsementPolicy: MAJORITY_OF_HOSPITALS,
  };

  /** A `_lifecycle` proposal by `creator`, endorsed by the peers at `by` (0 = hospital 1, 1 = hospital 2). */
  const endorse = async (creator: LocalIdentity, args: string[], by: number[] = [0]) => {
    const p = proposal(creator, { chaincode: '_lifecycle', args });
    const results = await Promise.all(
      by.map((i) => (peers[i] as (typeof peers)[0]).endorser.processProposal(p.signed)),
    );
    return { p, responses: results.map((r) => r.response) };
  };
  const responseOf = (r: peer.ProposalResponse) => ({
    status: r.getResponse()?.getStatus(),
    message: r.getResponse()?.getMessage(),
    payload: Buffer.from(r.getResponse()?.getPayload_asU8() ?? []).toString(),
  });
  /** Orders the envelopes in the next block and commits it; returns the validation codes. */
  const commitBlock = async (...envelopes: Uint8Array[]) => {
    const number = ledger.height();
    const block = ordererBlock(
      number,
      ledger.headerHash(number - 1) as Uint8Array,
      envelopes,
      channel.orderer.orderer(),
    );
    await committer.commit(block.serializeBinary());
    const stored = common.Block.deserializeBinary(ledger.block(number) as Uint8Array);
    return [...getMetadata(stored, common.BlockMetadataIndex.TRANSACTIONS_FILTER)];
  };
  /** The endorsed transaction, as the Gateway assembles it from the endorsements, signed by the creator. */
  const transaction = (p: TestProposal, responses: peer.ProposalResponse[]) => {
    for (const r of responses) expect(responseOf(r)).toMatchObject({ status: 200 });
    return envelopeOf(
      p,
      (responses[0] as peer.ProposalResponse).getPayload_asU8(),
      responses.map((r) => r.getEndorsement() as peer.Endorsement),
    );
  };
  /** Endorses and commits; returns the transaction's validation code. */
  const submit = async (creator: LocalIdentity, args: string[], by: number[] = [0]) => {
    const { p, responses } = await endorse(creator, args, by);
    const [code] = await commitBlock(transaction(p, responses));
    return code;
  };
  const approve = (admin: LocalIdentity, d: ChaincodeDefinition, packageId: string) =>
    submit(admin, ['ApproveChaincodeDefinitionForMyOrg', ...terms(d), packageId], [admin === admin1 ? 0 : 1]);
  const commitDefinition = (d: ChaincodeDefinition, by = [0, 1]) =>
    submit(admin1, ['CommitChaincodeDefinition', ...terms(d)], by);
  /** The answer of one peer (hospital 1's by default), not committed. */
  const evaluate = async (creator: LocalIdentity, args: string[], by = 0) =>
    responseOf((await endorse(creator, args, [by])).responses[0] as peer.ProposalResponse);
  const readiness = async (d: ChaincodeDefinition) => {
    const r = await evaluate(admin1, ['CheckCommitReadiness', ...terms(d)]);
    expect(r.status).toBe(200);
    return (JSON.parse(r.payload) as { approvals: Record<string, boolean> }).approvals;
  };
  const definition = async (name: string) => {
    const r = await evaluate(h1.client(), ['QueryChaincodeDefinition', name]);
    return r.status === 200 ? (JSON.parse(r.payload) as ChaincodeDefinition) : r;
  };

  describe('ApproveChaincodeDefinitionForMyOrg', () => {
    it('is for an admin of the peer’s own organisation only', async () => {
      const approval = ['ApproveChaincodeDefinitionForMyOrg', ...terms(phr1), packages.a];
      const refused = (who: string) => ({
        status: 500,
        message: `access denied: an approval for ${who} must come from an admin of Hospital1MSP, endorsed by its own peer`,
      });
      expect(await evaluate(h1.client(), approval)).toMatchObject(refused('Hospital1MSP'));
      expect(await evaluate(admin2, approval)).toMatchObject(refused('Hospital2MSP'));
      expect(await evaluate(channel.patients.admin(), approval)).toMatchObject(refused('PatientsMSP'));
      // Hospital 2's admin is served by hospital 2's peer.
      expect(await evaluate(admin2, approval, 1)).toMatchObject({ status: 200 });
      const ok = await evaluate(admin1, approval);
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.payload)).toEqual({ ...phr1, mspId: 'Hospital1MSP', packageId: packages.a });
    });

    it('refuses malformed terms, and unknown functions', async () => {
      const approval = (d: Partial<Record<keyof ChaincodeDefinition, string>>, packageId = packages.a) => [
        'ApproveChaincodeDefinitionForMyOrg',
        d.name ?? 'phr',
        d.version ?? '1.0',
        d.sequence ?? '1',
        d.endorsementPolicy ?? MAJORITY_OF_HOSPITALS,
        packageId,
      ];
      const message = async (args: string[]) => (await evaluate(admin1, args)).message;
      expect(await message(approval({}, ''))).toBe('a package id is required');
      expect(await message(approval({ name: 'no/slash' }))).toBe("invalid chaincode name 'no/slash'");
      expect(await message(approval({ version: '' }))).toBe("invalid chaincode version ''");
      expect(await message(approval({ sequence: '0' }))).toBe("invalid sequence '0'");
      expect(await message(approval({ sequence: '1.5' }))).toBe("invalid sequence '1.5'");
      expect(await message(approval({ endorsementPolicy: 'AND(' }))).toMatch(/^invalid endorsement policy: /);
      expect(await message(['Drop', 'phr'])).toBe("invalid invocation: unknown function 'Drop'");
    });

    it('takes the next sequence only (or the current one) — nothing committed yet: 1', async () => {
      const r = await evaluate(admin1, [
        'ApproveChaincodeDefinitionForMyOrg',
        ...terms({ ...phr1, sequence: 2 }),
        packages.a,
      ]);
      expect(r).toMatchObject({
        status: 500,
        message: 'requested sequence is 2, but new definition must be sequence 1',
      });
    });
  });

  describe('CommitChaincodeDefinition', () => {
    it('answers 404 to QueryChaincodeDefinition while nothing is committed', async () => {
      expect(await definition('phr')).toMatchObject({ status: 404, message: 'namespace phr is not defined' });
      // A 4xx answer is the chaincode response only: no payload to sign, no endorsement.
      const { responses } = await endorse(h1.client(), ['QueryChaincodeDefinition', 'phr']);
      expect(responses[0]?.getPayload_asU8()).toHaveLength(0);
      expect(responses[0]?.getEndorsement()).toBeUndefined();
    });

    it('is refused until the approving organisations satisfy LifecycleEndorsement, naming who approved and who did not', async () => {
      const commit = ['CommitChaincodeDefinition', ...terms(phr1)];
      expect(await readiness(phr1)).toEqual({ Hospital1MSP: false, Hospital2MSP: false, PatientsMSP: false });
      expect((await evaluate(admin1, commit)).message).toBe(
        "chaincode definition not agreed to by this channel's LifecycleEndorsement policy: approved by nobody; not by Hospital1MSP, Hospital2MSP, PatientsMSP",
      );
      expect(await approve(admin1, phr1, packages.a)).toBe(C.VALID);
      expect(await readiness(phr1)).toEqual({ Hospital1MSP: true, Hospital2MSP: false, PatientsMSP: false });
      expect(await evaluate(admin1, commit)).toMatchObject({
        status: 500,
        message:
          "chaincode definition not agreed to by this channel's LifecycleEndorsement policy: approved by Hospital1MSP; not by Hospital2MSP, PatientsMSP",
      });
      // Hospital 2 approves other terms: that is no approval of these.
      const other = { ...phr1, version: '1.1' };
      expect(await approve(admin2, other, packages.a)).toBe(C.VALID);
      expect(await readiness(phr1)).toEqual({ Hospital1MSP: true, Hospital2MSP: false, PatientsMSP: false });
      expect(await readiness(other)).toEqual({ Hospital1MSP: false, Hospital2MSP: true, PatientsMSP: false });
      expect((await evaluate(admin1, commit)).message).toMatch(
        /approved by Hospital1MSP; not by Hospital2MSP, PatientsMSP$/,
      );
      // Hospital 2 approves these terms after all (its approval for sequence 1 is replaced).
      expect(await approve(admin2, phr1, packages.a)).toBe(C.VALID);
      expect(await readiness(phr1)).toEqual({ Hospital1MSP: true, Hospital2MSP: true, PatientsMSP: false });
      expect(await readiness(other)).toEqual({ Hospital1MSP: false, Hospital2MSP: false, PatientsMSP: false });
      // Only an admin commits, and only the next sequence.
      expect((await evaluate(h1.client(), commit)).message).toBe(
        'access denied: only an organisation admin may commit a definition',
      );
      expect((await evaluate(admin1, ['CommitChaincodeDefinition', ...terms({ ...phr1, sequence: 2 })])).message).toBe(
        'requested sequence is 2, but new definition must be sequence 1',
      );
      expect(await commitDefinition(phr1)).toBe(C.VALID);
      expect(await definition('phr')).toEqual(phr1);
      const defined = await (peers[0] as (typeof peers)[0]).registry.get('phr');
      expect(defined.definition).toEqual(phr1);
      expect(defined.connection?.endpoint.packageId).toBe(packages.a);
    });

    it('keeps the sequence rules once defined: approve the current or next sequence, commit the next only', async () => {
      const approveAt = (d: ChaincodeDefinition) =>
        evaluate(admin1, ['ApproveChaincodeDefinitionForMyOrg', ...terms(d), packages.a]);
      expect((await approveAt({ ...phr1, sequence: 3 })).message).toBe(
        'requested sequence is 3, but new definition must be sequence 2',
      );
      expect((await approveAt({ ...phr1, sequence: 2 })).status).toBe(200);
      // The committed sequence again: the same terms (e.g. to change the package), not others.
      expect((await approveAt(phr1)).status).toBe(200);
      expect((await approveAt({ ...phr1, version: '1.1' })).message).toBe(
        'attempted to redefine the current committed sequence (1) for namespace phr with different parameters',
      );
      expect((await evaluate(admin1, ['CommitChaincodeDefinition', ...terms(phr1)])).message).toBe(
        'requested sequence is 1, but new definition must be sequence 2',
      );
    });

    it('at sequence + 1 replaces the definition, and the registry follows: new policy, new package', async () => {
      const phr2 = { name: 'phr', version: '2.0', sequence: 2, endorsementPolicy: "OR('Hospital1MSP.peer')" };
      expect(await approve(admin1, phr2, packages.b)).toBe(C.VALID);
      expect(await approve(admin2, phr2, packages.b)).toBe(C.VALID);
      expect(await commitDefinition(phr2)).toBe(C.VALID);
      expect(await definition('phr')).toEqual(phr2);
      for (const p of peers) {
        const defined = await p.registry.get('phr');
        expect(defined.definition).toEqual(phr2);
        expect(defined.policy.mspIds()).toEqual(['Hospital1MSP']);
        expect(defined.connection?.endpoint).toMatchObject({ packageId: packages.b, address: '127.0.0.1:2' });
      }
      // The validator checks transactions on phr against the new policy: hospital 1 alone now.
      const tx = (endorsers: LocalIdentity[]) => {
        const p = proposal(h1.client());
        return endorsedEnvelope(p, {
          results: rwset('phr', { writes: [{ key: `k-${p.txId}`, value: 'v' }] }),
          endorsers,
          chaincodeVersion: '2.0',
        });
      };
      expect(await commitBlock(tx([peer1]), tx([peer2]))).toEqual([C.VALID, C.ENDORSEMENT_POLICY_FAILURE]);
      // Hospital 1 switches back to package a for the same definition: its peers follow, hospital 2's do not.
      expect(await approve(admin1, phr2, packages.a)).toBe(C.VALID);
      expect((await (peers[0] as (typeof peers)[0]).registry.get('phr')).connection?.endpoint.packageId).toBe(
        packages.a,
      );
      expect((await (peers[1] as (typeof peers)[0]).registry.get('phr')).connection?.endpoint.packageId).toBe(
        packages.b,
      );
    });
  });

  describe('validation of _lifecycle transactions', () => {
    const other: ChaincodeDefinition = {
      name: 'other',
      version: '1',
      sequence: 1,
      endorsementPolicy: MAJORITY_OF_HOSPITALS,
    };

    it('an approval endorsed by another organisation’s peer fails; by its own peer it is valid', async () => {
      const { p, responses } = await endorse(admin1, [
        'ApproveChaincodeDefinitionForMyOrg',
        ...terms(other),
        packages.a,
      ]);
      const prp = (responses[0] as peer.ProposalResponse).getPayload_asU8();
      // The payload hospital 1's peer produced, signed by hospital 2's peer instead.
      const byOther = envelopeOf(p, prp, [endorsement(peer2, prp)]);
      expect(await commitBlock(byOther)).toEqual([C.ENDORSEMENT_POLICY_FAILURE]);
      expect(ledger.getState('_lifecycle', approvalKey('other', 1, 'Hospital1MSP'))).toBeUndefined();
      const again = await endorse(admin1, ['ApproveChaincodeDefinitionForMyOrg', ...terms(other), packages.a]);
      expect(await commitBlock(transaction(again.p, again.responses))).toEqual([C.VALID]);
      expect(ledger.getState('_lifecycle', approvalKey('other', 1, 'Hospital1MSP'))).toBeDefined();
    });

    it('an approval written in another organisation’s name fails, endorsed by the writer’s peer', async () => {
      const forged = { ...other, mspId: 'Hospital2MSP', packageId: packages.a };
      const p = proposal(admin1, { chaincode: '_lifecycle', args: ['ApproveChaincodeDefinitionForMyOrg'] });
      const envelope = endorsedEnvelope(p, {
        results: rwset('_lifecycle', {
          writes: [{ key: approvalKey('other', 1, 'Hospital2MSP'), value: JSON.stringify(forged) }],
        }),
        endorsers: [peer1],
        chaincodeName: '_lifecycle',
        chaincodeVersion: 'syscc',
      });
      expect(await commitBlock(envelope)).toEqual([C.ENDORSEMENT_POLICY_FAILURE]);
      expect(await readiness(other)).toEqual({ Hospital1MSP: true, Hospital2MSP: false, PatientsMSP: false });
    });

    it('an approval counts for the organisation its key names only: content naming another counts for nobody', async () => {
      // Hospital 1's peer endorses a write under hospital 1's key that claims to be hospital 2's approval.
      const spoof = { name: 'spoof', version: '1', sequence: 1, endorsementPolicy: MAJORITY_OF_HOSPITALS };
      const p = proposal(admin1, { chaincode: '_lifecycle', args: ['ApproveChaincodeDefinitionForMyOrg'] });
      const envelope = endorsedEnvelope(p, {
        results: rwset('_lifecycle', {
          writes: [
            {
              key: approvalKey('spoof', 1, 'Hospital1MSP'),
              value: JSON.stringify({ ...spoof, mspId: 'Hospital2MSP', packageId: packages.a }),
            },
          ],
        }),
        endorsers: [peer1],
        chaincodeName: '_lifecycle',
        chaincodeVersion: 'syscc',
      });
      expect(await commitBlock(envelope)).toEqual([C.VALID]);
      expect(await readiness(spoof)).toEqual({ Hospital1MSP: false, Hospital2MSP: false, PatientsMSP: false });
      // Nor does content that is no approval at all stop the others' approvals from counting.
      const q = proposal(admin2, { chaincode: '_lifecycle', args: ['ApproveChaincodeDefinitionForMyOrg'] });
      const garbage = endorsedEnvelope(q, {
        results: rwset('_lifecycle', {
          writes: [{ key: approvalKey('spoof', 1, 'Hospital2MSP'), value: '{not json' }],
        }),
        endorsers: [peer2],
        chaincodeName: '_lifecycle',
        chaincodeVersion: 'syscc',
      });
      expect(await commitBlock(garbage)).toEqual([C.VALID]);
      expect(await approve(admin1, spoof, packages.a)).toBe(C.VALID);
      expect(await readiness(spoof)).toEqual({ Hospital1MSP: true, Hospital2MSP: false, PatientsMSP: false });
    });

    it('a commit endorsed by one organisation alone fails under a majority LifecycleEndorsement', async () => {
      expect(await approve(admin2, other, packages.b)).toBe(C.VALID);
      expect(await commitDefinition(other, [0])).toBe(C.ENDORSEMENT_POLICY_FAILURE);
      expect(await definition('other')).toMatchObject({ status: 404 });
      await expect((peers[0] as (typeof peers)[0]).registry.get('other')).rejects.toThrow(/not found/);
      expect(await commitDefinition(other, [1])).toBe(C.ENDORSEMENT_POLICY_FAILURE);
      expect(await commitDefinition(other, [0, 1])).toBe(C.VALID);
      expect(await definition('other')).toEqual(other);
    });

    it('two commits of the same sequence in one block: the second is an MVCC conflict', async () => {
      const next = { ...other, version: '2', sequence: 2 };
      expect(await approve(admin1, next, packages.a)).toBe(C.VALID);
      expect(await approve(admin2, next, packages.b)).toBe(C.VALID);
      const a = await endorse(admin1, ['CommitChaincodeDefinition', ...terms(next)], [0, 1]);
      const b = await endorse(admin2, ['CommitChaincodeDefinition', ...terms(next)], [1, 0]);
      expect(await commitBlock(transaction(a.p, a.responses), transaction(b.p, b.responses))).toEqual([
        C.VALID,
        C.MVCC_READ_CONFLICT,
      ]);
      expect(await definition('other')).toEqual(next);
    });
  });
});
