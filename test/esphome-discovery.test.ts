/**
 * `_esphomelib._tcp` in the device list: an ESPHome device advertised on the loopback mDNS
 * responder (TXT keys typed from the list, not from the library) is found beside an
 * ArduinoOTA device, with its ESPHome fields (version, encryption, …), and `airflash discover`
 * shows the ESPHome version and whether encryption is required; the TXT is printed escaped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Advertisement,
  advertise,
  arduinoTxt,
  BROWSED_SERVICES,
  discoverAll,
} from '../src/discovery/index.ts';
import { runCliInMemory } from './helpers/cli-io.ts';
import { freeUdpPort, loopback } from './helpers/mdns-loopback.ts';

const ESPHOME_TXT: Array<[string, string]> = [
  ['friendly_name', 'Living room'],
  ['version', '2026.9.1'],
  ['config_hash', '8c1e0a77'],
  ['mac', '240ac4a1b2c3'],
  ['platform', 'ESP32'],
  ['board', 'esp32dev'],
  ['network', 'wifi'],
  ['api_encryption', 'Noise_NNpsk0_25519_ChaChaPoly_SHA256'],
  ['project_name', 'acme.sensor'],
  ['project_version', '1.4\u001b[31m'],
];

async function both(port: number): Promise<Advertisement[]> {
  return [
    await advertise({
      name: 'livingroom',
      hostname: 'livingroom',
      port: 6053,
      service: '_esphomelib._tcp.local',
      addresses: ['127.0.165.1'],
      txt: ESPHOME_TXT,
      mdnsPort: port,
    }),
    await advertise({
      name: 'esp32-aa',
      hostname: 'esp32-aa',
      port: 3232,
      addresses: ['127.0.165.2'],
      txt: arduinoTxt('esp32', 'esp32', true),
      mdnsPort: port,
    }),
  ];
}

test('discover finds an ESPHome device with its TXT fields beside an ArduinoOTA one', async () => {
  const port = await freeUdpPort();
  const ads = await both(port);
  try {
    const arduinoOnly = await discoverAll({ ...loopback(port), timeoutMs: 1200 });
    assert.deepEqual(
      arduinoOnly.map((d) => d.name),
      ['esp32-aa'],
      'by default only _arduino._tcp (fleet and dashboard lists are ArduinoOTA)',
    );
    const devices = await discoverAll({ ...loopback(port), timeoutMs: 1200, services: BROWSED_SERVICES });
    const e = devices.find((d) => d.name === 'livingroom');
    const a = devices.find((d) => d.name === 'esp32-aa');
    assert.ok(e && a, devices.map((d) => d.name).join(', '));
    assert.equal(e.service, '_esphomelib._tcp');
    assert.equal(a.service, '_arduino._tcp');
    assert.equal(a.esphome, undefined);
    assert.equal(e.port, 6053, 'the API port of the SRV record');
    assert.deepEqual(e.esphome, {
      friendlyName: 'Living room',
      version: '2026.9.1',
      configHash: '8c1e0a77',
      mac: '240ac4a1b2c3',
      platform: 'ESP32',
      board: 'esp32dev',
      network: 'wifi',
      apiEncryption: 'Noise_NNpsk0_25519_ChaChaPoly_SHA256',
      projectName: 'acme.sensor',
      projectVersion: '1.4\u001b[31m',
      encryption: true,
    });
  } finally {
    for (const ad of ads) await ad.close();
  }
});

test('an ESPHome device without api_encryption: encryption false; the other keys may be missing', async () => {
  const port = await freeUdpPort();
  const ad = await advertise({
    name: 'plain',
    hostname: 'plain',
    port: 6053,
    service: '_esphomelib._tcp.local',
    addresses: ['127.0.165.3'],
    txt: [['version', '2025.12.0']],
    mdnsPort: port,
  });
  try {
    const [d] = await discoverAll({ ...loopback(port), timeoutMs: 1200, services: BROWSED_SERVICES });
    assert.deepEqual(d?.esphome, { version: '2025.12.0', encryption: false });
  } finally {
    await ad.close();
  }
});

test('airflash discover shows the ESPHome version and encryption columns, escaped', async () => {
  const port = await freeUdpPort();
  const ads = await both(port);
  try {
    const r = await runCliInMemory(['discover', '--interface', '127.0.0.1', '--timeout', '1'], {
      env: { AIRFLASH_MDNS_PORT: String(port) },
    });
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trimEnd().split('\n');
    assert.match(rows[0] ?? '', /^NAME\s+ADDRESSES\s+PORT\s+BOARD\s+PASSWORD\s+CORE\s+ESPHOME\s+ENCRYPTION$/);
    assert.match(rows[1] ?? '', /^esp32-aa\s+127\.0\.165\.2\s+3232\s+esp32\s+yes\s+esp32\s+-\s+-$/);
    assert.match(
      rows[2] ?? '',
      /^livingroom\s+127\.0\.165\.1\s+6053\s+esp32dev\s+\?\s+\?\s+2026\.9\.1\s+required$/,
    );
    assert.ok(!r.stdout.includes('\u001b'), 'no raw control character');
  } finally {
    for (const ad of ads) await ad.close();
  }
});
