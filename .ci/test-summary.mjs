#!/usr/bin/env node
// Reads the output of `npm test` (node:test, TAP or spec reporter) and fails unless tests ran,
// every one passed, and none was skipped, cancelled or left as todo. Usage:
//   node .ci/test-summary.mjs test.log
// Prints one summary line; exit 0 only for a clean run.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write('usage: node .ci/test-summary.mjs <npm test log>\n');
  process.exit(2);
}
const log = readFileSync(file, 'utf8');

/** The last `# name N` / `ℹ name N` line of the run's totals (undefined when absent). */
function total(name) {
  const matches = [...log.matchAll(new RegExp(`^(?:# |ℹ )${name} (\\d+)\\s*$`, 'gm'))];
  const last = matches.at(-1);
  return last === undefined ? undefined : Number(last[1]);
}

const counts = Object.fromEntries(
  ['tests', 'pass', 'fail', 'cancelled', 'skipped', 'todo'].map((name) => [name, total(name)]),
);
const shown = Object.entries(counts)
  .map(([k, v]) => `${k}=${v ?? 'none'}`)
  .join(' ');
const problems = [];
if (!counts.tests) problems.push('no test ran');
else if (counts.pass !== counts.tests) problems.push(`${counts.pass ?? 0} of ${counts.tests} passed`);
if (counts.fail) problems.push(`${counts.fail} failed`);
if (counts.cancelled) problems.push(`${counts.cancelled} cancelled`);
if (counts.skipped) problems.push(`${counts.skipped} skipped (a skipped test is not a pass in CI)`);
if (counts.todo) problems.push(`${counts.todo} todo`);
process.stdout.write(`ci: ${shown}\n`);
if (problems.length > 0) {
  process.stderr.write(`ci: ${problems.join('; ')}\n`);
  process.exit(1);
}
