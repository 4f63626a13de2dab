import { hashSecret, verifySecret } from './secret-hash';

describe('secret hashes', () => {
  it('are salted scrypt hashes that verify only the secret they were made from', async () => {
    const a = await hashSecret('s3cret');
    const b = await hashSecret('s3cret');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('s3cret');
    await expect(verifySecret('s3cret', a)).resolves.toBe(true);
    await expect(verifySecret('s3cret ', a)).resolves.toBe(false);
    await expect(verifySecret('s3cret', 'plain')).resolves.toBe(false);
  });
});
