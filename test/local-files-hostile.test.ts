/**
 * Hostile local files: partition CSVs and platformio.ini files built to make a regex or an
 * interpolation blow up. Each completes well within a second and fails with its stable code
 * (PARTITION_CSV / CONFIG_INVALID), directly and through doctor. Ordinary errors keep
 * gen_esp32part's messages (test/partitions.test.ts).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type ErrorCode, isAirflashError } from '../src/core/errors.ts';
import { doctor } from '../src/doctor/doctor.ts';
import { parsePlatformioIni } from '../src/doctor/platformio-ini.ts';
import {
  MAX_CSV_CHARS,
  MAX_CSV_LINE_CHARS,
  parseCsvInt,
  parsePartitionCsv,
  pyStrip,
} from '../src/formats/partitions/csv.ts';
import { makeProject, removeProject } from './helpers/doctor-io.ts';

/** Run `fn`, which must throw an AirflashError with `code`, within `ms`; return the message. */
function failsFast(fn: () => unknown, code: ErrorCode, ms = 1000): string {
  const started = performance.now();
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  const took = performance.now() - started;
  assert.ok(isAirflashError(caught, code), `expected ${code}, got ${String(caught)}`);
  assert.ok(took < ms, `took ${Math.round(took)} ms (limit ${ms} ms)`);
  return (caught as Error).message;
}

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map(removeProject));
});

describe('partition CSV: bounded, linear', () => {
  it('a 100 KB line (spaces inside a field) fails at once with PARTITION_CSV', () => {
    const line = `nvs, data, nvs, 0x9000, 0x5000${' '.repeat(100_000)}x`;
    const message = failsFast(() => parsePartitionCsv(`${line}\n`), 'PARTITION_CSV');
    assert.match(message, /^Error at line 1: the line has 100031 characters/);
  });

  it('a line of exactly the limit is parsed; one more character is refused', () => {
    const head = 'nvs, data, nvs, 0x9000, 0x5000,';
    const exact = head + ' '.repeat(MAX_CSV_LINE_CHARS - head.length);
    assert.equal(exact.length, MAX_CSV_LINE_CHARS);
    assert.equal(parsePartitionCsv(`${exact}\n`).entries[0]?.size, 0x5000);
    failsFast(() => parsePartitionCsv(`${exact} \n`), 'PARTITION_CSV');
  });

  it('the whole text: the limit is accepted, one more character is refused', () => {
    const row = 'nvs, data, nvs, 0x9000, 0x5000\n';
    const comment = `#${'c'.repeat(1022)}\n`;
    const fill = MAX_CSV_CHARS - row.length - 1024 * 1023;
    const exact = `${comment.repeat(1023)}${row}#${'c'.repeat(fill - 2)}\n`;
    assert.equal(exact.length, MAX_CSV_CHARS);
    assert.equal(parsePartitionCsv(exact).entries.length, 1);
    const message = failsFast(() => parsePartitionCsv(`${exact}\n`), 'PARTITION_CSV');
    assert.match(message, /1048577 characters; airflash reads at most 1048576/);
  });

  it('whitespace runs inside a field, at the limit: linear time, the usual message', () => {
    const value = `0x${'a'.repeat(2000)}${' '.repeat(2000)}x`;
    const message = failsFast(
      () => parsePartitionCsv(`nvs, data, nvs, 0x9000, ${value}\n`),
      'PARTITION_CSV',
      200,
    );
    assert.match(message, /^Error at line 1: Invalid field value 0xa+ +x$/);
    assert.equal(pyStrip(`${' '.repeat(50_000)}a b${'\u3000'.repeat(50_000)}`), 'a b');
  });

  it('"${" repeated (variable expansion) fails at once', () => {
    failsFast(() => parsePartitionCsv(`}${'${'.repeat(2000)}\n`), 'PARTITION_CSV', 200);
    failsFast(() => parsePartitionCsv(`}${'${'.repeat(60_000)}\n`), 'PARTITION_CSV');
    // Ordinary expansion still works.
    assert.equal(
      parsePartitionCsv(`nvs, data, nvs, $OFF, $${'{SIZE}'}\n`, { env: { OFF: '0x9000', SIZE: '20K' } })
        .entries[0]?.size,
      0x5000,
    );
  });

  it('"1kkkk…": no stack overflow, PARTITION_CSV; ordinary suffixes unchanged', () => {
    failsFast(() => parsePartitionCsv(`nvs, data, nvs, 0x9000, 1${'k'.repeat(100_000)}\n`), 'PARTITION_CSV');
    const message = failsFast(
      () => parsePartitionCsv(`nvs, data, nvs, 0x9000, 1${'k'.repeat(4000)}\n`),
      'PARTITION_CSV',
    );
    assert.match(message, /out of range/);
    assert.equal(parseCsvInt('4K'), 4096);
    assert.equal(parseCsvInt('1M'), 1024 * 1024);
    assert.equal(parseCsvInt('1KM'), 1024 * 1024 * 1024);
    assert.equal(parseCsvInt('4194303k'), 0xffff_fc00);
    assert.throws(() => parseCsvInt('4194304k'), /out of range/);
    assert.throws(() => parsePartitionCsv('nvs, data, nvs, 0x9000, xk\n'), /Invalid field value x$/);
  });

  it('through doctor: a project CSV with a 100 KB line is PARTITIONS_INVALID, quickly', async () => {
    const dir = await makeProject({
      'platformio.ini':
        '[env:ota]\nplatform = espressif32\nboard = esp32dev\nframework = arduino\nupload_protocol = espota\nupload_port = 192.168.1.50\nboard_build.partitions = big.csv\n',
      'big.csv': `nvs, data, nvs, 0x9000, 0x5000${' '.repeat(100_000)}x\n`,
    });
    dirs.push(dir);
    const started = performance.now();
    const report = await doctor({ projectDir: dir, sysenv: {} });
    assert.ok(performance.now() - started < 2000);
    const f = report.findings.find((x) => x.code === 'PARTITIONS_INVALID');
    assert.ok(f, 'PARTITIONS_INVALID');
    assert.match(f.what, /line has 100031 characters/);
  });
});

