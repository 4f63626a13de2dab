import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ledger as ledgerProtos } from '@hyperledger/fabric-protos';
import type { ChaincodeInterface, ChaincodeStub } from 'fabric-shim';
import { PeerLedger, type StateWrite } from '../ledger/peer-ledger';
import { CHANNEL_ID, silentLogger } from '../testing/channel';
import { freePort, shim, startChaincodeServer, type RunningChaincode } from '../testing/chaincode-server';
import { TestCa } from '../testing/pki';
import { proposal } from '../testing/transactions';
import { ChaincodeConnection, ChaincodeUnavailableError, ERROR_STREAM_TERMINATED } from './chaincode-connection';
import { TxSimulator } from './tx-simulator';

const NS = 'phr';

/** A chaincode written against the stub API the project's chaincode uses. */
const chaincode: ChaincodeInterface = {
  async Init() {
    return shim.success();
  },
  async Invoke(stub: ChaincodeStub) {
    const json = (v: unknown) => shim.success(Buffer.from(JSON.stringify(v)));
    const { fcn, params } = stub.getFunctionAndParameters();
    const p = (i: number) => params[i] ?? '';
    try {
      switch (fcn) {
        case 'PutThenGet': {
          await stub.putState(p(0), Buffer.from(p(1)));
          return json({ read: Buffer.from(await stub.getState(p(0))).toString() });
        }
        case 'Range': {
          const keys: string[] = [];
          for await (const kv of stub.getStateByRange(p(0), p(1))) keys.push(kv.key);
          return json(keys);
        }
        case 'RangePage': {
          const { iterator, metadata } = await stub.getStateByRangeWithPagination(p(0), p(1), Number(p(2)), p(3));
          const keys: string[] = [];
          for (let r = await iterator.next(); !r.done; r = await iterator.next()) keys.push(r.value.key);
          await iterator.close();
          return json({ keys, metadata: metadata ?? null });
        }
        case 'CompositePage': {
          const { iterator, metadata } = await stub.getStateByPartialCompositeKeyWithPagination(
            p(0),
            [p(1)],
            Number(p(2)),
            p(3),
          );
          const keys: string[][] = [];
          for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
            keys.push(stub.splitCompositeKey(r.value.key).attributes);
          }
          await iterator.close();
          return json({ keys, bookmark: metadata?.bookmark ?? null, count: metadata?.fetchedRecordsCount ?? null });
        }
        case 'PageThenWrite': {
          await stub.getStateByRangeWithPagination('a', 'z', 5, '');
          await stub.putState('w', Buffer.from('x'));
          return shim.success();
        }
        case 'History': {
          const out: unknown[] = [];
          for await (const m of stub.getHistoryForKey(p(0))) {
            out.push([m.txId, Buffer.from(m.value).toString(), m.isDelete, Number(m.timestamp.seconds)]);
          }
          return json(out);
        }
        case 'Event': {
          stub.setEvent('First', Buffer.from('ignored'));
          stub.setEvent(p(0), Buffer.from(p(1)));
          return shim.success(Buffer.from('done'));
        }
        case 'WhoAmI': {
          const cid = new shim.ClientIdentity(stub);
          return json({
            mspId: cid.getMSPID(),
            creatorMsp: stub.getCreator().mspid,
            role: cid.getAttributeValue('phr.role'),
            txId: stub.getTxID(),
            channel: stub.getChannelID(),
            seconds: Number(stub.getTxTimestamp().seconds),
            args: stub.getArgs(),
          });
        }
        case 'Wait':
          await new Promise((r) => setTimeout(r, Number(p(0))).unref());
          return shim.success(Buffer.from(p(1)));
        default:
          throw new Error(`FORBIDDEN: ${p(0) || `unknown function ${fcn}`}`);
      }
    } catch (err) {
      return shim.error(err instanceof Error ? err.message : String(err));
    }
  },
};

