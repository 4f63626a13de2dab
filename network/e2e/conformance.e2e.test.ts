/**
 * Conformance: the Fabric behaviours this project relies on, observed only through Fabric's own
 * clients (fabric-gateway, fabric-ca-client, qscc) so that the same file runs against real Fabric
 * and against the embedded network. What the project's code assumes of the ledger is here, each
 * with its own test; fabric-wire-facts.md section 6 lists where each is relied on.
 */
import { generateKeyPairSync, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  EndorseError,
  GatewayError,
  type ChaincodeEvent,
  type Proposal,
  type Transaction,
} from '@hyperledger/fabric-gateway';
import { common, gateway as gatewayProtos, peer } from '@hyperledger/fabric-protos';
import { newPseudonym, type DeliveryHistoryEntry, type Page, type DeliveryRecord } from '@phr/common';
import { script, state, until } from './harness';
import {
  blockAt,
  caKeyPem,
  chainInfo,
  dataHash,
  forgedIdentity,
  headerHash,
  rawGateway,
  transactionsOf,
  type RawGateway,
} from './fabric';

const C = peer.TxValidationCode;
const utf8 = (b: Uint8Array) => Buffer.from(b).toString('utf8');
const root = () => randomBytes(32).toString('hex');
const x25519 = () => generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

async function refusal(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected the gateway to refuse');
}
/** Every text a gateway error carries: its message and each endorser's or orderer's detail. */
const texts = (e: GatewayError) => [e.message, ...e.details.map((d) => d.message)].join(' | ');

/**
 * The grant was committed on the submitting gateway's peer; the other organisation's peer, which
 * endorses too, may apply that block a moment later and until then evaluates the pull without the
 * consent (the endorsements then differ: ABORTED). What this test checks happens at commit, so the
 * endorsement is simply asked again until both peers have the grant.
 */
