import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** The script gateway.sh and `make bench` take a gateway's Node.js flags from. */
const SCRIPT = join(__dirname, '..', 'scripts', 'gateway-node-flags.sh');

function flags(env: NodeJS.ProcessEnv): string {
  return execFileSync(SCRIPT, { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' }).trim();
}

describe('gateway-node-flags.sh', () => {
  it('gives the young generation 32 MiB semi-spaces, and on this machine flags Node.js accepts', () => {
    const chosen = flags({});
    expect(chosen.split(' ')).toContain('--max-semi-space-size=32');
    // A flag Node.js refuses would stop every gateway at start-up.
    expect(() => execFileSync(process.execPath, [...chosen.split(' '), '-e', '0'], { stdio: 'pipe' })).not.toThrow();
  });

  it('lets PHR_GATEWAY_NODE_FLAGS replace the choice, even with nothing', () => {
    expect(flags({ PHR_GATEWAY_NODE_FLAGS: '--no-maglev' })).toBe('--no-maglev');
    expect(flags({ PHR_GATEWAY_NODE_FLAGS: '' })).toBe('');
  });
});
