/**
 * The fleet gets the same diagnosis as `airflash upload` (issue 11): the follow-up that re-asks
 * other ports runs for a fleet device too, so a wrong port is named with the port that answered.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { runCliInMemory } from './helpers/cli-io.ts';

const dir = mkdtempSync(join(tmpdir(), 'airflash-diag-fleet-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'firmware.bin');
writeFileSync(file, buildEsp32App({ size: 40_000, seed: 9 }));

describe('fleet diagnosis', () => {
  it('an ESP32 that listens on 8266, invited on 3232: the fleet result names port 8266 (follow-up ran)', async () => {
    const dev = await startDevice({ core: 'esp32', address: '127.0.9.1', port: 8266, timeScale: 0.05 });
    try {
      const r = await runCliInMemory([
        'upload',
        '--target',
        `${dev.address}:3232`,
        '-f',
        file,
        '--no-probe',
        '--retries',
        '0',
        '--time-scale',
        '0.05',
        '--json',
      ]);
      assert.notEqual(r.code, 0);
      const lines = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const result = lines.find((l) => l['type'] === 'result' && l['device'] !== null) as {
        code: string;
        diagnosis: { causes: Array<{ id: string; title: string; evidence: string[] }> };
      };
      assert.equal(result.code, 'NO_INVITATION_REPLY');
      const top = result.diagnosis.causes[0];
      assert.equal(top?.id, 'WRONG_PORT');
      assert.match(top.title, /answers on port 8266, not 3232/);
      assert.ok(
        top.evidence.some((e) => /follow-up: UDP port 8266 .*answered "OK"/.test(e)),
        JSON.stringify(top),
      );
    } finally {
      await dev.close();
    }
  });
});
