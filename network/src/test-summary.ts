import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface JestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests?: number;
  notRun?: string;
  testResults?: { assertionResults?: { status: string; fullName: string }[] }[];
}

/**
 * Prints one line per suite file and the closing "N passed, N failed" line CI reads. A suite that
 * could not run says why; tests not run (those only the other engine can run) are named.
 */
let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  const name = basename(file, '.json');
  if (!existsSync(file)) {
    process.stdout.write(`${name}: no results (${file} missing)\n`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8')) as JestJson;
  if (r.notRun) {
    process.stdout.write(`${name}: NOT RUN: ${r.notRun.split('\n').at(-1) ?? ''}\n`);
    continue;
  }
  const pending = (r.testResults ?? []).flatMap((t) =>
    (t.assertionResults ?? []).filter((a) => a.status === 'pending'),
  );
  process.stdout.write(
    `${name}: ${r.numPassedTests} passed, ${r.numFailedTests} failed${pending.length ? `, ${pending.length} not run` : ''}\n`,
  );
  for (const p of pending) process.stdout.write(`  not run here: ${p.fullName}\n`);
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests ?? 0;
}
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} not run` : ''}\n`);
process.exit(failed > 0 ? 1 : 0);
