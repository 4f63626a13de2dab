/** Protobuf wire helpers for the few places where exact bytes are forwarded without re-encoding. */

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

/** A length-delimited field (wire type 2): tag, length, bytes. */
export function bytesField(fieldNumber: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([varint((fieldNumber << 3) | 2), varint(bytes.length), bytes]);
}

/** Reads a varint at `at`; returns the value and the offset after it. */
function readVarint(buf: Uint8Array, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  let i = at;
  for (;;) {
    const b = buf[i++];
    if (b === undefined) throw new Error('truncated varint');
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [value, i];
    scale *= 128;
  }
}

/**
 * The top-level fields of a message as raw values: varints as numbers, length-delimited fields as
 * the exact bytes. Used where a message's embedded bytes must be kept as they are.
 */
export function readFields(buf: Uint8Array): Map<number, (number | Uint8Array)[]> {
  const out = new Map<number, (number | Uint8Array)[]>();
  let at = 0;
  while (at < buf.length) {
    const [tag, next] = readVarint(buf, at);
    at = next;
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    let v: number | Uint8Array;
    if (wire === 0) {
      [v, at] = readVarint(buf, at);
    } else if (wire === 2) {
      const [len, start] = readVarint(buf, at);
      v = buf.subarray(start, start + len);
      at = start + len;
    } else if (wire === 1) {
      v = buf.subarray(at, at + 8);
      at += 8;
    } else if (wire === 5) {
      v = buf.subarray(at, at + 4);
      at += 4;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
    const list = out.get(field) ?? [];
    list.push(v);
    out.set(field, list);
  }
  return out;
}