describe('ChaincodeConnection with fabric-shim', () => {
  let dir: string;
  const ca = TestCa.root('ca.hospital1');
  const creator = ca.identity('Hospital1MSP', 'client', { attributes: { 'phr.role': 'doctor' } });
  let server: RunningChaincode;
  let connection: ChaincodeConnection;
  let ledger: PeerLedger;

  const commit = (number: number, values: [string, string, string][], seconds = 1_700_000_000) => {
    const writes: StateWrite[] = values.map(([key, value, txId], txNum) => ({
      ns: NS,
      key,
      value: Buffer.from(value),
      txNum,
      txId,
      seconds: seconds + number,
      nanos: 0,
    }));
    ledger.commit({
      number,
      headerHash: Buffer.from(`h${number}`),
      bytes: Buffer.from(`b${number}`),
      txIds: [],
      writes,
    });
  };

  const invoke = async (args: string[], options: { timestamp?: Date } = {}) => {
    const p = proposal(creator, { args, ...options });
    const simulator = new TxSimulator(ledger, NS, p.txId);
    const result = await connection.execute({
      txId: p.txId,
      channelId: CHANNEL_ID,
      input: p.inputBytes,
      signedProposal: p.signed,
      simulator,
      timeoutMs: 10_000,
    });
    const payload = Buffer.from(result.response.getPayload_asU8()).toString();
    return { result, simulator, txId: p.txId, payload, json: () => JSON.parse(payload) as unknown };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'phr-cc-'));
    server = await startChaincodeServer(chaincode, ca);
    connection = new ChaincodeConnection(
      {
        chaincodeName: NS,
        packageId: server.packageId,
        address: server.address,
        tlsRequired: true,
        rootCertPem: server.rootCertPem,
        dialTimeoutMs: 5000,
      },
      silentLogger(),
    );
    ledger = new PeerLedger(join(dir, 'ledger.db'));
    commit(0, []);
    const composite = (...parts: string[]) => `\u0000${parts.join('\u0000')}\u0000`;
    commit(1, [
      ['k', 'committed', 'tx-k1'],
      ...Array.from({ length: 12 }, (_, i): [string, string, string] => [
        `r${String(i).padStart(2, '0')}`,
        'v',
        `tx-r${i}`,
      ]),
      ...['a', 'b', 'c'].map((x): [string, string, string] => [composite('Delivery', 'p1', x), 'd', `tx-d-${x}`]),
      [composite('Delivery', 'p2', 'z'), 'd', 'tx-d-z'],
    ]);
    commit(2, [['k', 'second', 'tx-k2']]);
    commit(3, [['k', '', 'tx-k3']]);
  });
  afterAll(() => {
    connection.close();
    server.stop();
    ledger.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes the signed proposal through: creator, attributes, transaction id and timestamp', async () => {
    const when = new Date('2026-03-01T10:00:00Z');
    const r = await invoke(['WhoAmI', 'x'], { timestamp: when });
    expect(r.result.response.getStatus()).toBe(200);
    expect(r.json()).toEqual({
      mspId: 'Hospital1MSP',
      creatorMsp: 'Hospital1MSP',
      role: 'doctor',
      txId: r.txId,
      channel: CHANNEL_ID,
      seconds: when.getTime() / 1000,
      args: ['WhoAmI', 'x'],
    });
  });

  it('a read after a write in the same transaction returns the committed value', async () => {
    commit(4, [['fresh', 'committed', 'tx-f']]);
    const r = await invoke(['PutThenGet', 'fresh', 'written']);
    expect(r.json()).toEqual({ read: 'committed' });
    const unknown = await invoke(['PutThenGet', 'nowhere', 'written']);
    expect(unknown.json()).toEqual({ read: '' });
    const rw = ledgerProtos.rwset.TxReadWriteSet.deserializeBinary(r.simulator.readWriteSet());
    const set = ledgerProtos.rwset.kvrwset.KVRWSet.deserializeBinary(
      rw.getNsRwsetList()[0]?.getRwset_asU8() as Uint8Array,
    );
    expect(set.getWritesList().map((w) => [w.getKey(), Buffer.from(w.getValue_asU8()).toString()])).toEqual([
      ['fresh', 'written'],
    ]);
    expect(set.getReadsList().map((x) => [x.getKey(), x.getVersion()?.getBlockNum()])).toEqual([['fresh', 4]]);
  });

  it('iterates a range as the stub sees it', async () => {
    expect((await invoke(['Range', 'r03', 'r06'])).json()).toEqual(['r03', 'r04', 'r05']);
    expect((await invoke(['Range', '', 'b'])).json()).toEqual(['a'].filter(() => false));
  });

  it('iterates a range of exactly 100 keys (one full batch) to its end', async () => {
    commit(
      ledger.height(),
      Array.from({ length: 100 }, (_, i): [string, string, string] => [
        `h${String(i).padStart(3, '0')}`,
        'v',
        `tx-h${i}`,
      ]),
    );
    const r = await invoke(['Range', 'h', 'i']);
    expect(r.result.response.getStatus()).toBe(200);
    expect((r.json() as string[]).length).toBe(100);
  });

  it('pages a range with the metadata fabric-shim hands to the contract', async () => {
    const page1 = (await invoke(['RangePage', 'r', 's', '5', ''])).json();
    expect(page1).toEqual({
      keys: ['r00', 'r01', 'r02', 'r03', 'r04'],
      metadata: { bookmark: 'r05', fetchedRecordsCount: 5 },
    });
    const last = (await invoke(['RangePage', 'r', 's', '5', 'r10'])).json();
    expect(last).toEqual({ keys: ['r10', 'r11'], metadata: { bookmark: '', fetchedRecordsCount: 2 } });
  });

  it('pages a partial composite key with a bookmark that holds \\u0000', async () => {
    const first = (await invoke(['CompositePage', 'Delivery', 'p1', '2', ''])).json() as { bookmark: string };
    expect(first).toMatchObject({
      keys: [
        ['p1', 'a'],
        ['p1', 'b'],
      ],
      count: 2,
    });
    expect(first.bookmark).toBe('\u0000Delivery\u0000p1\u0000c\u0000');
    const second = (await invoke(['CompositePage', 'Delivery', 'p1', '2', first.bookmark])).json();
    expect(second).toEqual({ keys: [['p1', 'c']], bookmark: '', count: 1 });
  });

  it("refuses a write after a paginated query; the stub's error arrives as status 500", async () => {
    const r = await invoke(['PageThenWrite']);
    expect(r.result.response.getStatus()).toBe(500);
    expect(r.result.response.getMessage()).toContain(
      'Transaction has already performed a paginated query. Writes are not allowed',
    );
  });

  it('returns a key’s history newest first with transaction ids and timestamps', async () => {
    expect((await invoke(['History', 'k'])).json()).toEqual([
      ['tx-k3', '', true, 1_700_000_003],
      ['tx-k2', 'second', false, 1_700_000_002],
      ['tx-k1', 'committed', false, 1_700_000_001],
    ]);
  });

  it('hands back the last event the chaincode set', async () => {
    const r = await invoke(['Event', 'DeliveryRecorded', '{"id":1}']);
    expect(r.result.response.getStatus()).toBe(200);
    expect(r.payload).toBe('done');
    expect(r.result.event?.getEventName()).toBe('DeliveryRecorded');
    expect(Buffer.from(r.result.event?.getPayload_asU8() ?? []).toString()).toBe('{"id":1}');
    expect((await invoke(['Range', 'x', 'y'])).result.event).toBeUndefined();
  });

  it('turns a thrown error into status 500 with its message', async () => {
    const r = await invoke(['Fail', 'consent required']);
    expect(r.result.response.getStatus()).toBe(500);
    expect(r.result.response.getMessage()).toBe('FORBIDDEN: consent required');
    expect(r.result.event).toBeUndefined();
  });

  it('runs different transactions at once on one stream, and refuses the same one twice', async () => {
    const slow = invoke(['Wait', '300', 'slow']);
    const fast = invoke(['Wait', '10', 'fast']);
    const order: string[] = [];
    await Promise.all([slow.then((r) => order.push(r.payload)), fast.then((r) => order.push(r.payload))]);
    expect(order).toEqual(['fast', 'slow']);

    const p = proposal(creator, { args: ['Wait', '200', 'once'] });
    const run = () =>
      connection.execute({
        txId: p.txId,
        channelId: CHANNEL_ID,
        input: p.inputBytes,
        signedProposal: p.signed,
        simulator: new TxSimulator(ledger, NS, p.txId),
        timeoutMs: 10_000,
      });
    const first = run();
    await expect(run()).rejects.toThrow(`txid: ${p.txId}(${CHANNEL_ID}) exists`);
    await expect(first).resolves.toBeDefined();
  });

  it('times out an execution that does not complete', async () => {
    const p = proposal(creator, { args: ['Wait', '2000', 'late'] });
    await expect(
      connection.execute({
        txId: p.txId,
        channelId: CHANNEL_ID,
        input: p.inputBytes,
        signedProposal: p.signed,
        simulator: new TxSimulator(ledger, NS, p.txId),
        timeoutMs: 100,
      }),
    ).rejects.toThrow(/timeout expired/);
  });
});