async function endorsedOnceAllPeersHaveIt(make: () => Proposal): Promise<Transaction> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await make().endorse();
    } catch (err) {
      if (attempt === 20 || !(err instanceof EndorseError)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

describe('conformance: the Fabric behaviours the project relies on', () => {
  const open: RawGateway[] = [];
  const gw = (org: string, identity: string, peerHospital: string) => {
    const g = rawGateway(state().identity(org, identity), peerHospital);
    open.push(g);
    return g;
  };
  let h1: RawGateway;
  let h2: RawGateway;
  let patient: RawGateway;
  let clinician: RawGateway;
  const pseudonym = newPseudonym();
  const commitments = (g: RawGateway) => g.network.getContract('phr', 'Commitments');

  beforeAll(async () => {
    await script('enroll.sh', 'patients', 'conf-patient', 'patient');
    await script('enroll.sh', 'hospital2', 'conf-doctor', 'clinician');
    h1 = gw('hospital1', 'gateway', 'hospital1');
    h2 = gw('hospital2', 'gateway', 'hospital2');
    patient = gw('patients', 'conf-patient', 'hospital1');
    clinician = gw('hospital2', 'conf-doctor', 'hospital2');
    await patient.network
      .getContract('phr', 'PatientRegistry')
      .submitTransaction('Register', pseudonym, x25519(), 'X25519');
  });

  afterAll(() => open.forEach((g) => g.close()));

  const record = (g: RawGateway, id = `conf-${randomUUID()}`) =>
    commitments(g).newProposal('RecordDelivery', { arguments: [id, pseudonym, root(), '3', '1', '["laboratory"]'] });

  describe('identities: creators and endorsers are checked against each organisation CA, with NodeOUs', () => {
    it('refuses a proposal whose certificate no CA of the channel issued', async () => {
      const forged = rawGateway(
        await forgedIdentity('Hospital1MSP', { ou: 'client', role: 'hospital-gateway' }),
        'hospital1',
      );
      open.push(forged);
      const err = await refusal(forged.network.getContract('phr', 'PatientRegistry').evaluateTransaction('WhoAmI'));
      expect(texts(err)).toMatch(/access denied|creator/i);
      await refusal(record(forged).endorse());
    });

    it('refuses a certificate from the right CA that carries no NodeOU role', async () => {
      const issuer = {
        keyPem: caKeyPem('hospital1'),
        certPem: readFileSync(join(state().dir, 'orgs', 'hospital1', 'ca', 'ca-cert.pem'), 'utf8'),
      };
      const noRole = rawGateway(
        await forgedIdentity('Hospital1MSP', { role: 'hospital-gateway', issuer }),
        'hospital1',
      );
      const asClient = rawGateway(
        await forgedIdentity('Hospital1MSP', { ou: 'client', role: 'hospital-gateway', issuer }),
        'hospital1',
      );
      open.push(noRole, asClient);
      // The control: the same CA and attribute, with OU=client, is a valid creator.
      expect(
        JSON.parse(utf8(await asClient.network.getContract('phr', 'PatientRegistry').evaluateTransaction('WhoAmI'))),
      ).toMatchObject({
        mspId: 'Hospital1MSP',
        role: 'hospital-gateway',
      });
      const err = await refusal(noRole.network.getContract('phr', 'PatientRegistry').evaluateTransaction('WhoAmI'));
      expect(texts(err)).toMatch(/access denied|creator|OU/i);
    });

    it('refuses an identity whose NodeOU the channel policy does not admit (a peer as a writer)', async () => {
      const peerAsClient = gw('hospital1', 'peer0', 'hospital1');
      const err = await refusal(record(peerAsClient).endorse());
      expect(texts(err)).toMatch(/access denied|Writers|policy/i);
    });

    it('checks endorser signatures at commit: an altered endorsement fails the endorsement policy', async () => {
      const tx = await record(h1).endorse();
      const prepared = gatewayProtos.PreparedTransaction.deserializeBinary(tx.getBytes());
      const envelope = prepared.getEnvelope();
      if (!envelope) throw new Error('no envelope');
      const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
      const transaction = peer.Transaction.deserializeBinary(payload.getData_asU8());
      const action = transaction.getActionsList()[0] as peer.TransactionAction;
      const cap = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
      const endorsed = cap.getAction() as peer.ChaincodeEndorsedAction;
      const [first, ...rest] = endorsed.getEndorsementsList();
      if (!first) throw new Error('no endorsement');
      const sig = Buffer.from(first.getSignature_asU8());
      sig.writeUInt8((sig.readUInt8(sig.length - 1) ^ 0x01) & 0xff, sig.length - 1);
      first.setSignature(sig);
      endorsed.setEndorsementsList([first, ...rest]);
      cap.setAction(endorsed);
      action.setPayload(cap.serializeBinary());
      transaction.setActionsList([action]);
      payload.setData(transaction.serializeBinary());
      envelope.setPayload(payload.serializeBinary());
      envelope.setSignature(new Uint8Array());
      prepared.setEnvelope(envelope);
      // The client signs the altered payload itself: only the endorsement is wrong.
      const altered = h1.gateway.newTransaction(prepared.serializeBinary());
      const status = await (await altered.submit()).getStatus();
      expect(status.code).toBe(C.ENDORSEMENT_POLICY_FAILURE);
    });
  });

  it('evaluates the endorsement policy at commit: one hospital alone is ENDORSEMENT_POLICY_FAILURE and writes nothing', async () => {
    const id = `conf-${randomUUID()}`;
    const tx = await commitments(h1)
      .newProposal('RecordDelivery', {
        arguments: [id, pseudonym, root(), '3', '1', '[]'],
        endorsingOrganizations: ['Hospital1MSP'],
      })
      .endorse();
    const status = await (await tx.submit()).getStatus();
    expect(status.code).toBe(C.ENDORSEMENT_POLICY_FAILURE);
    expect(status.blockNumber).toBeGreaterThan(0n);
    expect(texts(await refusal(commitments(h2).evaluateTransaction('ReadDelivery', id)))).toMatch(/NOT_FOUND/);
  });

  it('MVCC: of two transactions endorsed on the same state, the second commits as MVCC_READ_CONFLICT', async () => {
    const id = `conf-${randomUUID()}`;
    const r = root();
    const args = [id, pseudonym, r, '3', '1', '[]'];
    const a = await commitments(h1).newProposal('RecordDelivery', { arguments: args }).endorse();
    const b = await commitments(h2)
      .newProposal('RecordDelivery', { arguments: [id, pseudonym, root(), '3', '1', '[]'] })
      .endorse();
    const first = await (await a.submit()).getStatus();
    const second = await (await b.submit()).getStatus();
    expect(first.code).toBe(C.VALID);
    expect(second.code).toBe(C.MVCC_READ_CONFLICT);
    expect(JSON.parse(utf8(await commitments(h2).evaluateTransaction('ReadDelivery', id)))).toMatchObject({
      merkleRoot: r,
    });
  });

  it('phantom reads: a range read that gained a key before commit is PHANTOM_READ_CONFLICT', async () => {
    const consent = patient.network.getContract('phr', 'Consent');
    const grant = (id: string) =>
      consent.submitTransaction(
        'GrantConsent',
        id,
        JSON.stringify({ kind: 'organization', id: 'Hospital2MSP' }),
        JSON.stringify({ categories: ['laboratory'], codes: [] }),
        '["TREAT"]',
        new Date(Date.now() - 60_000).toISOString(),
        new Date(Date.now() + 3_600_000).toISOString(),
      );
    await grant(randomUUID());
    // RecordAccess scans the patient's consents (a partial composite key range) to decide the pull.
    const proposal = () =>
      clinician.network.getContract('phr', 'AccessLog').newProposal('RecordAccess', {
        arguments: [
          JSON.stringify({
            eventId: randomUUID(),
            pseudonym,
            action: 'pull',
            outcome: 'success',
            purpose: 'TREAT',
            scope: { categories: ['laboratory'], codes: [] },
            queryHash: root(),
          }),
        ],
      });
    const pull = await endorsedOnceAllPeersHaveIt(proposal);
    await grant(randomUUID()); // a new key inside the scanned range
    expect((await (await pull.submit()).getStatus()).code).toBe(C.PHANTOM_READ_CONFLICT);
  });

  describe('transaction ids', () => {
    it("refuses to endorse a committed proposal again, with Fabric's wording", async () => {
      const proposal = record(h1);
      const status = await (await (await proposal.endorse()).submit()).getStatus();
      expect(status.code).toBe(C.VALID);
      const again = h1.gateway.newProposal(proposal.getBytes());
      const err = await refusal(again.endorse());
      expect(texts(err)).toMatch(new RegExp(`duplicate transaction found \\[${proposal.getTransactionId()}\\]`));
    });

    it('refuses it also when the first one committed as invalid', async () => {
      const proposal = commitments(h1).newProposal('RecordDelivery', {
        arguments: [`conf-${randomUUID()}`, pseudonym, root(), '3', '1', '[]'],
        endorsingOrganizations: ['Hospital1MSP'],
      });
      expect((await (await (await proposal.endorse()).submit()).getStatus()).code).toBe(C.ENDORSEMENT_POLICY_FAILURE);
      const err = await refusal(h1.gateway.newProposal(proposal.getBytes()).endorse());
      expect(texts(err)).toMatch(/duplicate transaction found/);
    });

    it('commits a second copy as DUPLICATE_TXID, and CommitStatus reports the first', async () => {
      const tx = await record(h1).endorse();
      const signed = tx.getBytes();
      const first = await tx.submit();
      const copy = h1.gateway.newTransaction(signed);
      const second = await copy.submit();
      const [s1, s2] = [await first.getStatus(), await second.getStatus()];
      expect(s1.code).toBe(C.VALID);
      expect(s2.code).toBe(C.VALID); // CommitStatus answers for the transaction id: the first copy
      expect(s2.blockNumber).toBe(s1.blockNumber);
      // Both copies are in the chain; the later one is marked DUPLICATE_TXID.
      const copies = await until(
        'both copies in blocks',
        async () => {
          const found: number[] = [];
          const { height } = await chainInfo(h1.network);
          for (let n = Number(s1.blockNumber); n < height; n++) {
            for (const t of transactionsOf(await blockAt(h1.network, n))) {
              if (t.txId === tx.getTransactionId()) found.push(t.code);
            }
          }
          return found.length >= 2 ? found : undefined;
        },
        15_000,
      );
      expect(copies).toEqual([C.VALID, C.DUPLICATE_TXID]);
    });
  });

  it("keeps each key's history newest first, with the transaction id and its timestamp", async () => {
    const id = `conf-${randomUUID()}`;
    const recorded = await commitments(h1)
      .newProposal('RecordDelivery', { arguments: [id, pseudonym, root(), '3', '1', '[]'] })
      .endorse();
    await (await recorded.submit()).getStatus();
    const ack = await patient.network
      .getContract('phr', 'Commitments')
      .newProposal('AcknowledgeDelivery', { arguments: [id] })
      .endorse();
    await (await ack.submit()).getStatus();
    const history = JSON.parse(
      utf8(await commitments(h2).evaluateTransaction('DeliveryHistory', id)),
    ) as DeliveryHistoryEntry[];
    expect(history.map((h) => [h.status, h.txId])).toEqual([
      ['complete', ack.getTransactionId()],
      ['waiting', recorded.getTransactionId()],
    ]);
    const [later, earlier] = history.map((h) => Date.parse(h.timestamp));
    expect(later).toBeGreaterThanOrEqual(earlier as number);
    expect(Math.abs((earlier as number) - Date.now())).toBeLessThan(120_000);
  });

  it('pages range queries with bookmarks as the shim expects', async () => {
    const ids = Array.from({ length: 7 }, (_, i) => `conf-page-${pseudonym}-${i}`);
    for (const id of ids)
      await commitments(h1).submitTransaction('RecordDelivery', id, pseudonym, root(), '3', '1', '[]');
    const list = patient.network.getContract('phr', 'Commitments');
    const seen: string[] = [];
    let bookmark = '';
    const pages: number[] = [];
    for (let i = 0; i < 20; i++) {
      const page = JSON.parse(
        utf8(await list.evaluateTransaction('ListDeliveries', pseudonym, '3', bookmark)),
      ) as Page<DeliveryRecord>;
      pages.push(page.records.length);
      seen.push(...page.records.map((r) => r.deliveryId));
      if (!page.bookmark) break;
      expect(page.bookmark).not.toBe(bookmark);
      bookmark = page.bookmark;
    }
    expect(pages.every((n) => n <= 3)).toBe(true);
    expect(pages.slice(0, -1).every((n) => n === 3)).toBe(true);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of ids) expect(seen).toContain(id);
  });

  it('replays chaincode events from a start block, valid transactions only, then follows live commits', async () => {
    const start = (await chainInfo(h1.network)).height;
    const valid = await commitments(h1)
      .newProposal('RecordDelivery', { arguments: [`conf-${randomUUID()}`, pseudonym, root(), '3', '1', '[]'] })
      .endorse();
    await (await valid.submit()).getStatus();
    const invalid = await commitments(h1)
      .newProposal('RecordDelivery', {
        arguments: [`conf-${randomUUID()}`, pseudonym, root(), '3', '1', '[]'],
        endorsingOrganizations: ['Hospital1MSP'],
      })
      .endorse();
    expect((await (await invalid.submit()).getStatus()).code).toBe(C.ENDORSEMENT_POLICY_FAILURE);

    const events = await h2.network.getChaincodeEvents('phr', { startBlock: BigInt(start) });
    const seen: ChaincodeEvent[] = [];
    const live = commitments(h1).newProposal('RecordDelivery', {
      arguments: [`conf-${randomUUID()}`, pseudonym, root(), '3', '1', '[]'],
    });
    try {
      let submittedLive = false;
      for await (const e of events) {
        seen.push(e);
        if (e.transactionId === valid.getTransactionId() && !submittedLive) {
          submittedLive = true;
          await (await (await live.endorse()).submit()).getStatus();
        }
        if (e.transactionId === live.getTransactionId()) break;
      }
    } finally {
      events.close();
    }
    const txIds = seen.map((e) => e.transactionId);
    expect(txIds).toContain(valid.getTransactionId());
    expect(txIds).not.toContain(invalid.getTransactionId());
    expect(txIds.indexOf(valid.getTransactionId())).toBeLessThan(txIds.indexOf(live.getTransactionId()));
    expect(seen.every((e) => e.chaincodeName === 'phr' && e.blockNumber >= BigInt(start))).toBe(true);
    const delivered = seen.find((e) => e.transactionId === valid.getTransactionId());
    expect(delivered?.eventName).toBe('DeliveryRecorded');
    expect(JSON.parse(utf8(delivered?.payload ?? new Uint8Array()))).toMatchObject({ pseudonym, status: 'waiting' });
  });

  it("answers qscc GetChainInfo with the height and the last block's header hash", async () => {
    const info = await chainInfo(h1.network);
    expect(info.height).toBeGreaterThan(1);
    const last = await blockAt(h1.network, info.height - 1);
    const before = await blockAt(h1.network, info.height - 2);
    expect(info.current).toEqual(headerHash(last.getHeader()!));
    expect(info.previous).toEqual(headerHash(before.getHeader()!));
  });

  it('writes Fabric common.Block messages, hash-chained, and every peer commits every block', async () => {
    await commitments(h1).submitTransaction(
      'RecordDelivery',
      `conf-${randomUUID()}`,
      pseudonym,
      root(),
      '3',
      '1',
      '[]',
    );
    const height = await until(
      'both peers at the same height',
      async () => {
        const [a, b] = [await chainInfo(h1.network), await chainInfo(h2.network)];
        return a.height === b.height ? a.height : undefined;
      },
      30_000,
    );
    let previous: Buffer | undefined;
    for (let n = 0; n < height; n++) {
      const [a, b] = [await blockAt(h1.network, n), await blockAt(h2.network, n)];
      const header = a.getHeader()!;
      expect(header.getNumber()).toBe(n);
      expect(Buffer.from(header.getDataHash_asU8())).toEqual(dataHash(a));
      if (previous) expect(Buffer.from(header.getPreviousHash_asU8())).toEqual(previous);
      else expect(header.getPreviousHash_asU8().length).toBe(0);
      previous = headerHash(header);
      // Same block on both peers: same header, same transactions, same validation codes.
      expect(headerHash(b.getHeader()!)).toEqual(previous);
      expect(transactionsOf(b)).toEqual(transactionsOf(a));
      if (n > 0) expect(transactionsOf(a).length).toBeGreaterThan(0);
    }
  });

  it('issues certificates through fabric-ca-client: registration by token, enrollment from a CSR, the type as NodeOU', async () => {
    const id = `conf-ca-${Date.now()}`;
    await script('enroll.sh', 'hospital1', id, 'researcher');
    const cert = new X509Certificate(state().identity('hospital1', id).certificatePem);
    expect(cert.subject).toMatch(/OU=client/);
    expect(cert.subject).toMatch(new RegExp(`CN=${id}`));
    const who = gw('hospital1', id, 'hospital1');
    expect(
      JSON.parse(utf8(await who.network.getContract('phr', 'PatientRegistry').evaluateTransaction('WhoAmI'))),
    ).toMatchObject({
      role: 'researcher',
      mspId: 'Hospital1MSP',
    });
  });
});
