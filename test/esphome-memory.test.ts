/**
 * The ESPHome host's named budgets under `mock.timers` on the memory transport: a device that goes
 * silent after the handshake fails the ack wait at ESPHOME_TIMEOUTS.ackMs (160 s), not before, and
 * every listener is removed and the stream closed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it, mock } from 'node:test';
import { runAttempt } from '../src/protocols/esphome/host/attempt.ts';
import { ESPHOME_TIMEOUTS, type EsphomeObservation } from '../src/protocols/esphome/model/options.ts';
import { basicJournal } from '../src/protocols/journal.ts';
import type { PreparedImage } from '../src/protocols/types.ts';
import { MemoryStream, MemoryTransport } from '../src/transport/memory.ts';

const DATA = new Uint8Array(20_000).fill(0xe9);

function image(): PreparedImage {
  return {
    size: DATA.length,
    md5: createHash('md5').update(DATA).digest('hex'),
    head: DATA.subarray(0, 64),
    compressed: false,
    signedSubstituted: false,
    readOriginal: () => Promise.resolve(DATA),
    openOriginal: () => Promise.reject(new Error('not used')),
    open: () => [DATA],
  };
}

describe('esphome host budgets (memory transport)', () => {
  it('a silent device after the first blocks: TIMEOUT at 160 s, listeners removed', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const host = new MemoryStream({ address: '127.0.16.40', port: 3232 });
      const dev = new MemoryStream({ address: '127.0.16.41', port: 50000 });
      host.peerEnd = dev;
      dev.peerEnd = host;
      let got = 0;
      const steps: Array<[number, number[]]> = [
        [5, [0x00, 0x02]],
        [6, [0x48, 0x00, 0x41]],
        [11, [0x42]],
        [43, [0x43]],
      ];
      dev.on('data', (c) => {
        got += c.length;
        while (steps.length > 0 && got >= (steps[0] as [number, number[]])[0])
          dev.write(Uint8Array.from((steps.shift() as [number, number[]])[1]));
      });
      const transport = new MemoryTransport();
      transport.onConnect = () => host;
      const obs: EsphomeObservation = {
        protocol: 'esphome',
        host: 'x',
        port: 3232,
        stage: 'connect',
        bytesSent: 0,
        bytesAcked: 0,
      };
      let settled: unknown;
      const run = runAttempt({
        transport,
        address: '127.0.16.41',
        port: 3232,
        image: image(),
        timeScale: 1,
        journal: basicJournal('esphome', obs, undefined),
      }).then(
        () => (settled = 'ok'),
        (e: unknown) => (settled = e),
      );
      for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
      assert.equal(obs.stage, 'data');
      assert.equal(got - 43, 2 * 8192, 'two blocks in flight');
      assert.deepEqual(
        transport.connects.map((c) => c.noDelay),
        [true],
        'one connect, with TCP_NODELAY (no Nagle hold of the window)',
      );
      mock.timers.tick(ESPHOME_TIMEOUTS.ackMs - 1);
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      const outcome = (): unknown => settled;
      assert.equal(outcome(), undefined, 'still waiting just before the budget');
      mock.timers.tick(1);
      await run;
      const e = outcome() as { code?: string; message: string };
      assert.equal(e.code, 'TIMEOUT', String(e));
      assert.match(e.message, /160 s/);
      assert.equal(host.listenerCount(), 0, 'every listener removed');
      assert.equal(host.destroyed, true, 'the stream closed');
    } finally {
      mock.timers.reset();
    }
  });
});
