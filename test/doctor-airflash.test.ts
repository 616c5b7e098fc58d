/**
 * doctor and the airflash integration: docs/integration.md's own recipe is recognised as correct,
 * espota envs with one-line flags or a slow loop get the recipe, and a suggested command is safe
 * to paste (run here through a real POSIX shell) and complete. Devices on 127.0.57.1x.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { uploadOptionsFromArgs } from '../src/cli/commands/upload.ts';
import { parseUploadArgs } from '../src/cli/espota-args.ts';
import { probe } from '../src/diagnosis/index.ts';
import { type DoctorFinding, type DoctorProbe, doctor } from '../src/doctor/doctor.ts';
import { toDoctorProbeResult } from '../src/doctor/probe.ts';
import { startDevice } from '../src/emulator/index.ts';
import { makeProject, removeProject, runDoctorCli } from './helpers/doctor-io.ts';

const DOC = readFileSync(new URL('../docs/integration.md', import.meta.url), 'utf8');

/** The fenced block after `<!-- test: NAME -->` in docs/integration.md. */
function docSnippet(name: string): string {
  const m = new RegExp(`<!-- test: ${name} -->\\s*\\n\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\``).exec(DOC);
  assert.ok(m, `docs/integration.md has no snippet "${name}"`);
  return m[1] as string;
}

const MAIN = (loopDelay: number): string => `#include <Arduino.h>
#include <WiFi.h>
#include <ArduinoOTA.h>

void setup() {
  WiFi.begin("ssid", "pw");
  ArduinoOTA.setPassword("secret");
  ArduinoOTA.begin();
}

void loop() {
  ArduinoOTA.handle();
  delay(${loopDelay});
}
`;

const ESPOTA_ONE_LINE = `[env:ota]
platform = espressif32
board = esp32dev
framework = arduino
upload_protocol = espota
upload_port = 192.168.1.50
upload_flags = --auth=secret --port=3232
`;

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map(removeProject));
});
async function project(files: Record<string, string>): Promise<string> {
  const dir = await makeProject(files);
  dirs.push(dir);
  return dir;
}
const codes = (fs: DoctorFinding[]): string[] => fs.map((f) => f.code);
const find = (fs: DoctorFinding[], code: string): DoctorFinding => {
  const f = fs.find((x) => x.code === code);
  assert.ok(f, `finding ${code} in ${codes(fs).join(', ')}`);
  return f;
};
const SNIPPET =
  'upload_protocol = custom\nupload_command = airflash upload $UPLOAD_FLAGS -i $UPLOAD_PORT -f $SOURCE';

