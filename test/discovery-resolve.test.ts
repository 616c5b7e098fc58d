import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAirflashError } from '../src/core/errors.ts';
import { advertise, arduinoTxt, resolveHost, resolveLocalName } from '../src/discovery/index.ts';
import { freeUdpPort, loopback } from './helpers/mdns-loopback.ts';

test('resolveLocalName resolves an advertised hostname over mDNS (A and AAAA, IPv4 first)', async () => {
  const port = await freeUdpPort();
  const ad = await advertise({
    name: 'Garage Door',
    hostname: 'esp32-0a0b0c',
    port: 3232,
    addresses: ['fd00::42', '127.0.0.31'],
    txt: arduinoTxt('esp32', 'esp32', false),
    mdnsPort: port,
    interface: '127.0.0.1',
    announce: false,
  });
  try {
    assert.deepEqual(await resolveLocalName('esp32-0a0b0c.local', loopback(port)), [
      '127.0.0.31',
      'fd00::42',
    ]);
    // Case-insensitive, trailing dot, and a bare name gets ".local".
    assert.deepEqual(await resolveLocalName('ESP32-0A0B0C.local.', loopback(port)), [
      '127.0.0.31',
      'fd00::42',
    ]);
    assert.deepEqual(await resolveLocalName('esp32-0a0b0c', loopback(port)), ['127.0.0.31', 'fd00::42']);
  } finally {
    await ad.close();
  }
});

test('resolveLocalName fails with HOST_NOT_FOUND and a hint when nobody answers', async () => {
  const port = await freeUdpPort();
  const started = Date.now();
  await assert.rejects(
    resolveLocalName('nobody-here.local', { ...loopback(port), timeoutMs: 400 }),
    (e: unknown) => isAirflashError(e, 'HOST_NOT_FOUND') && /Bonjour/.test(e.hint ?? ''),
  );
  const took = Date.now() - started;
  assert.ok(took >= 380 && took < 1500, `gave up after about the timeout (${took} ms)`);
});

test('resolveHost: literals as they are, devices-file names, OS resolver, then mDNS for .local', async () => {
  const port = await freeUdpPort();
  const calls: string[] = [];
  const failingLookup = async (host: string): Promise<string[]> => {
    calls.push(host);
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  };
  assert.deepEqual(await resolveHost('192.168.4.1', { lookup: failingLookup }), ['192.168.4.1']);
  assert.deepEqual(await resolveHost('[fe80::1%eth0]', { lookup: failingLookup }), ['fe80::1%eth0']);
  assert.deepEqual(calls, [], 'IP literals never reach a resolver');

  const devices = [{ name: 'kitchen', address: '10.1.2.3' }];
  assert.deepEqual(await resolveHost('Kitchen', { devices, lookup: failingLookup }), ['10.1.2.3']);
  assert.deepEqual(await resolveHost('kitchen.local', { devices, lookup: failingLookup }), ['10.1.2.3']);

  assert.deepEqual(await resolveHost('printer.lan', { lookup: async () => ['fd00::7', '10.0.0.7'] }), [
    '10.0.0.7',
    'fd00::7',
  ]);
  await assert.rejects(
    resolveHost('nothing.lan', { lookup: failingLookup }),
    (e: unknown) => isAirflashError(e, 'HOST_NOT_FOUND') && e.message.includes('nothing.lan'),
  );

  const ad = await advertise({
    name: 'esp8266-abc',
    hostname: 'esp8266-abc',
    port: 8266,
    addresses: ['127.0.0.32'],
    txt: arduinoTxt('esp8266', 'generic', false),
    mdnsPort: port,
    announce: false,
  });
  try {
    calls.length = 0;
    assert.deepEqual(await resolveHost('esp8266-abc.local', { ...loopback(port), lookup: failingLookup }), [
      '127.0.0.32',
    ]);
    assert.deepEqual(calls, ['esp8266-abc.local'], 'the OS resolver is asked first');
  } finally {
    await ad.close();
  }
});
