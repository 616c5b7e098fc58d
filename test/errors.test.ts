import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AirflashError, exitCodeFor, isAirflashError, toAirflashError } from '../src/core/errors.ts';

test('AirflashError carries a stable code and maps to exit codes', () => {
  const e = new AirflashError('PREFLIGHT_NOT_APP', 'not an app', { hint: 'pick firmware.bin' });
  assert.equal(e.code, 'PREFLIGHT_NOT_APP');
  assert.ok(isAirflashError(e, 'PREFLIGHT_NOT_APP'));
  assert.equal(exitCodeFor(e), 3);
  assert.equal(exitCodeFor(new AirflashError('BAD_ARGUMENT', 'x')), 2);
  assert.equal(exitCodeFor(new AirflashError('INTERRUPTED', 'x')), 130);
  assert.equal(exitCodeFor(new AirflashError('AUTH_FAILED', 'x')), 1);
  assert.equal(exitCodeFor(new Error('plain')), 1);
  assert.equal(toAirflashError(new Error('boom')).code, 'INTERNAL');
  assert.deepEqual(e.toJSON(), {
    code: 'PREFLIGHT_NOT_APP',
    message: 'not an app',
    hint: 'pick firmware.bin',
  });
});
