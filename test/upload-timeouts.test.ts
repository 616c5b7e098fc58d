/** The named per-phase `timeouts` upload option: defaults, precedence, validation. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAirflashError } from '../src/core/errors.ts';
import { DEFAULTS, resolveTimeouts } from '../src/protocols/arduino-ota/model/timeouts.ts';
import { upload } from '../src/upload/index.ts';

describe('timeouts option', () => {
  it('each named wait sets its phase; the rest keep their defaults', () => {
    const t = resolveTimeouts({
      timeouts: { invitation: 300, invitationAttempts: 3, auth: 400, accept: 500, stall: 600, result: 700 },
    });
    assert.equal(t.attemptTimeoutMs, 300);
    assert.equal(t.inviteAttempts, 3);
    assert.equal(t.authTimeoutMs, 400);
    assert.equal(t.connectTimeoutMs, 500);
    assert.equal(t.stallTimeoutMs, 600);
    assert.equal(t.resultTimeoutMs, 700);
    assert.equal(t.connectMaxMs, DEFAULTS.connectMaxMs);
    assert.equal(t.reinvitePauseMs, DEFAULTS.reinvitePauseMs);
  });

  it('a flat option wins over the named one', () => {
    const t = resolveTimeouts({ stallTimeoutMs: 1234, timeouts: { stall: 99 } });
    assert.equal(t.stallTimeoutMs, 1234);
  });

  it('a negative or non-finite wait is BAD_ARGUMENT before anything is sent', async () => {
    await assert.rejects(
      upload({ host: '127.0.0.1', data: new Uint8Array(4), preflight: false, timeouts: { stall: -1 } }),
      (e: unknown) => isAirflashError(e, 'BAD_ARGUMENT') && /timeouts\.stall/.test((e as Error).message),
    );
    await assert.rejects(
      upload({
        host: '127.0.0.1',
        data: new Uint8Array(4),
        preflight: false,
        timeouts: { invitationAttempts: 0.5 },
      }),
      (e: unknown) => isAirflashError(e, 'BAD_ARGUMENT'),
    );
  });
});
