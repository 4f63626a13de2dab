import 'reflect-metadata';
import { createHash, createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { connect, hash, type Gateway, type Network } from '@hyperledger/fabric-gateway';
import { common } from '@hyperledger/fabric-protos';
import * as x509 from '@peculiar/x509';
import * as asn1js from 'asn1js';
import { newEcdsaSigner, type LedgerIdentity } from '@phr/ledger-client';
import { state } from './harness';

/** The engine this run's network uses, as network-up recorded it. */
export function engine(): 'fabric' | 'embedded' {
  const e = state().engine();
  if (!e) throw new Error('the test network has no engine.env');
  return e;
}

export interface RawGateway {
  gateway: Gateway;
  network: Network;
  close(): void;
}

/**
 * fabric-gateway itself, without our LedgerClient: proposals, transactions and commits can be
 * taken apart, re-signed and replayed. Connects to a hospital's peer as `identity`.
 */
export function rawGateway(identity: LedgerIdentity, peerHospital: string): RawGateway {
  const s = state();
  const peer = s.peer(peerHospital);
  const client = new grpc.Client(peer.address, grpc.credentials.createSsl(Buffer.from(peer.tlsRootCertPem)));
  const deadline = (ms: number) => () => ({ deadline: Date.now() + ms });
  const gateway = connect({
    client,
    identity: { mspId: identity.mspId, credentials: Buffer.from(identity.certificatePem) },
    signer: newEcdsaSigner(identity.privateKeyPem),
    hash: hash.none,
    evaluateOptions: deadline(10_000),
    endorseOptions: deadline(20_000),
    submitOptions: deadline(10_000),
    commitStatusOptions: deadline(60_000),
  });
  return {
    gateway,
    network: gateway.getNetwork(s.topology.channel),
    close: () => {
      gateway.close();
      client.close();
    },
  };
}

/** qscc GetChainInfo. */
export async function chainInfo(network: Network): Promise<{ height: number; current: Buffer; previous: Buffer }> {
  const bytes = await network.getContract('qscc').evaluateTransaction('GetChainInfo', network.getName());
  const info = common.BlockchainInfo.deserializeBinary(bytes);
  return {
    height: info.getHeight(),
    current: Buffer.from(info.getCurrentblockhash_asU8()),
    previous: Buffer.from(info.getPreviousblockhash_asU8()),
  };
}

/** qscc GetBlockByNumber, decoded with fabric-protos. */
export async function blockAt(network: Network, n: number): Promise<common.Block> {
  const bytes = await network.getContract('qscc').evaluateTransaction('GetBlockByNumber', network.getName(), String(n));
  return common.Block.deserializeBinary(bytes);
}

/**
 * A block header's hash as Fabric computes it: SHA-256 of the DER of SEQUENCE { INTEGER number,
 * OCTET STRING previous_hash, OCTET STRING data_hash }. Written here with asn1js, independently of
 * the embedded network's own code, so that the chain check can catch a mistake in either.
 */
export function headerHash(header: common.BlockHeader): Buffer {
  const der = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: header.getNumber() }),
      new asn1js.OctetString({ valueHex: header.getPreviousHash_asU8() }),
      new asn1js.OctetString({ valueHex: header.getDataHash_asU8() }),
    ],
  }).toBER(false);
  return createHash('sha256').update(Buffer.from(der)).digest();
}

export function dataHash(block: common.Block): Buffer {
  return createHash('sha256')
    .update(Buffer.concat((block.getData()?.getDataList_asU8() ?? []).map((d) => Buffer.from(d))))
    .digest();
}

/** Transaction ids of a block with their validation codes (TRANSACTIONS_FILTER). */
export function transactionsOf(block: common.Block): { txId: string; code: number }[] {
  const filter =
    block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER] ?? new Uint8Array();
  return (block.getData()?.getDataList_asU8() ?? []).map((env, i) => {
    const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(env).getPayload_asU8());
    const ch = common.ChannelHeader.deserializeBinary(payload.getHeader()?.getChannelHeader_asU8() ?? new Uint8Array());
    return { txId: ch.getTxId(), code: filter[i] ?? -1 };
  });
}

/** The private key of an organisation's CA, read from its home (both engines keep it in msp/keystore). */
export function caKeyPem(org: string): string {
  const home = join(state().dir, 'orgs', org, 'ca');
  const caCert = new X509Certificate(readFileSync(join(home, 'ca-cert.pem')));
  const keystore = join(home, 'msp', 'keystore');
  for (const f of readdirSync(keystore)) {
    try {
      const pem = readFileSync(join(keystore, f), 'utf8');
      if (caCert.checkPrivateKey(createPrivateKey(pem))) return pem;
    } catch {
      // not a PEM private key (fabric-ca also keeps idemix keys here)
    }
  }
  throw new Error(`no key for ${org}'s CA certificate in ${keystore}`);
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/**
 * A client certificate made outside the CA: signed by `issuer` (a CA key and certificate, or a
 * fresh self-made CA when undefined), with the given OU and `phr.role` attribute. For refusals.
 */
export async function forgedIdentity(
  mspId: string,
  options: { ou?: string; role?: string; issuer?: { keyPem: string; certPem: string } },
): Promise<LedgerIdentity> {
  const subtle = webcrypto.subtle;
  let issuerKey: webcrypto.CryptoKey;
  let issuerName: string;
  if (options.issuer) {
    const der = Buffer.from(options.issuer.keyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    issuerKey = await subtle.importKey('pkcs8', der, ALG, false, ['sign']);
    issuerName = new x509.X509Certificate(options.issuer.certPem).subject;
  } else {
    const ca = await subtle.generateKey(ALG, true, ['sign', 'verify']);
    issuerKey = ca.privateKey;
    issuerName = 'CN=ca.forged';
  }
  const keys = await subtle.generateKey(ALG, true, ['sign', 'verify']);
  const attrs = options.role ? JSON.stringify({ attrs: { 'phr.role': options.role } }) : undefined;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 16),
    subject: `${options.ou ? `OU=${options.ou}, ` : ''}CN=forged-${Date.now()}`,
    issuer: issuerName,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: issuerKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      ...(attrs ? [new x509.Extension('1.2.3.4.5.6.7.8.1', false, Buffer.from(attrs))] : []),
    ],
  });
  const pkcs8 = Buffer.from(await subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  return {
    mspId,
    certificatePem: cert.toString('pem'),
    privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)?.join('\n')}\n-----END PRIVATE KEY-----\n`,
  };
}

/** Every block of the channel, as its bytes (qscc GetBlockByNumber), from the genesis block on. */
export async function allBlocks(g: RawGateway): Promise<Buffer[]> {
  const qscc = g.network.getContract('qscc');
  const channel = g.network.getName();
  const { height } = await chainInfo(g.network);
  const blocks: Buffer[] = [];
  for (let n = 0; n < height; n++) {
    blocks.push(Buffer.from(await qscc.evaluateTransaction('GetBlockByNumber', channel, String(n))));
  }
  return blocks;
}
