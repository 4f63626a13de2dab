import { join } from 'node:path';
import { common, peer } from '@hyperledger/fabric-protos';
import { getMetadata, setMetadata } from '../ledger/block';
import { PeerLedger } from '../ledger/peer-ledger';
import { StateLock } from '../ledger/state-lock';
import type { LocalIdentity } from '../node/local-identity';
import { MAJORITY_OF_HOSPITALS, silentLogger, TestChannel } from '../testing/channel';
import { commitGenesis, lifecycleWrites } from '../testing/packages';
import { TestCa } from '../testing/pki';
import {
  endorsedEnvelope,
  endorsement,
  envelopeOf,
  ordererBlock,
  proposal,
  proposalResponsePayload,
  rwset,
  type EndorseOptions,
  type ProposalOptions,
  type RwSetSpec,
} from '../testing/transactions';
import { BlockInvalidError, BlockValidator } from './block-validator';
import { ChaincodeRegistry } from './chaincode-registry';
import { Committer, type CommittedBlock } from './committer';
import { TxSimulator } from './tx-simulator';

const C = peer.TxValidationCode;
const T = peer.ChaincodeMessage.Type;
const NS = 'phr';

describe('BlockValidator and Committer', () => {
  const channel = new TestChannel();
  const h1 = channel.hospital1;
  const h2 = channel.hospital2;
  const client = h1.client();
  const peer1 = h1.peer();
  const peer2 = h2.peer();
  const orderer = channel.orderer.orderer();
  let ledger: PeerLedger;
  let validator: BlockValidator;
  let committer: Committer;
  const committed: CommittedBlock[] = [];

  beforeAll(() => {
    const definition = { name: NS, version: '1.0', sequence: 1, endorsementPolicy: MAJORITY_OF_HOSPITALS };
    ledger = new PeerLedger(join(channel.dir, 'ledger.db'));
    commitGenesis(
      ledger,
      channel.genesis,
      lifecycleWrites({
        definitions: [definition, { ...definition, name: 'solo', endorsementPolicy: "OR('Hospital1MSP.peer')" }],
      }),
    );
    const log = silentLogger();
    const registry = new ChaincodeRegistry(
      ledger,
      'Hospital1MSP',
      () => channel.config,
      join(channel.dir, 'lifecycle'),
      log,
    );
    validator = new BlockValidator(ledger, () => channel.config, registry);
    committer = new Committer(ledger, new StateLock(), validator, log);
    committer.onCommitted((b) => committed.push(b));
  });
  afterAll(() => {
    ledger.close();
    channel.remove();
  });

  type TxOptions = ProposalOptions & Partial<EndorseOptions> & { rw?: RwSetSpec; creator?: LocalIdentity };
  /** An endorsed transaction envelope; by default the client writes, endorsed by both hospitals' peers. */
  const tx = (o: TxOptions = {}) => {
    const p = proposal(o.creator ?? client, o);
    const envelope = endorsedEnvelope(p, {
      results:
        o.results ??
        rwset(o.chaincodeName ?? o.chaincode ?? NS, o.rw ?? { writes: [{ key: `k-${p.txId}`, value: 'v' }] }),
      endorsers: o.endorsers ?? [peer1, peer2],
      ...(o.chaincodeName ? { chaincodeName: o.chaincodeName } : o.chaincode ? { chaincodeName: o.chaincode } : {}),
      ...(o.chaincodeVersion !== undefined ? { chaincodeVersion: o.chaincodeVersion } : {}),
      ...(o.event ? { event: o.event } : {}),
      ...(o.signer !== undefined ? { signer: o.signer } : {}),
      ...(o.proposalHash ? { proposalHash: o.proposalHash } : {}),
    });
    return { envelope, txId: p.txId, proposal: p };
  };

  const nextBlock = (envelopes: Uint8Array[], signer: LocalIdentity | null = orderer) => {
    const number = ledger.height();
    return ordererBlock(number, ledger.headerHash(number - 1) as Uint8Array, envelopes, signer);
  };

  /** Orders and commits the envelopes; returns the TRANSACTIONS_FILTER stored with the block. */
  const commit = async (...envelopes: Uint8Array[]): Promise<number[]> => {
    const block = nextBlock(envelopes);
    await committer.commit(block.serializeBinary());
    const stored = common.Block.deserializeBinary(ledger.block(block.getHeader()?.getNumber() as number) as Uint8Array);
    return [...getMetadata(stored, common.BlockMetadataIndex.TRANSACTIONS_FILTER)];
  };

  const value = (key: string) => {
    const v = ledger.getState(NS, key);
    return v && Buffer.from(v.value).toString();
  };

  /** A read-write set made by the simulator itself, over the current committed state. */
  const simulate = (txId: string, run: (s: TxSimulator) => void) => {
    const s = new TxSimulator(ledger, NS, txId);
    run(s);
    return s.readWriteSet();
  };
  const rangeScan = (s: TxSimulator, start: string, end: string) => {
    const m = new peer.GetStateByRange();
    m.setStartkey(start);
    m.setEndkey(end);
    const r = s.handle(T.GET_STATE_BY_RANGE, m.serializeBinary());
    if (!r.ok) throw new Error(r.message);
    return peer.QueryResponse.deserializeBinary(r.payload);
  };
  const read = (s: TxSimulator, key: string) => {
    const m = new peer.GetState();
    m.setKey(key);
    s.handle(T.GET_STATE, m.serializeBinary());
  };
  const write = (s: TxSimulator, key: string, v: string) => {
    const m = new peer.PutState();
    m.setKey(key);
    m.setValue(Buffer.from(v));
    s.handle(T.PUT_STATE, m.serializeBinary());
  };
  /** A transaction whose read-write set comes from `run` over the state as it is now. */
  const simulated = (run: (s: TxSimulator) => void, o: TxOptions = {}) => {
    const p = proposal(o.creator ?? client, o);
    const envelope = endorsedEnvelope(p, { results: simulate(p.txId, run), endorsers: o.endorsers ?? [peer1, peer2] });
    return { envelope, txId: p.txId };
  };

  it('commits a valid transaction: state with versions, history, txid index, TRANSACTIONS_FILTER', async () => {
    const when = new Date('2026-05-01T12:00:00.250Z');
    const a = tx({
      rw: {
        writes: [
          { key: 'valid/a', value: 'A' },
          { key: 'valid/b', value: 'B' },
        ],
      },
      timestamp: when,
    });
    const b = tx({ rw: { writes: [{ key: 'valid/c', value: 'C' }] } });
    const before = committed.length;
    expect(await commit(a.envelope, b.envelope)).toEqual([C.VALID, C.VALID]);
    const number = ledger.height() - 1;
    expect(value('valid/a')).toBe('A');
    expect(ledger.getState(NS, 'valid/c')?.version).toEqual({ block: number, txNum: 1 });
    expect(ledger.txStatus(a.txId)).toEqual({ block: number, txNum: 0, code: C.VALID });
    expect(ledger.history(NS, 'valid/a')).toEqual([
      {
        txId: a.txId,
        value: expect.anything(),
        isDelete: false,
        seconds: Math.floor(when.getTime() / 1000),
        nanos: 250_000_000,
      },
    ]);
    expect(committed.slice(before)).toEqual([
      {
        number,
        txIds: [
          { txId: a.txId, txNum: 0, code: C.VALID },
          { txId: b.txId, txNum: 1, code: C.VALID },
        ],
      },
    ]);
  });

  it('deletes a key written with an empty value', async () => {
    await commit(tx({ rw: { writes: [{ key: 'del/k', value: 'x' }] } }).envelope);
    expect(value('del/k')).toBe('x');
    expect(await commit(tx({ rw: { writes: [{ key: 'del/k', value: '' }] } }).envelope)).toEqual([C.VALID]);
    expect(ledger.getState(NS, 'del/k')).toBeUndefined();
    expect(ledger.history(NS, 'del/k').map((h) => h.isDelete)).toEqual([true, false]);
  });

  it('BAD_CREATOR_SIGNATURE: signed by another key, unsigned, or a creator outside the channel', async () => {
    const other = tx({ signer: h1.client(), rw: { writes: [{ key: 'bad/1', value: 'x' }] } });
    const unsigned = tx({ signer: null, rw: { writes: [{ key: 'bad/2', value: 'x' }] } });
    const outsider = tx({
      creator: TestCa.root('ca.hospital1').identity('Hospital1MSP', 'client'),
      rw: { writes: [{ key: 'bad/3', value: 'x' }] },
    });
    const noNodeOu = tx({
      creator: h1.ca.identity('Hospital1MSP', []),
      rw: { writes: [{ key: 'bad/4', value: 'x' }] },
    });
    expect(await commit(other.envelope, unsigned.envelope, outsider.envelope, noNodeOu.envelope)).toEqual([
      C.BAD_CREATOR_SIGNATURE,
      C.BAD_CREATOR_SIGNATURE,
      C.BAD_CREATOR_SIGNATURE,
      C.BAD_CREATOR_SIGNATURE,
    ]);
    for (const k of ['bad/1', 'bad/2', 'bad/3', 'bad/4']) expect(value(k)).toBeUndefined();
    // Every transaction id is indexed, whatever its code.
    expect(ledger.txStatus(other.txId)?.code).toBe(C.BAD_CREATOR_SIGNATURE);
  });

  it('BAD_PROPOSAL_TXID: a transaction id that is not SHA-256(nonce ‖ creator)', async () => {
    const forged = tx({ txId: 'f'.repeat(64), rw: { writes: [{ key: 'txid/k', value: 'x' }] } });
    expect(await commit(forged.envelope)).toEqual([C.BAD_PROPOSAL_TXID]);
    expect(value('txid/k')).toBeUndefined();
  });

  it('DUPLICATE_TXID: a transaction id already in the ledger, or earlier in the block; the first entry stays', async () => {
    const once = tx({ rw: { writes: [{ key: 'dup/k', value: 'first' }] } });
    expect(await commit(once.envelope, once.envelope)).toEqual([C.VALID, C.DUPLICATE_TXID]);
    const first = ledger.txStatus(once.txId);
    expect(first).toMatchObject({ txNum: 0, code: C.VALID });
    // A re-endorsed copy: same signed proposal, fresh endorsements and envelope signature.
    const again = endorsedEnvelope(once.proposal, {
      results: rwset(NS, { writes: [{ key: 'dup/k', value: 'second' }] }),
      endorsers: [peer1, peer2],
    });
    expect(await commit(again)).toEqual([C.DUPLICATE_TXID]);
    expect(ledger.txStatus(once.txId)).toEqual(first);
    expect(value('dup/k')).toBe('first');
  });

  it('marks in-block duplicates only against valid transactions, as Fabric does', async () => {
    // The first copy fails its endorsement policy; the second copy of the same transaction is valid.
    const p = proposal(client);
    const results = rwset(NS, { writes: [{ key: 'dup2/k', value: 'v' }] });
    const weak = endorsedEnvelope(p, { results, endorsers: [peer1] });
    const strong = endorsedEnvelope(p, { results, endorsers: [peer1, peer2] });
    expect(await commit(weak, strong)).toEqual([C.ENDORSEMENT_POLICY_FAILURE, C.VALID]);
    expect(value('dup2/k')).toBe('v');
  });

  it('ENDORSEMENT_POLICY_FAILURE: one organisation, a duplicate endorser, a forged or wrong-role endorser, a bad signature', async () => {
    const forgedPeer2 = TestCa.root('ca.hospital2').identity('Hospital2MSP', 'peer');
    const badSignature = (() => {
      const p = proposal(client);
      const prp = proposalResponsePayload(p, {
        results: rwset(NS, { writes: [{ key: 'ep/6', value: 'x' }] }),
        endorsers: [],
      });
      const forged = endorsement(peer2, Buffer.from('some other payload'));
      return envelopeOf(p, prp, [endorsement(peer1, prp), forged]);
    })();
    const cases = [
      tx({ endorsers: [peer1], rw: { writes: [{ key: 'ep/1', value: 'x' }] } }),
      tx({ endorsers: [peer1, peer1], rw: { writes: [{ key: 'ep/2', value: 'x' }] } }),
      tx({ endorsers: [peer1, h1.peer()], rw: { writes: [{ key: 'ep/3', value: 'x' }] } }),
      tx({ endorsers: [peer1, forgedPeer2], rw: { writes: [{ key: 'ep/4', value: 'x' }] } }),
      tx({ endorsers: [peer1, h2.client()], rw: { writes: [{ key: 'ep/5', value: 'x' }] } }),
    ].map((t) => t.envelope);
    expect(await commit(...cases, badSignature)).toEqual(Array.from({ length: 6 }, () => C.ENDORSEMENT_POLICY_FAILURE));
    for (let i = 1; i <= 6; i++) expect(value(`ep/${i}`)).toBeUndefined();
    // Extra endorsements, even invalid ones, do not spoil a satisfied policy.
    const extra = tx({ endorsers: [forgedPeer2, peer1, peer1, peer2], rw: { writes: [{ key: 'ep/ok', value: 'x' }] } });
    expect(await commit(extra.envelope)).toEqual([C.VALID]);
  });

  it('checks the policy of the invoked chaincode, per chaincode definition', async () => {
    const solo = tx({ chaincode: 'solo', endorsers: [peer1], rw: { writes: [{ key: 's', value: 'x' }] } });
    const soloByH2 = tx({ chaincode: 'solo', endorsers: [peer2], rw: { writes: [{ key: 's2', value: 'x' }] } });
    expect(await commit(solo.envelope, soloByH2.envelope)).toEqual([C.VALID, C.ENDORSEMENT_POLICY_FAILURE]);
    expect(Buffer.from(ledger.getState('solo', 's')?.value ?? []).toString()).toBe('x');
  });

  it('INVALID_CHAINCODE: undefined chaincode, action for another chaincode, no version', async () => {
    const undefinedCc = tx({ chaincode: 'nope', rw: { writes: [{ key: 'ic/1', value: 'x' }] } });
    const p = proposal(client);
    const mismatch = endorsedEnvelope(p, {
      results: rwset(NS, { writes: [{ key: 'ic/2', value: 'x' }] }),
      endorsers: [peer1, peer2],
      chaincodeName: 'solo',
    });
    const noVersion = tx({ chaincodeVersion: '', rw: { writes: [{ key: 'ic/3', value: 'x' }] } });
    expect(await commit(undefinedCc.envelope, mismatch, noVersion.envelope)).toEqual([
      C.INVALID_CHAINCODE,
      C.INVALID_CHAINCODE,
      C.INVALID_CHAINCODE,
    ]);
  });

  it('INVALID_ENDORSER_TRANSACTION, INVALID_OTHER_REASON and ILLEGAL_WRITESET', async () => {
    const wrongHash = tx({ proposalHash: Buffer.alloc(32, 1), rw: { writes: [{ key: 'x/1', value: 'x' }] } });
    const wrongEvent = tx({ event: { name: 'E', chaincodeId: 'other' }, rw: { writes: [{ key: 'x/2', value: 'x' }] } });
    const lifecycle = tx({
      results: rwset('_lifecycle', { writes: [{ key: 'namespaces/fields/phr/Sequence', value: '9' }] }),
    });
    expect(await commit(wrongHash.envelope, wrongEvent.envelope, lifecycle.envelope)).toEqual([
      C.INVALID_ENDORSER_TRANSACTION,
      C.INVALID_OTHER_REASON,
      C.ILLEGAL_WRITESET,
    ]);
    const rightEvent = tx({ event: { name: 'E' }, rw: { writes: [{ key: 'x/3', value: 'x' }] } });
    expect(await commit(rightEvent.envelope)).toEqual([C.VALID]);
  });

  it('gives envelopes that do not parse a code and no transaction id', async () => {
    const garbage = Buffer.from([0x0a, 0x03, 0xff, 0xff, 0xff]);
    const noPayload = new common.Envelope().serializeBinary();
    const codes = await commit(garbage, noPayload);
    expect(codes).toEqual([C.BAD_PAYLOAD, C.BAD_PAYLOAD]);
    expect(committed.at(-1)?.txIds).toEqual([]);
  });

  it('MVCC_READ_CONFLICT: a read version changed since, or absent then and present now', async () => {
    await commit(tx({ rw: { writes: [{ key: 'mvcc/k', value: 'v1' }] } }).envelope);
    const readsOld = simulated((s) => {
      read(s, 'mvcc/k');
      read(s, 'mvcc/absent');
      write(s, 'mvcc/out', 'from stale read');
    });
    const readsAbsent = simulated((s) => {
      read(s, 'mvcc/absent');
      write(s, 'mvcc/out2', 'x');
    });
    await commit(
      tx({
        rw: {
          writes: [
            { key: 'mvcc/k', value: 'v2' },
            { key: 'mvcc/absent', value: 'now' },
          ],
        },
      }).envelope,
    );
    expect(await commit(readsOld.envelope, readsAbsent.envelope)).toEqual([C.MVCC_READ_CONFLICT, C.MVCC_READ_CONFLICT]);
    expect(value('mvcc/out')).toBeUndefined();
    expect(value('mvcc/out2')).toBeUndefined();
    // The same reads made now are valid.
    const fresh = simulated((s) => {
      read(s, 'mvcc/k');
      write(s, 'mvcc/out', 'fresh');
    });
    expect(await commit(fresh.envelope)).toEqual([C.VALID]);
  });

  it('MVCC_READ_CONFLICT against an earlier valid transaction of the same block only', async () => {
    await commit(
      tx({
        rw: {
          writes: [
            { key: 'blk/k', value: 'v1' },
            { key: 'blk/j', value: 'v1' },
          ],
        },
      }).envelope,
    );
    const reader = (key: string) =>
      simulated((s) => {
        read(s, key);
        write(s, `${key}/seen`, 'x');
      });
    const writesK = tx({ rw: { writes: [{ key: 'blk/k', value: 'v2' }] } });
    const invalidWritesJ = tx({ endorsers: [peer1], rw: { writes: [{ key: 'blk/j', value: 'v2' }] } });
    const codes = await commit(
      reader('blk/k').envelope,
      writesK.envelope,
      reader('blk/k').envelope,
      invalidWritesJ.envelope,
      reader('blk/j').envelope,
    );
    expect(codes).toEqual([C.VALID, C.VALID, C.MVCC_READ_CONFLICT, C.ENDORSEMENT_POLICY_FAILURE, C.VALID]);
    expect(value('blk/k')).toBe('v2');
    expect(value('blk/j')).toBe('v1');
  });

  it('PHANTOM_READ_CONFLICT: a key appears in, vanishes from, or changes in a scanned range', async () => {
    await commit(
      tx({
        rw: {
          writes: [
            { key: 'ph/a', value: '1' },
            { key: 'ph/c', value: '1' },
            { key: 'ph/e', value: '1' },
          ],
        },
      }).envelope,
    );
    const scan = () =>
      simulated((s) => {
        expect(rangeScan(s, 'ph/', 'ph/z').getHasMore()).toBe(false);
        write(s, `ph-out/${Math.random()}`, 'x');
      });
    const [s1, s2, s3, s4] = [scan(), scan(), scan(), scan()];
    expect(await commit(s1.envelope)).toEqual([C.VALID]);
    // A key appears in the range.
    await commit(tx({ rw: { writes: [{ key: 'ph/b', value: 'new' }] } }).envelope);
    expect(await commit(s2.envelope)).toEqual([C.PHANTOM_READ_CONFLICT]);
    // Within one block: an earlier valid transaction deletes a scanned key.
    const s5 = scan();
    const del = tx({ rw: { writes: [{ key: 'ph/c', value: '' }] } });
    expect(await commit(del.envelope, s5.envelope)).toEqual([C.VALID, C.PHANTOM_READ_CONFLICT]);
    // An update changes a scanned key's version.
    const s6 = scan();
    await commit(tx({ rw: { writes: [{ key: 'ph/e', value: '2' }] } }).envelope);
    expect(await commit(s3.envelope, s4.envelope, s6.envelope)).toEqual([
      C.PHANTOM_READ_CONFLICT,
      C.PHANTOM_READ_CONFLICT,
      C.PHANTOM_READ_CONFLICT,
    ]);
    // Keys outside the range do not matter.
    const s7 = scan();
    await commit(
      tx({
        rw: {
          writes: [
            { key: 'ph/zz', value: 'x' },
            { key: 'ph', value: 'x' },
          ],
        },
      }).envelope,
    );
    expect(await commit(s7.envelope)).toEqual([C.VALID]);
  });

  it('re-runs an unfinished scan up to its last key, inclusive', async () => {
    const keys = Array.from({ length: 120 }, (_, i) => ({ key: `pu/${String(i).padStart(3, '0')}`, value: 'v' }));
    await commit(tx({ rw: { writes: keys } }).envelope);
    // The chaincode reads the first batch (100 keys, up to pu/099) and stops.
    const partial = () =>
      simulated((s) => {
        expect(rangeScan(s, 'pu/', '').getHasMore()).toBe(true);
        write(s, `pu-out/${Math.random()}`, 'x');
      });
    const [p1, p2] = [partial(), partial()];
    await commit(tx({ rw: { writes: [{ key: 'pu/0995', value: 'after the last key read' }] } }).envelope);
    expect(await commit(p1.envelope)).toEqual([C.VALID]);
    await commit(tx({ rw: { writes: [{ key: 'pu/0985', value: 'before the last key read' }] } }).envelope);
    expect(await commit(p2.envelope)).toEqual([C.PHANTOM_READ_CONFLICT]);
  });

  describe('block integrity', () => {
    const refused = async (block: common.Block, message: RegExp) => {
      const height = ledger.height();
      await expect(committer.commit(block.serializeBinary())).rejects.toThrow(message);
      await expect(committer.commit(block.serializeBinary())).rejects.toBeInstanceOf(BlockInvalidError);
      expect(ledger.height()).toBe(height);
    };

    it('refuses a block that does not chain to the previous header hash', async () => {
      const b = ordererBlock(ledger.height(), Buffer.alloc(32, 7), [tx().envelope], orderer);
      await refused(b, /does not chain/);
    });

    it('refuses a block whose data hash does not match its data', async () => {
      const b = nextBlock([tx().envelope]);
      b.getData()?.setDataList([tx().envelope]);
      await refused(b, /data hash/);
    });

    it('refuses a block not signed by an orderer of the channel', async () => {
      await refused(nextBlock([tx().envelope], null), /BlockValidation/);
      await refused(nextBlock([tx().envelope], h1.client()), /BlockValidation/);
      await refused(
        nextBlock([tx().envelope], TestCa.root('ca.orderer').identity('OrdererMSP', 'orderer')),
        /BlockValidation/,
      );
      // The orderer's signature of another block at this height: it covers that block's header.
      const signed = nextBlock([tx().envelope]);
      const other = nextBlock([tx().envelope], null);
      const signatures = getMetadata(signed, common.BlockMetadataIndex.SIGNATURES);
      setMetadata(other, common.BlockMetadataIndex.SIGNATURES, signatures);
      expect(() => validator.checkBlock(signed, ledger.height())).not.toThrow();
      expect(() => validator.checkBlock(other, ledger.height())).toThrow(BlockInvalidError);
      await refused(other, /BlockValidation/);
    });

    it('refuses a block with the wrong number, skips one already committed, and goes on', async () => {
      const ahead = ordererBlock(
        ledger.height() + 1,
        ledger.headerHash(ledger.height() - 1) as Uint8Array,
        [],
        orderer,
      );
      await expect(committer.commit(ahead.serializeBinary())).rejects.toThrow(/expected block/);
      const old = ledger.block(1) as Uint8Array;
      const height = ledger.height();
      await committer.commit(old);
      expect(ledger.height()).toBe(height);
      expect(await commit(tx().envelope)).toEqual([C.VALID]);
    });
  });
});
