/**
 * The PlatformIO and Arduino IDE snippets of docs/integration.md, expanded the way those tools
 * expand them, run against emulated devices. If the docs change, this test runs the new text.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App, buildEsp8266Sketch } from '../src/formats/index.ts';
import { runCliInMemory } from './helpers/cli-io.ts';

const SCALE = 0.05;
const DOC = readFileSync(new URL('../docs/integration.md', import.meta.url), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'airflash-recipes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The fenced block after `<!-- test: NAME -->`. */
function snippet(name: string): string {
  const re = new RegExp(`<!-- test: ${name} -->\\s*\\n\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\``);
  const m = re.exec(DOC);
  assert.ok(m, `docs/integration.md has no snippet "${name}"`);
  return m[1] as string;
}

/** platformio.ini sections with PlatformIO's multi-line values and `extends`. */
function parseIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  let lastKey: string | undefined;
  for (const line of text.split('\n')) {
    const section = /^\[(.+)\]\s*$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1] as string, current);
      continue;
    }
    if (!current || line.trim() === '' || line.trim().startsWith(';')) continue;
    if (/^\s/.test(line) && lastKey !== undefined) {
      const prev = current.get(lastKey) ?? '';
      current.set(lastKey, prev === '' ? line.trim() : `${prev}\n${line.trim()}`);
      continue;
    }
    const kv = /^([\w.]+)\s*=\s*(.*)$/.exec(line);
    if (kv) {
      lastKey = kv[1] as string;
      current.set(lastKey, (kv[2] as string).trim());
    }
  }
  for (const values of sections.values()) {
    const base = values.get('extends');
    if (base) for (const [k, v] of sections.get(base) ?? []) if (!values.has(k)) values.set(k, v);
  }
  return sections;
}

/** What PlatformIO runs for `upload_protocol = custom`: each upload_flags item is one argument. */
function platformioArgv(env: Map<string, string>, source: string, port?: string): string[] {
  const flagsValue = env.get('upload_flags') ?? '';
  const flags = flagsValue.includes('\n') ? flagsValue.split('\n') : flagsValue.split(', ');
  const command = env.get('upload_command') ?? '';
  const argv: string[] = [];
  for (const token of command.split(/\s+/)) {
    if (token === '$UPLOAD_FLAGS') argv.push(...flags.map((f) => f.trim()).filter((f) => f !== ''));
    else if (token === '$UPLOAD_PORT') argv.push(port ?? env.get('upload_port') ?? '');
    else if (token === '$SOURCE') argv.push(source);
    else argv.push(token);
  }
  return argv;
}

/** arduino-cli's SplitQuotedString: split on spaces, double quotes group and are dropped. */
function splitQuoted(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let has = false;
  for (const ch of line) {
    if (ch === '"') {
      quoted = !quoted;
      has = true;
    } else if (ch === ' ' && !quoted) {
      if (has || cur !== '') out.push(cur);
      cur = '';
      has = false;
    } else cur += ch;
  }
  if (has || cur !== '') out.push(cur);
  return out;
}

function properties(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const kv = /^([\w.]+)=(.*)$/.exec(line.trim());
    if (kv) m.set(kv[1] as string, kv[2] as string);
  }
  return m;
}

function expand(pattern: string, values: Record<string, string>): string[] {
  const line = pattern.replace(/\{([\w.]+)\}/g, (_, k: string) => {
    assert.ok(k in values, `no value for {${k}}`);
    return values[k] as string;
  });
  return splitQuoted(line);
}

/** Run the tool's argv (argv[0] is the program) through the airflash CLI. */
async function runTool(argv: string[], env: NodeJS.ProcessEnv = {}) {
  assert.equal(argv[0], 'airflash', `the recipe runs ${argv[0]}`);
  return runCliInMemory([...argv.slice(1), '--time-scale', String(SCALE)], { env });
}

async function withDevice<T>(
  options: Parameters<typeof startDevice>[0],
  fn: (dev: Awaited<ReturnType<typeof startDevice>>) => Promise<T>,
): Promise<T> {
  const dev = await startDevice({ timeScale: SCALE, ...options });
  try {
    return await fn(dev);
  } finally {
    await dev.close();
  }
}

const esp32Bin = join(dir, 'firmware.bin');
writeFileSync(esp32Bin, buildEsp32App({ size: 80_000, seed: 41 }));
const esp8266Bin = join(dir, 'Blink.ino.bin');
writeFileSync(esp8266Bin, buildEsp8266Sketch({ size: 80_000, seed: 42 }));
const fsBin = join(dir, 'littlefs.bin');
writeFileSync(fsBin, new Uint8Array(32 * 1024).fill(0xff));

