import { generateKeyPairSync } from 'node:crypto';
import { recoveryCheckCode } from './recovery-messages';

const spki = () => generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

describe('recoveryCheckCode', () => {
  it('is six digits, the same for the same request and key', () => {
    const key = spki();
    const code = recoveryCheckCode('rq-1234-5678', key);
    expect(code).toMatch(/^\d{3}-\d{3}$/);
    expect(recoveryCheckCode('rq-1234-5678', key)).toBe(code);
  });

  it('changes with the key or the request, so a request opened by someone else shows other digits', () => {
    const key = spki();
    const codes = new Set([
      recoveryCheckCode('rq-1234-5678', key),
      ...Array.from({ length: 20 }, () => recoveryCheckCode('rq-1234-5678', spki())),
      recoveryCheckCode('rq-1234-5679', key),
    ]);
    // 22 draws from a million: a repeat would be a one-in-four-thousand accident, not a design.
    expect(codes.size).toBeGreaterThanOrEqual(21);
  });
});
