import { join, resolve } from 'node:path';
import { check } from './deadline';
import { runCommand } from './run-command';

const SCRIPTS = resolve(__dirname, '..', '..', 'scripts');

/** What the doorman hands the patient: a one-time enrollment id and secret (the secret is never printed). */
export interface DoormanTicket {
  enrollmentId: string;
  enrollmentSecret: string;
}

/** The network's own scripts, run as a hospital's IT would run them, against the demo's network. */
export class NetworkScripts {
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly timeoutMs = 60_000,
  ) {}

  /** `register-patient.sh`: the patients' CA registers a new, meaningless enrollment id. */
  async registerPatient(): Promise<DoormanTicket> {
    const out = await this.run('register-patient.sh');
    let ticket: Partial<DoormanTicket>;
    try {
      ticket = JSON.parse(out) as Partial<DoormanTicket>;
    } catch {
      ticket = {};
    }
    check(
      typeof ticket.enrollmentId === 'string' && typeof ticket.enrollmentSecret === 'string',
      'register-patient.sh did not print an enrollment id and secret',
    );
    return { enrollmentId: ticket.enrollmentId, enrollmentSecret: ticket.enrollmentSecret };
  }

  /** `enroll.sh ORG NAME ROLE`: an identity from the organisation's CA; enrolling it again keeps the first. */
  async enroll(org: string, name: string, role: string): Promise<void> {
    await this.run('enroll.sh', org, name, role);
  }

  private run(script: string, ...args: string[]): Promise<string> {
    return runCommand(script, join(SCRIPTS, script), args, { env: this.env, timeoutMs: this.timeoutMs });
  }
}