describe('docs/integration.md: PlatformIO', () => {
  const ini = parseIni(
    `${snippet('platformio-esp32')}\n${snippet('platformio-esp8266')}\n${snippet('platformio-uploadfs')}`,
  );

  it('ESP32 env (custom protocol, flags one per line) updates an ESP32 on port 3232 with a password', async () => {
    await withDevice(
      { core: 'esp32', address: '127.0.0.231', port: 3232, password: 'secret' },
      async (dev) => {
        const argv = platformioArgv(
          ini.get('env:esp32dev_ota') as Map<string, string>,
          esp32Bin,
          dev.address,
        );
        assert.deepEqual(argv.slice(0, 4), ['airflash', 'upload', '--auth=secret', '--port=3232']);
        const r = await runTool(argv);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(dev.counters.updatesCompleted, 1);
      },
    );
  });

  it('ESP8266 env updates an ESP8266 on port 8266 with a password', async () => {
    await withDevice(
      { core: 'esp8266', address: '127.0.0.232', port: 8266, password: 'secret' },
      async (dev) => {
        const r = await runTool(
          platformioArgv(ini.get('env:d1_mini_ota') as Map<string, string>, esp8266Bin, dev.address),
        );
        assert.equal(r.code, 0, r.stderr);
        assert.equal(dev.counters.updatesCompleted, 1);
      },
    );
  });

  it('uploadfs env sends a filesystem image (command 100)', async () => {
    await withDevice(
      { core: 'esp32', address: '127.0.0.233', port: 3232, password: 'secret' },
      async (dev) => {
        const started = dev.waitFor('update-start', undefined, 10_000);
        const r = await runTool(
          platformioArgv(ini.get('env:esp32dev_ota_fs') as Map<string, string>, fsBin, dev.address),
        );
        assert.equal(r.code, 0, r.stderr);
        const ev = await started;
        assert.equal(ev.event === 'update-start' && ev.command, 100);
      },
    );
  });

  it('the same flags written on one line arrive as one argument: split, with a warning', async () => {
    await withDevice(
      { core: 'esp32', address: '127.0.0.234', port: 3232, password: 'secret' },
      async (dev) => {
        const env = new Map(ini.get('env:esp32dev_ota'));
        env.set('upload_flags', '--auth=secret --port=3232');
        const argv = platformioArgv(env, esp32Bin, dev.address);
        assert.equal(argv[2], '--auth=secret --port=3232');
        const r = await runTool(argv);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /holds several options/);
      },
    );
  });
});

describe('docs/integration.md: Arduino IDE platform.local.txt', () => {
  const build = { 'build.path': dir, 'build.project_name': 'firmware' };

  it('ESP32, IDE 2.x / arduino-cli pattern (pluggable discovery port properties)', async () => {
    const pattern = properties(snippet('arduino-esp32')).get('tools.esp_ota.upload.pattern') as string;
    await withDevice(
      { core: 'esp32', address: '127.0.0.235', port: 0, password: 'ide pass' },
      async (dev) => {
        const argv = expand(pattern, {
          ...build,
          'upload.port.address': dev.address,
          'upload.port.properties.port': String(dev.port),
          'upload.field.password': 'ide pass',
        });
        const r = await runTool(argv);
        assert.equal(r.code, 0, r.stderr);
      },
    );
  });

  it('ESP32, IDE 1.8 network pattern; an empty password field falls back to AIRFLASH_PASSWORD', async () => {
    const pattern = properties(snippet('arduino-esp32')).get(
      'tools.esptool_py.upload.network_pattern',
    ) as string;
    await withDevice(
      { core: 'esp32-legacy', address: '127.0.0.236', port: 0, password: 'env-pw' },
      async (dev) => {
        const argv = expand(pattern, {
          ...build,
          'serial.port': dev.address,
          'network.port': String(dev.port),
          'network.password': '',
        });
        assert.ok(argv.includes('--auth='));
        const r = await runTool(argv, { AIRFLASH_PASSWORD: 'env-pw' });
        assert.equal(r.code, 0, r.stderr);
      },
    );
  });

  it('ESP8266 network pattern', async () => {
    const pattern = properties(snippet('arduino-esp8266')).get(
      'tools.esptool.upload.network_pattern',
    ) as string;
    await withDevice({ core: 'esp8266', address: '127.0.0.237', port: 0, password: 'pw' }, async (dev) => {
      const argv = expand(pattern, {
        'build.path': dir,
        'build.project_name': 'Blink.ino',
        'serial.port': dev.address,
        'network.port': String(dev.port),
        'network.password': 'pw',
      });
      const r = await runTool(argv);
      assert.equal(r.code, 0, r.stderr);
    });
  });

  it("ESP8266 core's own recipe with network_cmd=airflash (-I espota.py is ignored)", async () => {
    const cmd = properties(snippet('arduino-esp8266-network-cmd')).get('tools.esptool.network_cmd') as string;
    const recipe = /^tools\.esptool\.upload\.network_pattern=("\{network_cmd\}" -I .*)$/m.exec(DOC)?.[1];
    assert.ok(recipe, 'the core recipe is quoted in the docs');
    await withDevice({ core: 'esp8266', address: '127.0.0.238', port: 0 }, async (dev) => {
      const argv = expand(recipe, {
        network_cmd: cmd,
        'runtime.platform.path': '/home/me/.arduino15/packages/esp8266/hardware/esp8266/3.1.2',
        'build.path': dir,
        'build.project_name': 'Blink.ino',
        'serial.port': dev.address,
        'network.port': String(dev.port),
        'network.password': '',
      });
      assert.equal(argv[1], '-I');
      const r = await runTool(argv);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /isolated-mode flag/);
    });
  });
});
