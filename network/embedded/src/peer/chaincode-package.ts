import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';

export interface ChaincodePackage {
  /** `label:hex(sha256(package bytes))`, as `peer lifecycle chaincode calculatepackageid` prints it. */
  packageId: string;
  label: string;
  type: string;
  /** connection.json of a chaincode-as-a-service package. */
  connection: { address: string; dial_timeout?: string; tls_required?: boolean; root_cert?: string };
}

export class ChaincodePackageError extends Error {
  override readonly name = 'ChaincodePackageError';
  readonly code = 'CHAINCODE_PACKAGE_INVALID';
}

async function untar(bytes: Uint8Array): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        if (header.type === 'file') files.set(header.name.replace(/^\.\//, ''), Buffer.concat(chunks));
        next();
      });
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(gunzipSync(bytes));
  await done;
  return files;
}

export function packageId(label: string, bytes: Uint8Array): string {
  return `${label}:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Reads a chaincode package (metadata.json + code.tar.gz) as the peer's ccaas external builder
 * does: only `ccaas` packages, whose code.tar.gz holds connection.json.
 *
 * @throws ChaincodePackageError when it is not a ccaas package.
 */
export async function readChaincodePackage(bytes: Uint8Array): Promise<ChaincodePackage> {
  let outer: Map<string, Buffer>;
  try {
    outer = await untar(bytes);
  } catch (err) {
    throw new ChaincodePackageError('the chaincode package is not a gzipped tar', { cause: err });
  }
  const metadata = outer.get('metadata.json');
  const code = outer.get('code.tar.gz');
  if (!metadata || !code) throw new ChaincodePackageError('the package lacks metadata.json or code.tar.gz');
  const meta = JSON.parse(metadata.toString('utf8')) as { type?: string; label?: string };
  if (meta.type !== 'ccaas' || !meta.label) {
    throw new ChaincodePackageError(`only chaincode-as-a-service packages run here (type ${meta.type ?? '?'})`);
  }
  const connection = (await untar(code)).get('connection.json');
  if (!connection) throw new ChaincodePackageError('code.tar.gz lacks connection.json');
  const conn = JSON.parse(connection.toString('utf8')) as ChaincodePackage['connection'];
  if (!conn.address) throw new ChaincodePackageError('connection.json has no address');
  return { packageId: packageId(meta.label, bytes), label: meta.label, type: meta.type, connection: conn };
}
