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

test('instanceof: any AirflashError by its brand, a subclass only by its prototype', async () => {
  const { UploadError } = await import('../src/protocols/upload-error.ts');
  const { PortRefusedError } = await import('../src/protocols/arduino-ota/host/handshake-errors.ts');
  const plain = new AirflashError('NO_INVITATION_REPLY', 'no answer');
  const refused = new PortRefusedError([8266], 'port unreachable');
  const failed = new UploadError(plain, { protocol: 'x' }, 'invite', 'x');
  assert.ok(refused instanceof AirflashError && failed instanceof AirflashError);
  assert.ok(refused instanceof PortRefusedError && failed instanceof UploadError);
  // The bug this guards: the brand check was inherited, so every AirflashError was "a PortRefusedError".
  assert.equal(plain instanceof PortRefusedError, false);
  assert.equal(plain instanceof UploadError, false);
  assert.equal(refused instanceof UploadError, false);
  // A copy of the package (another class with the same brand) is still an AirflashError.
  const foreign = Object.defineProperty(new Error('x'), Symbol.for('airflash.error'), { value: true });
  assert.ok(foreign instanceof AirflashError);
});
