import { signFabric } from '../crypto/ecdsa';
import { FabricCaError } from './errors';
import { makeCertificate } from './test-kit';
import { createAuthToken, tokenSigningString, verifyAuthToken } from './token-auth';

const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** The same signature with S replaced by n - S: valid ECDSA, refused by Fabric. */
function withHighS(der: Buffer): Buffer {
  const rLength = der[3] as number;
  const r = der.subarray(4, 4 + rLength);
  const s = BigInt(`0x${der.subarray(6 + rLength).toString('hex')}`);
  let high = Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex');
  if ((high[0] as number) >= 0x80) high = Buffer.concat([Buffer.from([0]), high]);
  return Buffer.concat([
    Buffer.from([0x30, r.length + high.length + 4, 2, r.length]),
    r,
    Buffer.from([2, high.length]),
    high,
  ]);
}

describe('token auth', () => {
  const { certificatePem, key } = makeCertificate('admin');
  const body = Buffer.from('{"id":"x","type":"client"}');

  it('signs METHOD.b64(uri).b64(body).b64(cert) and verifies over the same request', () => {
    const token = createAuthToken(certificatePem, key, 'POST', '/api/v1/register', body);
    const [b64Cert] = token.split('.');
    expect(Buffer.from(b64Cert ?? '', 'base64').toString()).toBe(certificatePem);
    expect(verifyAuthToken(token, 'POST', '/api/v1/register', body).subject).toContain('CN=admin');
    expect(tokenSigningString('GET', '/a', Buffer.alloc(0), 'Q0VSVA==')).toBe(
      `GET.${Buffer.from('/a').toString('base64')}..Q0VSVA==`,
    );
  });

  it.each([
    ['another body', 'POST', '/api/v1/register', Buffer.from('{"id":"x","type":"admin"}')],
    ['another path', 'POST', '/register', body],
    ['another method', 'PUT', '/api/v1/register', body],
    ['another query', 'POST', '/api/v1/register?ca=x', body],
  ])('refuses the token for %s with 401 and the generic message', (_what, method, uri, sent) => {
    const token = createAuthToken(certificatePem, key, 'POST', '/api/v1/register', body);
    expect(() => verifyAuthToken(token, method, uri, sent)).toThrow(
      expect.objectContaining({ status: 401, code: 25, remoteCode: 20, remoteMessage: 'Authentication failure' }),
    );
  });

  it('refuses malformed tokens', () => {
    for (const token of ['', 'a.b.c', 'bm90IGEgY2VydA==.AAAA', '!!.??']) {
      expect(() => verifyAuthToken(token, 'POST', '/register', body)).toThrow(FabricCaError);
    }
  });

  it('refuses a high-S signature, as BCCSP does, though the low-S twin passes', () => {
    const b64Cert = Buffer.from(certificatePem).toString('base64');
    const signature = signFabric(key, Buffer.from(tokenSigningString('POST', '/register', body, b64Cert)));
    expect(verifyAuthToken(`${b64Cert}.${signature.toString('base64')}`, 'POST', '/register', body)).toBeDefined();
    const high = withHighS(signature).toString('base64');
    expect(() => verifyAuthToken(`${b64Cert}.${high}`, 'POST', '/register', body)).toThrow(FabricCaError);
  });
});