describe('doctor and the airflash integration', { concurrency: true }, () => {
  it("docs/integration.md's PlatformIO recipe is correct: no warning, AIRFLASH_INTEGRATION", async () => {
    for (const name of ['platformio-esp32', 'platformio-esp8266']) {
      const dir = await project({ 'platformio.ini': docSnippet(name), 'src/main.cpp': MAIN(10) });
      const { code, stdout } = await runDoctorCli(['doctor', dir, '--json'], '/');
      const report = JSON.parse(stdout) as { findings: DoctorFinding[]; envs: { ota: boolean }[] };
      assert.equal(code, 0, stdout);
      assert.deepEqual(
        report.findings.filter((f) => f.severity !== 'info').map((f) => f.code),
        [],
        `${name}: no error or warning`,
      );
      assert.ok(!codes(report.findings).includes('UPLOAD_PROTOCOL_MISMATCH'));
      assert.equal(find(report.findings, 'AIRFLASH_INTEGRATION').severity, 'info');
      assert.equal(report.envs[0]?.ota, true);
    }
  });

  it('the recipe with one-line flags: airflash splits them, so it is a note, not an error', async () => {
    const ini = docSnippet('platformio-esp32').replace(
      /upload_flags =\n {4}--auth=secret\n {4}--port=3232/,
      'upload_flags = --auth=secret --port=3232',
    );
    assert.notEqual(ini, docSnippet('platformio-esp32'));
    const dir = await project({ 'platformio.ini': ini, 'src/main.cpp': MAIN(10) });
    const report = await doctor({ projectDir: dir, sysenv: {} });
    assert.equal(find(report.findings, 'ONE_LINE_FLAGS').severity, 'info');
    assert.ok(codes(report.findings).includes('AIRFLASH_INTEGRATION'));
  });

  it('an espota env with one-line flags gets USE_AIRFLASH with the exact snippet', async () => {
    const dir = await project({ 'platformio.ini': ESPOTA_ONE_LINE, 'src/main.cpp': MAIN(10) });
    const report = await doctor({ projectDir: dir, sysenv: {} });
    assert.equal(find(report.findings, 'ONE_LINE_FLAGS').severity, 'error');
    const use = find(report.findings, 'USE_AIRFLASH');
    assert.equal(use.fix, `[env:ota]\n${SNIPPET}`);
    assert.equal(use.env, 'ota');
  });

  it('an espota env with a 30 s delay in loop() gets USE_AIRFLASH; a fast loop does not', async () => {
    const ini = ESPOTA_ONE_LINE.replace(
      'upload_flags = --auth=secret --port=3232',
      'upload_flags =\n    --auth=secret',
    );
    const slow = await doctor({
      projectDir: await project({ 'platformio.ini': ini, 'src/main.cpp': MAIN(30000) }),
      sysenv: {},
    });
    assert.ok(codes(slow.findings).includes('BLOCKING_DELAY'));
    assert.equal(find(slow.findings, 'USE_AIRFLASH').fix, `[env:ota]\n${SNIPPET}`);
    const fast = await doctor({
      projectDir: await project({ 'platformio.ini': ini, 'src/main.cpp': MAIN(10) }),
      sysenv: {},
    });
    assert.ok(!codes(fast.findings).includes('USE_AIRFLASH'), codes(fast.findings).join(', '));
  });

  it('--probe on a slow device: the suggested command is safe to paste and complete', async () => {
    const ini = ESPOTA_ONE_LINE.replace(
      'upload_flags = --auth=secret --port=3232',
      'upload_flags =\n    --auth=secret',
    );
    const dir = await project({ 'platformio.ini': ini, 'src/main.cpp': MAIN(30000) });
    const slowProbe: DoctorProbe = async () => ({
      answered: true,
      authRequired: true,
      loopPeriodMs: 30_000,
      loopKind: 'measured',
    });
    const report = await doctor({ projectDir: dir, sysenv: {}, probe: slowProbe });
    const f = find(report.findings, 'PROBE_ANSWERED');
    assert.equal(f.severity, 'warning');
    assert.doesNotMatch(f.fix, /secret/, 'never the password itself');
    const command = f.fix.split('\n').at(-1) as string;
    assert.match(command, /^airflash upload /);
    // Pasted into a shell where `airflash` prints its argv: nothing else runs, and the password
    // comes from the environment.
    const out = execFileSync(
      'sh',
      ['-c', `airflash() { printf '%s\\n' "$@"; }\n${command}\necho "exit=$?"`],
      {
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', AIRFLASH_PASSWORD: 'from-env' },
        encoding: 'utf8',
      },
    );
    const lines = out.trimEnd().split('\n');
    assert.equal(lines.at(-1), 'exit=0');
    const argv = lines.slice(0, -1);
    assert.equal(argv[0], 'upload');
    const options = uploadOptionsFromArgs(parseUploadArgs(argv.slice(1)), {});
    assert.equal(options.host, '192.168.1.50');
    assert.equal(options.port, 3232);
    assert.equal(options.password, 'from-env');
    assert.equal(options.file, '.pio/build/ota/firmware.bin');
  });

  it('--probe through the real probe: the finding never says "every ≈…" and "called often" together', async () => {
    // ESP32, 30 s loop scaled 1:10, probed late in its loop (the first answer waits ≈2.9 s).
    const dev = await startDevice({ core: 'esp32', address: '127.0.57.10', loopMs: 30_000, timeScale: 0.1 });
    try {
      const ini = `[env:ota]\nplatform = espressif32\nboard = esp32dev\nframework = arduino\nupload_protocol = espota\nupload_port = ${dev.address}\n`;
      const dir = await project({ 'platformio.ini': ini, 'src/main.cpp': MAIN(10) });
      await new Promise((r) => setTimeout(r, 150));
      const scaled: DoctorProbe = async (host, port, o) =>
        toDoctorProbeResult(await probe({ host, port, timeScale: 0.1, samples: 1, ...o }));
      const report = await doctor({ projectDir: dir, sysenv: {}, probe: scaled });
      const f = find(report.findings, 'PROBE_ANSWERED');
      const text = `${f.what} ${f.why}`;
      // The wording is the point here; the value is one gap of an emulated loop in this process
      // (probe-honest.test.ts checks the measurement), and a loaded event loop moves one gap by
      // ±0.1 s ("≈2.9 s", "≈3.1 s"): the period is read from the text and kept within ±0.5 s.
      const every = /handle\(\) every ≈(\d+\.\d) s/.exec(f.what);
      assert.ok(every, f.what);
      assert.ok(Math.abs(Number(every[1]) - 3) <= 0.5, f.what);
      assert.doesNotMatch(text, /called often/);
    } finally {
      await dev.close();
    }
  });
});
