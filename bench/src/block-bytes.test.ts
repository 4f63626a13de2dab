import { common, msp, peer } from '@hyperledger/fabric-protos';
import { blockBytes, summarizeBlockBytes, TRANSACTION_PARTS, transactionBytes } from './block-bytes';

const bytes = (n: number, fill = 0x41) => new Uint8Array(n).fill(fill);

function identity(mspId: string, certLength: number): Uint8Array {
  const id = new msp.SerializedIdentity();
  id.setMspid(mspId);
  id.setIdBytes(bytes(certLength));
  return id.serializeBinary();
}

function signatureHeader(): Uint8Array {
  const sh = new common.SignatureHeader();
  sh.setCreator(identity('Hospital1MSP', 800));
  sh.setNonce(bytes(24));
  return sh.serializeBinary();
}

/** An endorser transaction as fabric-gateway and the peers assemble it, with parts of known sizes. */
function envelope(txId: string, sizes: { args: number[]; rwset: number; event: number; response: number }) {
  const ch = new common.ChannelHeader();
  ch.setType(common.HeaderType.ENDORSER_TRANSACTION);
  ch.setChannelId('phr');
  ch.setTxId(txId);
  const header = new common.Header();
  header.setChannelHeader(ch.serializeBinary());
  header.setSignatureHeader(signatureHeader());

  const input = new peer.ChaincodeInput();
  input.setArgsList(sizes.args.map((n) => bytes(n)));
  const spec = new peer.ChaincodeSpec();
  const ccId = new peer.ChaincodeID();
  ccId.setName('phr');
  spec.setChaincodeId(ccId);
  spec.setInput(input);
  const cis = new peer.ChaincodeInvocationSpec();
  cis.setChaincodeSpec(spec);
  const cpp = new peer.ChaincodeProposalPayload();
  cpp.setInput(cis.serializeBinary());

  const response = new peer.Response();
  response.setStatus(200);
  response.setPayload(bytes(sizes.response));
  const action = new peer.ChaincodeAction();
  action.setResults(bytes(sizes.rwset));
  action.setEvents(bytes(sizes.event));
  action.setResponse(response);
  action.setChaincodeId(ccId);
  const prp = new peer.ProposalResponsePayload();
  prp.setProposalHash(bytes(32));
  prp.setExtension$(action.serializeBinary());
  const endorsed = new peer.ChaincodeEndorsedAction();
  endorsed.setProposalResponsePayload(prp.serializeBinary());
  endorsed.setEndorsementsList(
    ['Hospital1MSP', 'Hospital2MSP'].map((m) => {
      const e = new peer.Endorsement();
      e.setEndorser(identity(m, 850));
      e.setSignature(bytes(71));
      return e;
    }),
  );
  const cap = new peer.ChaincodeActionPayload();
  cap.setChaincodeProposalPayload(cpp.serializeBinary());
  cap.setAction(endorsed);
  const ta = new peer.TransactionAction();
  ta.setHeader(signatureHeader());
  ta.setPayload(cap.serializeBinary());
  const tx = new peer.Transaction();
  tx.setActionsList([ta]);

  const payload = new common.Payload();
  payload.setHeader(header);
  payload.setData(tx.serializeBinary());
  const env = new common.Envelope();
  env.setPayload(payload.serializeBinary());
  env.setSignature(bytes(70));
  return { bytes: env.serializeBinary(), channelHeader: ch.serializeBinary().length };
}

function block(number: number, envelopes: Uint8Array[]): Uint8Array {
  const header = new common.BlockHeader();
  header.setNumber(number);
  header.setPreviousHash(bytes(32));
  header.setDataHash(bytes(32));
  const data = new common.BlockData();
  data.setDataList(envelopes);
  const sig = new common.MetadataSignature();
  const sh = new common.SignatureHeader();
  sh.setCreator(identity('OrdererMSP', 780));
  sh.setNonce(bytes(24));
  sig.setSignatureHeader(sh.serializeBinary());
  sig.setSignature(bytes(72));
  const signatures = new common.Metadata();
  signatures.setSignaturesList([sig]);
  const metadata = new common.BlockMetadata();
  metadata.setMetadataList([
    signatures.serializeBinary(),
    new Uint8Array(),
    bytes(envelopes.length, 0),
    bytes(0),
    bytes(34),
  ]);
  const b = new common.Block();
  b.setHeader(header);
  b.setData(data);
  b.setMetadata(metadata);
  return b.serializeBinary();
}

