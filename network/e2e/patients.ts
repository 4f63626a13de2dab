/**
 * A patient as the e2e suites make one: registered by the doorman, its agent's keys made on the
 * device, its MRN linked at a hospital with the agent's one-time code.
 */
import { join } from 'node:path';
import { Agent as Dispatcher, request } from 'undici';
import { Agent, initAgent, loadProfile } from '@phr/mobile-agent';
import { gatewayUrl, script, state, until } from './harness';
import { TEST_KEYSTORE } from '@phr/test-support';

export interface LinkedAgent {
  pseudonym: string;
  /** Open; the caller closes it. */
  agent: Agent;
}

/**
 * Enrolls a new patient's agent in `home` and links `identifier` to it at `hospital` (the admin
 * posts the agent's one-time code). `name` only labels the error when the link is refused.
 */
export async function enrollLinkedAgent(o: {
  name: string;
  home: string;
  passphrase: string;
  hospital: string;
  identifier: { system: string; value: string };
  admin: Dispatcher;
}): Promise<LinkedAgent> {
  const reg = JSON.parse(await script('register-patient.sh')) as { enrollmentId: string; enrollmentSecret: string };
  const { pseudonym } = await initAgent({
    home: o.home,
    profile: loadProfile(join(state().dir, 'agent-profile.json')),
    passphrase: o.passphrase,
    keystore: TEST_KEYSTORE,
    enrollmentId: reg.enrollmentId,
    enrollmentSecret: reg.enrollmentSecret,
  });
  const agent = await Agent.open(o.home, o.passphrase);
  try {
    // The gateway reads the registry through its peer; right after registration it may need a moment.
    const { code } = await until('a link code', async () => agent.linkCode(o.hospital).catch(() => undefined), 30_000);
    const res = await request(`${gatewayUrl(o.hospital)}/identity/links`, {
      method: 'POST',
      dispatcher: o.admin,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identifier: o.identifier, code }),
    });
    await res.body.text();
    if (res.statusCode !== 201 && res.statusCode !== 200) {
      throw new Error(`linking ${o.name} answered ${res.statusCode}`);
    }
  } catch (err) {
    await agent.close();
    throw err;
  }
  return { pseudonym, agent };
}
