import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uploadOptionsFromArgs } from '../src/cli/commands/upload.ts';
import { parseUploadArgs, splitJoinedOptions } from '../src/cli/espota-args.ts';
import { isAirflashError } from '../src/core/errors.ts';

const opts = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
  uploadOptionsFromArgs(parseUploadArgs(argv), env);

function usageError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => isAirflashError(e, 'BAD_ARGUMENT') && pattern.test(e.message));
}

describe('espota.py argument lists, exactly as the tools pass them (protocol.md §6–§7)', () => {
  it('PlatformIO espota flags: --debug --progress -i PORT -f firmware.bin', () => {
    const p = parseUploadArgs([
      '--debug',
      '--progress',
      '-i',
      '192.168.1.242',
      '-f',
      '.pio/build/OTA_env/firmware.bin',
    ]);
    assert.deepEqual(p.values, {
      debug: true,
      progress: true,
      ip: '192.168.1.242',
      file: '.pio/build/OTA_env/firmware.bin',
    });
    assert.deepEqual(p.notes, []);
    const o = opts(['--debug', '--progress', '-i', '192.168.1.242', '-f', 'fw.bin']);
    assert.equal(o.port, 3232);
    assert.equal(o.password, undefined);
  });

  it('PlatformIO uploadfs: --spiffs (ESP32) and -s (ESP8266) send command 100', () => {
    assert.equal(
      opts(['--debug', '--progress', '-i', '10.0.0.2', '--spiffs', '-f', 'littlefs.bin']).filesystem,
      true,
    );
    assert.equal(
      opts(['--debug', '--progress', '-i', '10.0.0.2', '-s', '-f', 'spiffs.bin']).filesystem,
      true,
    );
  });

  it('the seed: one-line upload_flags arrive as ONE argument and are split with a note saying why', () => {
    const argv = [
      '--auth=password --port=8266',
      '--debug',
      '--progress',
      '-i',
      '192.168.1.242',
      '-f',
      'firmware.bin',
    ];
    const p = parseUploadArgs(argv);
    assert.equal(p.values.auth, 'password');
    assert.equal(p.values.port, 8266);
    assert.equal(p.notes.length, 1);
    assert.equal(p.notes[0]?.code, 'SPLIT_ARGUMENT');
    assert.match(p.notes[0]?.message ?? '', /upload_flags/);
    assert.match(p.notes[0]?.message ?? '', /one flag per line/);
  });

  it('"--auth=2357 --port=8266" (platform-espressif8266 #205) and short forms', () => {
    assert.deepEqual(splitJoinedOptions(['--auth=2357 --port=8266']).argv, ['--auth=2357', '--port=8266']);
    assert.deepEqual(splitJoinedOptions(['-a 2357 -p 8266']).argv, ['-a', '2357', '-p', '8266']);
    const p = parseUploadArgs(['-a 2357 -p 8266', '-i', 'x', '-f', 'y']);
    assert.equal(p.values.auth, '2357');
    assert.equal(p.values.port, 8266);
  });

  it('a password with spaces is not split', () => {
    const p = parseUploadArgs(['--auth=correct horse battery', '-i', 'h', '-f', 'f']);
    assert.equal(p.values.auth, 'correct horse battery');
    assert.deepEqual(p.notes, []);
  });

  it('Arduino IDE 2 / arduino-cli, ESP32 recipe (tools.esp_ota.upload.pattern)', () => {
    // {cmd} -i {upload.port.address} -p {upload.port.properties.port} "--auth={upload.field.password}" -f "{build.path}/{build.project_name}.bin"
    const argv = [
      '-i',
      '192.168.1.50',
      '-p',
      '3232',
      '--auth=s3cret',
      '-f',
      '/tmp/arduino/sketches/ABC/Blink.ino.bin',
    ];
    const o = opts(argv);
    assert.equal(o.host, '192.168.1.50');
    assert.equal(o.port, 3232);
    assert.equal(o.password, 's3cret');
    assert.equal(o.passwordSource, 'option');
    assert.equal(o.file, '/tmp/arduino/sketches/ABC/Blink.ino.bin');
  });

  it('Arduino IDE 1.x, ESP32 recipe with an empty password field: no password (AIRFLASH_PASSWORD may supply one)', () => {
    // {network_cmd} -i "{serial.port}" -p "{network.port}" "--auth={network.password}" -f "{build.path}/{build.project_name}.bin"
    const argv = ['-i', '192.168.1.50', '-p', '3232', '--auth=', '-f', '/tmp/build/Blink.ino.bin'];
    assert.equal(opts(argv).password, undefined);
    const withEnv = opts(argv, { AIRFLASH_PASSWORD: 'from-env' });
    assert.equal(withEnv.password, 'from-env');
    assert.equal(withEnv.passwordSource, 'env');
  });

  it("Arduino ESP8266 recipe: -I before the espota.py path is Python's flag; ignored with a note", () => {
    // "{network_cmd}" -I "{runtime.platform.path}/tools/espota.py" -i "{serial.port}" -p "{network.port}" "--auth={network.password}" -f "..."
    const argv = [
      '-I',
      '/home/me/.arduino15/packages/esp8266/hardware/esp8266/3.1.2/tools/espota.py',
      '-i',
      '192.168.1.51',
      '-p',
      '8266',
      '--auth=pw',
      '-f',
      '/tmp/build/sketch.ino.bin',
    ];
    const p = parseUploadArgs(argv);
    assert.equal(p.values.host_ip, undefined);
    assert.equal(p.notes[0]?.code, 'IGNORED_PYTHON_FLAG');
    const o = opts(argv);
    assert.equal(o.hostIp, undefined);
    assert.equal(o.port, 8266);
    assert.equal(o.password, 'pw');
  });

  it('a real -I host address is kept', () => {
    assert.equal(opts(['-I', '192.168.1.10', '-i', '192.168.1.50', '-f', 'f']).hostIp, '192.168.1.10');
  });

  it('a repeated -i takes the last, as espota does', () => {
    assert.equal(opts(['-i', '10.0.0.1', '-i', '10.0.0.2', '-f', 'f']).host, '10.0.0.2');
  });

  it('optparse / argparse spellings: --opt=value, -ovalue, clustered flags', () => {
    const p = parseUploadArgs([
      '--ip=10.0.0.9',
      '-p3232',
      '-dr',
      '--auth',
      'x',
      '--host_port=4000',
      '-m',
      '-t',
      '7',
    ]);
    assert.deepEqual(p.values, {
      ip: '10.0.0.9',
      port: 3232,
      debug: true,
      progress: true,
      auth: 'x',
      host_port: 4000,
      md5_target: true,
      timeout: 7,
    });
  });

  it('long options are never abbreviated: --a is not --auth; the message names the candidates', () => {
    usageError(
      () => parseUploadArgs(['-i', 'h', '-f', 'f', '--a', 'secret']),
      /Unknown option --a for "airflash upload"\. Did you mean --auth, --attempts or --auth-timeout\?/,
    );
    usageError(() => parseUploadArgs(['--aut', 'x']), /Unknown option --aut .*Did you mean --auth/);
    usageError(() => parseUploadArgs(['--host_p=4000']), /Unknown option --host_p .*--host_port/);
    // The one-line splitter does not take an abbreviation for an option either: it stays one value.
    assert.deepEqual(parseUploadArgs(['--auth=pw --po=8266']).values, { auth: 'pw --po=8266' });
  });

  it('-t is seconds per invitation attempt; --invite-timeout is the total', () => {
    const o = opts(['-i', 'h', '-f', 'f', '-t', '5', '--invite-timeout', '30']);
    assert.equal(o.attemptTimeoutMs, 5000);
    assert.equal(o.inviteAttempts, 6);
    const named = opts([
      '-i',
      'h',
      '-f',
      'f',
      '--connect-timeout',
      '20',
      '--stall-timeout',
      '3',
      '--result-timeout',
      '60',
      '--auth-timeout',
      '9',
      '--retries',
      '2',
    ]);
    assert.equal(named.connectTimeoutMs, 20_000);
    assert.equal(named.stallTimeoutMs, 3000);
    assert.equal(named.resultTimeoutMs, 60_000);
    assert.equal(named.authTimeoutMs, 9000);
    assert.equal(named.retries, 2);
  });

  it('usage errors are BAD_ARGUMENT (exit 2) and name the problem', () => {
    usageError(() => parseUploadArgs(['--bogus']), /Unknown option --bogus/);
    usageError(() => parseUploadArgs(['-x']), /Unknown option -x/);
    usageError(() => parseUploadArgs(['-i']), /needs a value/);
    usageError(() => parseUploadArgs(['-p', 'abc']), /needs a number/);
    usageError(
      () => parseUploadArgs(['--re', '1']),
      /Unknown option --re .*Did you mean --retries or --result-timeout\?/,
    );
    usageError(() => parseUploadArgs(['--retires', '1']), /Did you mean --retries\?/);
    usageError(() => opts(['-f', 'fw.bin']), /-i DEVICE is missing/);
    usageError(() => opts(['-i', 'h']), /-f FILE is missing/);
    usageError(() => opts(['-i', 'h', '-f', 'f', '-p', '70000']), /port number/);
    usageError(() => opts(['-i', 'h', '-f', 'f', 'extra']), /Unexpected argument/);
    usageError(() => opts(['-i', 'h', '-f', 'f', '--retries', '-1']), /whole number/);
  });
});