describe('transactionBytes', () => {
  it('takes an endorser transaction apart into parts that add up to its size', () => {
    const e = envelope('tx-1', { args: [26, 36, 20, 44, 2, 1, 20], rwset: 300, event: 150, response: 400 });
    const t = transactionBytes(e.bytes);
    expect(t.txId).toBe('tx-1');
    expect(t.bytes).toBe(e.bytes.length);
    expect(t.parts).toMatchObject({
      creatorCertificates: 1600,
      endorserCertificates: 1700,
      endorsementSignatures: 142,
      clientSignature: 70,
      proposalArgs: 149,
      readWriteSet: 300,
      chaincodeEvent: 150,
      responsePayload: 400,
      // channel header, 2 × (MSP id + nonce), 2 endorser MSP ids, proposal hash
      headers: e.channelHeader + 2 * (12 + 24) + 2 * 12 + 32,
    });
    expect(t.creatorCertificateCopies).toBe(2);
    expect(t.endorsements).toBe(2);
    expect(t.parts.protobufOverhead).toBeGreaterThan(0);
    // about 2–3 bytes of tag and length for each of some 50 fields and nested messages
    expect(t.parts.protobufOverhead).toBeLessThan(200);
    expect(TRANSACTION_PARTS.reduce((n, k) => n + t.parts[k], 0)).toBe(e.bytes.length);
  });
});

describe('blockBytes and summarizeBlockBytes', () => {
  const sizes = { args: [10], rwset: 100, event: 50, response: 20 };
  const a = envelope('a', sizes).bytes;
  const b = envelope('b', sizes).bytes;
  const c = envelope('c', sizes).bytes;

  it("counts a block's header and metadata apart from its transactions", () => {
    const raw = block(7, [a, b]);
    const bb = blockBytes(raw);
    expect(bb.number).toBe(7);
    expect(bb.bytes).toBe(raw.length);
    expect(bb.transactions.map((t) => t.txId)).toEqual(['a', 'b']);
    expect(bb.overhead.total).toBe(raw.length - a.length - b.length);
    expect(bb.overhead).toMatchObject({ ordererCertificates: 780, ordererSignatures: 72, transactionsFilter: 2 });
    expect(bb.overhead.header).toBeGreaterThan(64);
    expect(
      bb.overhead.header +
        bb.overhead.ordererCertificates +
        bb.overhead.ordererSignatures +
        bb.overhead.transactionsFilter +
        bb.overhead.other,
    ).toBe(bb.overhead.total);
  });

  it("shares each block's overhead among the transactions it holds, and counts only the ones asked for", () => {
    const b1 = blockBytes(block(1, [a, b]));
    const b2 = blockBytes(block(2, [c]));
    const b3 = blockBytes(block(3, [envelope('other', sizes).bytes]));
    const s = summarizeBlockBytes(
      [b1, b2, b3],
      new Map([
        ['a', { deliveries: 1, resources: 10 }],
        ['c', { deliveries: 3, resources: 30 }],
      ]),
    );
    expect(s).toMatchObject({ blocks: 2, transactions: 2, deliveries: 4, otherTransactions: 1, resources: 40 });
    const overhead = b1.overhead.total / 2 + b2.overhead.total;
    expect(s.totalBytes).toBeCloseTo(a.length + c.length + overhead, 9);
    // A transaction recording three deliveries counts as three deliveries, not one.
    expect(s.perDelivery).toBeCloseTo(s.totalBytes / 4, 9);
    expect(s.perResource).toBeCloseTo(s.totalBytes / 40, 9);
    expect(s.transactionPerDelivery.total).toBe((a.length + c.length) / 4);
    expect(s.blockOverheadPerDelivery.total).toBeCloseTo(overhead / 4, 9);
    expect(s.perResourceParts.readWriteSet).toBe(200 / 40);
    expect(s.perResourceParts.blockOverhead).toBeCloseTo(overhead / 40, 9);
    const perResourceSum =
      TRANSACTION_PARTS.reduce((n, k) => n + s.perResourceParts[k], 0) + s.perResourceParts.blockOverhead;
    expect(perResourceSum).toBeCloseTo(s.perResource, 9);
    // Two copies and two endorsements per transaction, shared by the 4 deliveries of 2 transactions.
    expect(s.creatorCertificateCopiesPerDelivery).toBe(1);
    expect(s.endorsementsPerDelivery).toBe(1);
  });
});
