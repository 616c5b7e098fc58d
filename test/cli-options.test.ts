/**
 * The one option-spec reader of upload, fleet and emulate (src/cli/options.ts `readOptions`):
 * values under the library option each sets, seconds in milliseconds, number rules from the table.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fleetEntry, parseEmulateArgs } from '../src/cli/commands/emulate.ts';
import { parseUploadArgs } from '../src/cli/espota-args.ts';
import { FLEET_OPTIONS } from '../src/cli/fleet-options.ts';
import { type OptionSpec, readOptions } from '../src/cli/options.ts';
import { isAirflashError } from '../src/core/errors.ts';

function usageError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => isAirflashError(e, 'BAD_ARGUMENT') && pattern.test(e.message));
}

const SPECS = [
  { long: 'wait', to: 'waitMs', kind: 'number', positive: true, seconds: true, help: 'h' },
  { long: 'count', kind: 'number', integer: true, min: 1, help: 'h' },
  { long: 'port', kind: 'number', integer: true, min: 1, max: 65535, help: 'h' },
  { long: 'tag', kind: 'string', repeatable: true, help: 'h' },
  { long: 'mode', kind: 'string', choices: ['a', 'b'], help: 'h' },
  { long: 'dry', to: 'dryRun', kind: 'flag', help: 'h' },
] as const satisfies readonly OptionSpec[];

describe('readOptions', () => {
  it('keys each value by the option it sets, seconds as milliseconds, repeatable as a list', () => {
    const { values, positionals } = readOptions(
      ['--wait', '2.5', '--count=3', '--tag', 'x', '--tag', 'y', '--mode', 'b', '--dry', 'rest'],
      SPECS,
      { command: 't' },
    );
    assert.deepEqual(values, { waitMs: 2500, count: 3, tag: ['x', 'y'], mode: 'b', dryRun: true });
    assert.deepEqual(positionals, ['rest']);
  });

  it('checks the number rules of the table as it reads', () => {
    const read = (argv: string[]) => readOptions(argv, SPECS, { command: 't' });
    usageError(() => read(['--wait', '0']), /--wait must be more than 0, not 0/);
    usageError(() => read(['--count', '1.5']), /--count must be a whole number of at least 1, not 1.5/);
    usageError(() => read(['--count', '0']), /--count must be a whole number of at least 1, not 0/);
    usageError(() => read(['--port', '70000']), /--port must be a port number \(1-65535\), not 70000/);
    assert.equal(read(['--port', '65535']).values.port, 65535);
  });

  it('upload: the same rules hold at parse time (a port, a wait above 0, whole counts)', () => {
    usageError(() => parseUploadArgs(['-p', '0']), /port number/);
    usageError(() => parseUploadArgs(['--result-timeout', '0']), /--result-timeout must be more than 0/);
    usageError(() => parseUploadArgs(['--attempts', '0']), /--attempts must be a whole number of at least 1/);
    assert.equal(parseUploadArgs(['--host_port', '0']).values.host_port, 0);
  });

  it('fleet: waits in milliseconds under the library names, counts checked', () => {
    const { values } = readOptions(
      ['--target', 'a', '--stall-timeout', '4', '--max-failures', '2', '--parallel', '3'],
      FLEET_OPTIONS,
      { command: 'upload' },
    );
    assert.equal(values.stallTimeoutMs, 4000);
    assert.equal(values.maxFailures, 2);
    assert.equal(values.parallel, 3);
    assert.deepEqual(values.target, ['a']);
    usageError(
      () => readOptions(['--parallel', '0'], FLEET_OPTIONS, { command: 'upload' }),
      /--parallel must be a whole number of at least 1/,
    );
    usageError(
      () => readOptions(['--probe-timeout', '-1'], FLEET_OPTIONS, { command: 'upload' }),
      /--probe-timeout must be more than 0/,
    );
  });

  it('emulate: the command line and the fleet file read the one table', () => {
    const { base, fleetFile, json } = parseEmulateArgs([
      '--core',
      'esp8266',
      '--loop-ms',
      '40',
      '--fault',
      'drop@50',
      '--fault',
      'stall@10',
      '--state',
      'dir',
      '--fleet',
      'f.json',
      '--json',
    ]);
    assert.deepEqual(base, { core: 'esp8266', loopMs: 40, faults: ['drop@50', 'stall@10'], stateDir: 'dir' });
    assert.equal(fleetFile, 'f.json');
    assert.equal(json, true);
    // A fleet entry takes the CLI name or the DeviceOptions name of the same option.
    assert.deepEqual(
      fleetEntry({ 'loop-ms': '40', udpLoss: 0.1, faults: ['drop@1'], state: 's', mdns: true }, 0),
      {
        loopMs: 40,
        udpLoss: 0.1,
        faults: ['drop@1'],
        stateDir: 's',
        mdns: true,
      },
    );
    assert.throws(
      () => fleetEntry({ fleet: 'x' }, 0),
      (e: unknown) => isAirflashError(e, 'CONFIG_INVALID'),
    );
    assert.throws(
      () => fleetEntry({ 'loop-ms': 'soon' }, 1),
      /fleet entry 2 "loop-ms": soon is not a number/,
    );
  });
});
