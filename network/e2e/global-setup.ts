import { writeFileSync } from 'node:fs';
import { script, makeTestNetworkDir } from './harness';

export default async function globalSetup(): Promise<void> {
  const net = await makeTestNetworkDir();
  process.env.PHR_TOPOLOGY = net.topology;
  process.env.PHR_STATE = net.state;
  process.env.PHR_E2E_DIR = net.dir;
  const started = Date.now();
  try {
    await script('network.sh', 'up');
  } catch (err) {
    await script('network.sh', 'clean').catch(() => undefined);
    throw err;
  }
  process.stdout.write(`\ne2e network up in ${((Date.now() - started) / 1000).toFixed(1)}s (state ${net.state})\n`);
  // `make test` starts the unit tests once this exists (they would slow the network's start-up).
  const marker = process.env.PHR_E2E_UP_MARKER;
  if (marker) writeFileSync(marker, `${net.state}\n`);
}
