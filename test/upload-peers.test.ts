import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { isAirflashError } from '../src/core/errors.ts';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { type UploadEvent, type UploadObservation, upload } from '../src/upload/index.ts';
import { startFakeDevice } from './helpers/fake-ota-device.ts';

const image = buildEsp32App({ size: 40_000, seed: 51 });
const fast = {
  attemptTimeoutMs: 150,
  inviteAttempts: 2,
  connectTimeoutMs: 300,
  connectMaxMs: 300,
  stallTimeoutMs: 400,
};

async function failure(p: Promise<unknown>) {
  try {
    await p;
  } catch (error) {
    assert.ok(isAirflashError(error));
    return { error, observation: error.data['observation'] as UploadObservation };
  }
  return assert.fail('succeeded');
}

describe('upload() talks only to the device', () => {
  it('ignores an OK from another address', async () => {
    const dev = await startFakeDevice({
      address: '127.0.0.71',
      answerFromAddress: '127.0.0.72',
      noConnect: true,
    });
    try {
      const { error, observation } = await failure(
        upload({ host: dev.address, port: dev.port, data: image, ...fast }),
      );
      assert.equal(error.code, 'NO_INVITATION_REPLY');
      assert.ok(observation.received.length > 0);
      assert.ok(
        observation.received.every((r) => !r.fromDevice && r.from === '127.0.0.72' && r.use === 'ignored'),
      );
    } finally {
      await dev.close();
    }
  });

  it('refuses a connection from another address', async () => {
    const dev = await startFakeDevice({ address: '127.0.0.73', connectFrom: '127.0.0.74' });
    try {
      const { error, observation } = await failure(
        upload({ host: dev.address, port: dev.port, data: image, ...fast }),
      );
      assert.equal(error.code, 'NO_CONNECT_BACK');
      assert.equal(observation.connect?.refused[0]?.from, '127.0.0.74');
      assert.equal(observation.transfer, undefined);
    } finally {
      await dev.close();
    }
  });
});

describe('upload() options', () => {
  it('-P fixes the local TCP port and -I the local address', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const free = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const dev = await startDevice({ core: 'esp32', address: '127.0.0.75', port: 0, timeScale: 0.02 });
    try {
      const r = await upload({
        host: dev.address,
        port: dev.port,
        data: image,
        hostPort: free,
        hostIp: '127.0.0.1',
        timeScale: 0.02,
      });
      assert.equal(r.observation.local.tcpPort, free);
      assert.equal(r.observation.local.address, '127.0.0.1');
      assert.equal(r.observation.local.addressFrom, 'option');
    } finally {
      await dev.close();
    }
  });

  it('--retries repeats a failed upload (a cut), with a retry event', async () => {
    const dev = await startDevice({
      core: 'esp32',
      address: '127.0.0.76',
      port: 0,
      timeScale: 0.02,
      faults: ['drop@50'],
    });
    try {
      const events: UploadEvent[] = [];
      const r = await upload({
        host: dev.address,
        port: dev.port,
        data: image,
        retries: 2,
        timeScale: 0.02,
        onEvent: (e) => events.push(e),
      });
      assert.equal(r.attempts, 2);
      assert.deepEqual(
        r.observation.previousAttempts?.map((a) => a.code),
        ['INCOMPLETE'],
      );
      const retry = events.find((e) => e.type === 'retry');
      assert.ok(retry && retry.type === 'retry' && retry.code === 'INCOMPLETE' && retry.attempt === 1);
      assert.equal(dev.counters.updatesCompleted, 1);
    } finally {
      await dev.close();
    }
  });

  it('a wrong password is not retried', async () => {
    const dev = await startDevice({
      core: 'esp8266',
      address: '127.0.0.77',
      port: 0,
      timeScale: 0.02,
      password: 'a',
    });
    try {
      const events: UploadEvent[] = [];
      const { error } = await failure(
        upload({
          host: dev.address,
          port: dev.port,
          data: image,
          password: 'b',
          retries: 3,
          timeScale: 0.02,
          onEvent: (e) => events.push(e),
        }),
      );
      assert.equal(error.code, 'AUTH_FAILED');
      assert.equal(events.filter((e) => e.type === 'retry').length, 0);
      assert.equal(dev.counters.authAttempts, 1);
    } finally {
      await dev.close();
    }
  });
});
