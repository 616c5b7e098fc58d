/**
 * The forum thread airflash exists for (issue 11): PlatformIO passes `upload_flags = --auth=PW
 * --port=8266` as ONE argument to an ESP32 that listens on 3232, with `delay(30000)` in loop()
 * and a password. Uploaded through the CLI with PlatformIO's espota argv and default options, it
 * must succeed, boot the image, and name both fixes. A wrong port that the OS refuses (ICMP port
 * unreachable) is acted on within the first attempt.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isAirflashError } from '../src/core/errors.ts';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App, buildEsp8266Sketch } from '../src/formats/index.ts';
import { type UploadObservation, upload } from '../src/upload/index.ts';
import { bootedMd5 } from './helpers/browser.ts';
import { runCliInMemory } from './helpers/cli-io.ts';

const dir = mkdtempSync(join(tmpdir(), 'airflash-forum-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const firmware = join(dir, 'firmware.bin');
writeFileSync(firmware, buildEsp32App({ size: 120_000, seed: 77 }));
const sketch = buildEsp8266Sketch({ size: 80_000, seed: 78 });
const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

describe('the forum thread', () => {
  it('ESP32 on 3232 with a password and delay(30000), PlatformIO one-line upload_flags "--auth=PW --port=8266": updated, both fixes named', async () => {
    // The emulator's 30 s loop runs at 1:10 (3 s); the uploader keeps its default options.
    const dev = await startDevice({
      core: 'esp32',
      address: '127.0.7.10',
      password: 'PW',
      loopMs: 30_000,
      timeScale: 0.1,
    });
    try {
      assert.equal(dev.port, 3232);
      const argv = ['--auth=PW --port=8266', '--debug', '--progress', '-i', dev.address, '-f', firmware];
      const r = await runCliInMemory(argv);
      const out = r.stdout + r.stderr;
      assert.equal(r.code, 0, out);
      assert.equal(await bootedMd5(dev, md5(readFileSync(firmware))), md5(readFileSync(firmware)));
      assert.match(out, /A single argument holds several options; read it as "--auth=\*\*\*" "--port=8266"/);
      assert.match(out, /an ESP32, which listens on 3232/);
      // Fix 1: the port, as the exact upload_flags lines.
      assert.match(out, /upload_flags =\n {4}--auth=PASSWORD\n {4}--port=3232/);
      // Fix 2: the delay in loop().
      assert.match(
        out,
        /loop\(\) calls ArduinoOTA\.handle\(\) only about every [\d.]+ s; call it more often \(no long delay\(\) in loop\(\)\)/,
      );
      assert.ok(!out.includes('PW --port'), 'the password is never echoed');
    } finally {
      await dev.close();
    }
  });

  it('a port the OS refuses is left within the first attempt: self-corrects in under 2 s of airflash time', async () => {
    const dev = await startDevice({ core: 'esp32', address: '127.0.7.11', password: 'pw' });
    try {
      const r = await upload({ host: dev.address, port: 8266, password: 'pw', data: readFileSync(firmware) });
      assert.equal(r.port, 3232);
      const refused = r.observation.portRefused ?? [];
      assert.deepEqual(
        refused.map((p) => p.port),
        [8266],
      );
      assert.ok((refused[0]?.at ?? Infinity) < 2000, `refusal seen at ${refused[0]?.at} ms`);
      assert.equal(r.observation.invitationsSent >= 2, true);
      assert.deepEqual(r.observation.portCorrection?.given, 8266);
      assert.ok(r.warnings.some((w) => w.code === 'WRONG_PORT' && w.message.includes('--port=3232')));
    } finally {
      await dev.close();
    }
  });

  it('an ESP8266 sketch sent to 3232 while the device listens on 8266: warned and corrected', async () => {
    const dev = await startDevice({ core: 'esp8266', address: '127.0.7.12' });
    try {
      const r = await upload({ host: dev.address, port: 3232, data: sketch });
      assert.equal(r.port, 8266);
      assert.ok(
        r.warnings.some(
          (w) => w.code === 'PORT_FAMILY_MISMATCH' && /ESP8266, which listens on 8266/.test(w.message),
        ),
      );
      assert.ok(r.warnings.some((w) => w.code === 'WRONG_PORT' && w.message.includes('--port=8266')));
      assert.ok(!r.warnings.some((w) => w.message.includes('--auth')), 'no password, no --auth line');
    } finally {
      await dev.close();
    }
  });

  it('nothing listens anywhere: fails in under 2 s with the refusals as evidence (CLI, with the diagnosis)', async () => {
    const r = await runCliInMemory(['upload', '-i', '127.0.7.13', '-p', '8266', '-f', firmware, '--json']);
    assert.equal(r.code, 1);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as {
      code: string;
      seconds: number;
      diagnosis: { causes: Array<{ id: string; evidence: string[] }> };
    };
    assert.equal(result.code, 'NO_INVITATION_REPLY');
    assert.ok(result.seconds < 2, `took ${result.seconds} s`);
    const top = result.diagnosis.causes[0];
    assert.equal(top?.id, 'OTA_NOT_RUNNING');
    assert.ok(
      top.evidence.some((e) => /port unreachable/.test(e) && /8266/.test(e) && /3232/.test(e)),
      JSON.stringify(top),
    );
  });

  it('the library fails the same way without a follow-up', async () => {
    const t0 = performance.now();
    const e = await upload({ host: '127.0.7.14', port: 3232, data: readFileSync(firmware) }).catch(
      (x: unknown) => x,
    );
    assert.ok(isAirflashError(e, 'NO_INVITATION_REPLY'));
    const obs = e.data['observation'] as UploadObservation;
    assert.deepEqual(
      obs.portRefused?.map((p) => p.port),
      [3232],
    );
    assert.ok(performance.now() - t0 < 2000);
  });
});
