/**
 * Two uploaders aimed at one device: never both succeed, the device boots either its old image or
 * the winner's (never a mix), and the loser gets one specific code. A device busy with an update
 * does not answer invitations at all (ESP32 queues them in lwIP and drops the queue when it
 * reboots into the new image; ESP8266 reads and drops them, protocol.md §5), so the loser's
 * invitations go unanswered: NO_INVITATION_REPLY once its invitation budget runs out while the
 * device is still busy. (A loser whose budget outlasts the winner's update and reboot is answered by
 * the rebooted device and updates it in turn — a second, sequential update, not a race.)
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { isAirflashError } from '../src/core/errors.ts';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App, buildEsp8266Sketch } from '../src/formats/index.ts';
import { type UploadOptions, upload } from '../src/upload/index.ts';

const SCALE = 0.5;
const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Each uploader's invitation budget (2 × 100 ms) is shorter than the winner's update (≥ 0.5 s here). */
const BUDGET: Partial<UploadOptions> = { timeScale: SCALE, inviteAttempts: 2, attemptTimeoutMs: 100 };

interface Outcome {
  name: 'A' | 'B';
  ok: boolean;
  code?: string;
}

let host = 0;

for (const core of ['esp32', 'esp8266'] as const) {
  const build = core === 'esp8266' ? buildEsp8266Sketch : buildEsp32App;
  const A = build({ size: 128 * 1024, seed: 41 });
  const B = build({ size: 128 * 1024, seed: 42 });

  describe(`two uploaders, one ${core}`, () => {
    for (const start of ['together', 'B 5 ms later', 'B when A is sending'] as const) {
      for (const password of [undefined, 'shared secret']) {
        it(`${start}${password ? ', with a password' : ''}: one wins, the loser gets NO_INVITATION_REPLY`, async () => {
          const dev = await startDevice({
            core,
            address: `127.0.4.${10 + host++}`,
            port: 0,
            timeScale: SCALE,
            ...(password ? { password } : {}),
          });
          try {
            const old = dev.runningImageMd5();
            const run = async (name: 'A' | 'B', data: Uint8Array): Promise<Outcome> => {
              try {
                await upload({
                  host: dev.address,
                  port: dev.port,
                  data,
                  ...BUDGET,
                  ...(password ? { password } : {}),
                });
                return { name, ok: true };
              } catch (error) {
                assert.ok(isAirflashError(error), String(error));
                return { name, ok: false, code: error.code };
              }
            };
            const first = run('A', A);
            if (start === 'B 5 ms later') await sleep(5);
            if (start === 'B when A is sending')
              await dev.waitFor('progress', (e) => e.event === 'progress' && e.bytes > 0, 5000);
            const results = await Promise.all([first, run('B', B)]);
            const winners = results.filter((r) => r.ok);
            const losers = results.filter((r) => !r.ok);
            assert.equal(winners.length, 1, `exactly one wins: ${JSON.stringify(results)}`);
            assert.deepEqual(
              losers.map((l) => l.code),
              ['NO_INVITATION_REPLY'],
            );
            const winner = (winners[0] as Outcome).name === 'A' ? A : B;
            await dev.waitFor('booted', (e) => e.event === 'booted' && e.md5 === md5(winner), 5000);
            const now = dev.runningImageMd5();
            assert.ok(
              now === md5(winner) || now === old,
              'the device boots the winner’s image or its old one',
            );
            assert.equal(now, md5(winner));
            assert.equal(dev.counters.updatesCompleted, 1, 'the device completed exactly one update');
            if (start === 'B when A is sending') assert.equal((winners[0] as Outcome).name, 'A');
          } finally {
            await dev.close();
          }
        });
      }
    }
  });
}