describe('platformio.ini: bounded interpolation', () => {
  const chain = (levels: number, refs: number): string => {
    let text = '[s]\na0 = x\n';
    for (let i = 1; i <= levels; i++) text += `a${i} = ${`\${s.a${i - 1}}`.repeat(refs)}\n`;
    return `${text}[env:e]\nplatform = espressif32\n`;
  };

  it('nested doubling references (under 1 KB) fail at once with CONFIG_INVALID', () => {
    const text = chain(30, 2);
    assert.ok(text.length < 1024);
    const message = failsFast(() => parsePlatformioIni(text), 'CONFIG_INVALID');
    assert.match(message, /expands to more than 262144 characters/);
    failsFast(() => parsePlatformioIni(chain(20, 2)), 'CONFIG_INVALID');
  });

  it('many references to one value are interpolated once (linear), within the bounds', () => {
    let text = '[s]\nbase = -DVALUE=1\n';
    for (let i = 0; i < 2000; i++) text += `o${i} = \${s.base} \${s.base}\n`;
    const started = performance.now();
    const config = parsePlatformioIni(`${text}[env:e]\nbuild_flags = \${s.o1999}\n`);
    assert.ok(performance.now() - started < 1000);
    assert.equal(config.get('env:e', 'build_flags'), '-DVALUE=1 -DVALUE=1');
  });

  it('interpolation depth: 32 options deep are followed, 33 are refused (no stack overflow)', () => {
    // Defined top-down, so that resolving the first option walks the whole chain.
    const reversed = (levels: number): string => {
      let text = '[s]\n';
      for (let i = levels; i >= 1; i--) text += `a${i} = \${s.a${i - 1}}\n`;
      return `${text}a0 = x\n[env:e]\nplatform = espressif32\n`;
    };
    assert.equal(parsePlatformioIni(reversed(31)).get('s', 'a31'), 'x');
    const message = failsFast(() => parsePlatformioIni(reversed(32)), 'CONFIG_INVALID');
    assert.match(message, /nested more than 32 references deep/);
    // 10,000 levels overflowed the stack of the recursive lookup before the bound.
    failsFast(() => parsePlatformioIni(reversed(10_000)), 'CONFIG_INVALID', 2000);
  });

  it('long lines, whitespace runs and "${" runs: linear, coded', () => {
    failsFast(() => parsePlatformioIni(`[env:e]\na${' '.repeat(100_000)}b\n`), 'CONFIG_INVALID');
    const noEquals = failsFast(
      () => parsePlatformioIni(`[env:e]\na${' '.repeat(60_000)}b\n`),
      'CONFIG_INVALID',
      200,
    );
    assert.ok(noEquals.length < 300, 'the message quotes a bounded part of the line');
    const started = performance.now();
    const config = parsePlatformioIni(
      `[env:e]\nbuild_flags = }${'${'.repeat(30_000)}\nupload_flags = a${' \t'.repeat(30_000)}b ; c\n`,
    );
    assert.ok(performance.now() - started < 500);
    assert.equal(config.getList('env:e', 'upload_flags')[0]?.endsWith('b'), true);
    assert.equal(config.get('env:e', 'build_flags')?.length, 60_001);
  });

  it('through doctor: a platformio.ini over the size limit is CONFIG_INVALID (exit 2)', async () => {
    const dir = await makeProject({
      'platformio.ini': `[env:e]\nplatform = espressif32\n${`; ${'x'.repeat(1000)}\n`.repeat(1100)}`,
    });
    dirs.push(dir);
    await assert.rejects(doctor({ projectDir: dir, sysenv: {} }), (e: unknown) =>
      isAirflashError(e, 'CONFIG_INVALID'),
    );
  });
});
