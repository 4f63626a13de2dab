import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** A command-line option or file that is missing, unreadable or invalid: nothing was sent. */
export class CliConfigError extends Error {
  override readonly name = 'CliConfigError';
  readonly code = 'INVALID_CONFIG';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A PEM block of this label, e.g. CERTIFICATE. */
export const pemSchema = (label: string) =>
  z.string().includes(`-----BEGIN ${label}`, { message: `must be a PEM ${label}` });

export const privateKeyPemSchema = z
  .string()
  .regex(/-----BEGIN (EC |ENCRYPTED )?PRIVATE KEY-----/, 'must be a PEM private key');

export const httpsUrlSchema = z.url({ protocol: /^https$/, message: 'must be an https:// URL' });

/**
 * The contents of the file an option names.
 * @throws CliConfigError when it cannot be read, naming the option.
 */
export function readOptionFile(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliConfigError(`--${flag}: cannot read ${file}`, { cause: err });
  }
}

/**
 * The value, validated.
 * @throws CliConfigError with zod's readable account of what is wrong.
 */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new CliConfigError(z.prettifyError(result.error));
  return result.data;
}
