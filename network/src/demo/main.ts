#!/usr/bin/env node
/**
 * `make demo`: the whole mission in one command, on the running network (either engine). A new
 * patient each run; every claim checked against the network before it is printed; exit 1 with the
 * step and the reason when one does not hold.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defaultStateDir, defaultTopologyFile, NetworkState } from '../network-state';
import { errorText } from './deadline';
import { HospitalDesk } from './hospital-desk';
import { duration } from './narration';
import { Narrator } from './narrator';
import { createRunFolder } from './run-folder';
import { StepFailure, Story } from './story';

/** The whole run may take this long; each wait inside has its own, shorter deadline. */
const RUN_DEADLINE_MS = 10 * 60_000;
const ROOT = resolve(__dirname, '..', '..', '..');

/** Which engine runs the network, as network-up recorded it (folders from before engine.env ran Fabric). */
function engineName(state: NetworkState): string {
  const engine = state.engine() ?? (existsSync(join(state.dir, 'fabric.env')) ? 'fabric' : undefined);
  return engine === 'embedded'
    ? 'the embedded network'
    : engine === 'fabric'
      ? 'Hyperledger Fabric'
      : 'an unknown engine';
}

async function main(): Promise<number> {
  const started = Date.now();
  const n = new Narrator(process.stdout, process.stdout.isTTY === true);
  const topologyFile = defaultTopologyFile();
  const stateDir = defaultStateDir();
  const watchdog = setTimeout(() => {
    n.failure(`the demo did not finish within ${duration(RUN_DEADLINE_MS)}; stopping.`);
    process.exit(1);
  }, RUN_DEADLINE_MS);
  watchdog.unref();

  let state: NetworkState;
  try {
    state = NetworkState.load(topologyFile, stateDir);
  } catch (err) {
    n.failure(
      `cannot read the network (${topologyFile}, ${stateDir}): ${errorText(err)}. Start it with 'make network-up'.`,
    );
    return 1;
  }
  const hospitals = state.topology.hospitals;
  n.title('PHR Ledger: the whole mission, played on the running network');
  n.fact(
    'network',
    `channel ${state.topology.channel}, ${hospitals.map((h) => h.name).join(' and ')}, on ${engineName(state)}`,
  );
  for (const h of hospitals) {
    const desk = new HospitalDesk(state, h);
    const up = await desk.healthy();
    await desk.close();
    if (!up) {
      n.failure(
        `${h.name}'s gateway at ${desk.url} does not answer: is the network up? Start it with 'make network-up'.`,
      );
      return 1;
    }
  }
  const run = createRunFolder(state.dir);
  n.fact('this run', `${run.id}: a new patient, agent home ${run.agentHome}`);

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PHR_ROOT: ROOT,
    PHR_STATE: state.dir,
    PHR_TOPOLOGY: topologyFile,
    NODE_OPTIONS: '--no-deprecation',
  };
  let story: Story | undefined;
  try {
    story = new Story({ state, run, narrator: n, env });
    await story.play();
  } catch (err) {
    if (err instanceof StepFailure) n.failure(`step ${err.step} (${err.title}): ${err.message}`);
    else n.failure(errorText(err));
    n.say(`This run's files: ${run.dir}; the network's logs: ${join(state.dir, 'logs')}.`);
    return 1;
  } finally {
    await story?.close().catch(() => undefined);
  }

  n.blank();
  n.title(`Done in ${duration(Date.now() - started)}: every step above was checked against the network.`);
  n.say("Open this patient's page (records, access log, consents, notifications) with:");
  n.blank();
  n.item(story.uiCommand);
  n.blank();
  n.say(
    'It prints the address to browse to (http://127.0.0.1:8765 unless --port says otherwise); Ctrl-C stops it. ' +
      'The passphrase stays in its file (mode 0600).',
  );
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
    // gRPC and HTTP pools are closed; nothing should keep the process, but a demo never hangs.
    setTimeout(() => process.exit(code), 3_000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`demo: ${errorText(err)}\n`);
    process.exit(1);
  },
);
