/**
 * An RFC 9562 version-8 (custom) UUID from the first 16 of `bytes`: their bits are the caller's,
 * only the version and the variant are set. `bytes` is not changed.
 */
export function uuidV8(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.subarray(0, 16));
  b[6] = ((b[6] as number) & 0x0f) | 0x80;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const x = b.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