describe('ChaincodeConnection failures', () => {
  const ca = TestCa.root('ca.hospital1');
  const creator = ca.identity('Hospital1MSP', 'client');
  let dir: string;
  let ledger: PeerLedger;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'phr-cc-fail-'));
    ledger = new PeerLedger(join(dir, 'ledger.db'));
  });
  afterAll(() => {
    ledger.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const connect = (address: string, rootCertPem = ca.certificatePem) =>
    new ChaincodeConnection(
      { chaincodeName: NS, packageId: 'phr:x', address, tlsRequired: true, rootCertPem, dialTimeoutMs: 250 },
      silentLogger(),
    );
  const execute = (c: ChaincodeConnection, args: string[]) => {
    const p = proposal(creator, { args });
    return c.execute({
      txId: p.txId,
      channelId: CHANNEL_ID,
      input: p.inputBytes,
      signedProposal: p.signed,
      simulator: new TxSimulator(ledger, NS, p.txId),
      timeoutMs: 5000,
    });
  };

  it('reports an unreachable chaincode as unavailable', async () => {
    const c = connect(`127.0.0.1:${await freePort()}`);
    await expect(execute(c, ['WhoAmI'])).rejects.toThrow(ChaincodeUnavailableError);
    c.close();
  });

  it('reports a chaincode whose TLS certificate it does not trust as unavailable', async () => {
    const server = await startChaincodeServer(chaincode, ca);
    const c = connect(server.address, TestCa.root('ca.other').certificatePem);
    try {
      await expect(execute(c, ['WhoAmI'])).rejects.toThrow(ChaincodeUnavailableError);
    } finally {
      c.close();
      server.stop();
    }
  });

  it('fails a running transaction when the stream breaks, then connects again', async () => {
    const server = await startChaincodeServer(chaincode, ca);
    const c = connect(server.address);
    try {
      await expect(execute(c, ['Wait', '1', 'warm'])).resolves.toBeDefined();
      const running = execute(c, ['Wait', '5000', 'never']);
      await new Promise((r) => setTimeout(r, 100));
      server.stop();
      await expect(running).rejects.toThrow(ERROR_STREAM_TERMINATED);
      const again = await startChaincodeServer(chaincode, ca, server.packageId);
      const c2 = connect(again.address);
      try {
        expect(Buffer.from((await execute(c2, ['Wait', '1', 'back'])).response.getPayload_asU8()).toString()).toBe(
          'back',
        );
      } finally {
        c2.close();
        again.stop();
      }
    } finally {
      c.close();
    }
  });
});
