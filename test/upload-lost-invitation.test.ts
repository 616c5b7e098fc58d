import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { upload } from '../src/upload/index.ts';

// An invitation lost while the device reboots (or to datagram loss) is not "queued": when the
// device answers the next invitation at once, airflash answers that AUTH instead of waiting for
// AUTHs of invitations that never arrived (which cost minutes with a password).
test('a password upload right after a reboot: the lost invitation is not waited for', async () => {
  const dev = await startDevice({ core: 'esp32', address: '127.0.0.231', port: 0, password: 'pw' });
  try {
    const first = buildEsp32App({ chip: 'esp32', size: 40_000, seed: 1 });
    const second = buildEsp32App({ chip: 'esp32', size: 40_000, seed: 2 });
    const opts = { host: dev.address, port: dev.port, password: 'pw', attemptTimeoutMs: 1000 };
    const rebooting = dev.waitFor('reboot', undefined, 5000);
    await upload({ ...opts, data: first });
    await rebooting;
    // The device is rebooting now: the first invitation of this upload gets no answer.
    assert.equal(dev.state(), 'rebooting');
    const started = Date.now();
    const result = await upload({ ...opts, data: second });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(result.observation.sent.filter((d) => d.kind === 'invitation').length >= 2, true);
    assert.ok(seconds < 5, `took ${seconds} s`);
    const booted = await dev.waitFor('booted', undefined, 5000);
    assert.equal(booted.event === 'booted' && booted.md5, result.md5);
  } finally {
    await dev.close();
  }
});
