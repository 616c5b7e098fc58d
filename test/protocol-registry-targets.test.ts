/**
 * Targets as written (issue 17): `scheme://host[:port][/path]` for network protocols, and the
 * device of an addressless protocol (`serial:///dev/ttyUSB0`, `serial://COM3`, `serial://auto`),
 * which the front does not resolve. The parser's boundaries: every bad form is BAD_ARGUMENT.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildEsp32App, isUploadError, parseTarget, pickProtocol, upload } from '../src/index.ts';
import { MAX_DEVICE_PATH } from '../src/protocols/registry.ts';

describe('parseTarget', () => {
  it('serial:// names a device: a path (three slashes), a port name, or auto; no network port', () => {
    assert.deepEqual(parseTarget('serial:///dev/ttyUSB0', 3232), {
      host: '/dev/ttyUSB0',
      scheme: 'serial',
      path: '/dev/ttyUSB0',
    });
    assert.deepEqual(parseTarget('serial://COM3'), { host: 'COM3', scheme: 'serial', path: 'COM3' });
    assert.deepEqual(parseTarget('SERIAL://auto'), { host: 'auto', scheme: 'serial', path: 'auto' });
    assert.deepEqual(
      parseTarget(' serial:///dev/serial/by-id/usb-Silicon_Labs_CP2102-if00 ').path,
      '/dev/serial/by-id/usb-Silicon_Labs_CP2102-if00',
    );
    const p = pickProtocol(parseTarget('serial:///dev/ttyUSB0'));
    assert.equal(p.id, 'serial');
    assert.equal(p.addressless, true);
    assert.deepEqual(p.writes, ['app', 'filesystem']);
  });

  it('a device path of exactly the limit is read; one character more is refused', () => {
    const longest = `/${'a'.repeat(MAX_DEVICE_PATH - 1)}`;
    assert.equal(parseTarget(`serial://${longest}`).path, longest);
    assert.throws(() => parseTarget(`serial://${longest}a`), {
      code: 'BAD_ARGUMENT',
      message: new RegExp(`longer than ${MAX_DEVICE_PATH} characters`),
    });
  });

  for (const [text, why] of [
    ['serial://', /names no device after serial:\/\//],
    ['serial:///', /names no device after serial:\/\//],
    ['serial:/dev/ttyUSB0', /needs \/\/ after serial:/],
    ['serial:COM3', /needs \/\/ after serial:/],
    ['serial://host/dev/ttyUSB0', /names a host and a path/],
    ['serial://COM3/', /names a host and a path/],
    ['serial://COM3:115200', /names a port; a serial device has none/],
    ['serial://COM 3', /is not a device path or a port name/],
    ['serial://\\\\.\\COM10', /is not a device path or a port name/],
    ['serial:///dev/tty\u0001USB0', /holds a control character/],
    ['serial:///dev/ttyUSB0\u007f', /holds a control character/],
  ] as const) {
    it(`refuses ${JSON.stringify(text)} with BAD_ARGUMENT and the forms to write`, () => {
      assert.throws(
        () => parseTarget(text),
        (e: Error & { code?: string; hint?: string; data?: Record<string, unknown> }) => {
          assert.equal(e.code, 'BAD_ARGUMENT');
          assert.match(e.message, why);
          return true;
        },
      );
    });
  }

  it('network targets: a path after the authority is kept; a lone slash and bare hosts are as before', () => {
    assert.deepEqual(parseTarget('esphome://[::1]:3232/a/b'), {
      host: '::1',
      scheme: 'esphome',
      port: 3232,
      path: '/a/b',
    });
    assert.deepEqual(parseTarget('arduino-ota://esp.local/update', 8266), {
      host: 'esp.local',
      scheme: 'arduino-ota',
      port: 8266,
      path: '/update',
    });
    assert.deepEqual(parseTarget('arduino-ota://10.0.0.5/'), { host: '10.0.0.5', scheme: 'arduino-ota' });
    assert.deepEqual(parseTarget('fe80::1', 3232), { host: 'fe80::1', port: 3232 });
    assert.deepEqual(parseTarget('esp.local'), { host: 'esp.local' });
    assert.throws(() => parseTarget('arduino-ota:///update'), {
      code: 'BAD_ARGUMENT',
      message: /names no device/,
    });
    assert.throws(() => parseTarget('arduino-ota://h:65536'), { code: 'BAD_ARGUMENT' });
    assert.equal(parseTarget('arduino-ota://h:65535').port, 65535);
  });
});

describe('the front and an addressless protocol', () => {
  it('resolves nothing for serial://: the resolver is never asked, the failure is the serial one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airflash-serial-target-'));
    try {
      const file = join(dir, 'app.bin');
      writeFileSync(file, buildEsp32App({ size: 4096, seed: 3 }));
      const asked: string[] = [];
      const error = await upload({
        host: `serial://${join(dir, 'no-such-tty')}`,
        file,
        resolve: async (host) => {
          asked.push(host);
          return ['127.0.173.1'];
        },
      }).then(
        () => assert.fail('an upload to a missing serial device cannot succeed'),
        (e: unknown) => e,
      );
      assert.deepEqual(asked, [], 'no name lookup for a device path');
      assert.ok(isUploadError(error));
      assert.equal(error.protocol, 'serial');
      assert.equal(error.code, 'SERIAL_OPEN_FAILED');
      const obs = error.observation as { device: string; stage: string; written: number };
      assert.equal(obs.device, join(dir, 'no-such-tty'));
      assert.equal(obs.written, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
