import { rmSync } from 'node:fs';
import { script } from './harness';

export default async function globalTeardown(): Promise<void> {
  await script('network.sh', 'clean');
  if (process.env.PHR_E2E_DIR) rmSync(process.env.PHR_E2E_DIR, { recursive: true, force: true });
}
