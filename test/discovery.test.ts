import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import {
  type Advertisement,
  advertise,
  createMdnsBus,
  createMdnsTransport,
  type DiscoveredDevice,
  type DiscoveryEvent,
  decodeMessage,
  discover,
  discoverAll,
  encodeMessage,
  FLAG_AUTHORITATIVE,
  FLAG_RESPONSE,
  isResponse,
  type MdnsTransport,
} from '../src/discovery/index.ts';
import { freeUdpPort, loopback } from './helpers/mdns-loopback.ts';

// The TXT sets typed from protocol.md §6 (not taken from the library's arduinoTxt()).
const ESP32_TXT: Array<[string, string]> = [
  ['board', 'esp32'],
  ['tcp_check', 'no'],
  ['ssh_upload', 'no'],
  ['auth_upload', 'yes'],
];
const ESP8266_TXT: Array<[string, string]> = [
  ['tcp_check', 'no'],
  ['ssh_upload', 'no'],
  ['board', 'd1_mini'],
  ['auth_upload', 'no'],
];

async function collect(iterable: AsyncIterable<DiscoveryEvent>): Promise<DiscoveryEvent[]> {
  const out: DiscoveryEvent[] = [];
  for await (const event of iterable) out.push(event);
  return out;
}

function byName(devices: DiscoveredDevice[], name: string): DiscoveredDevice {
  const found = devices.find((d) => d.name === name);
  assert.ok(found, `device ${name} not found among ${devices.map((d) => d.name).join(', ') || 'none'}`);
  return found;
}

test('discover finds an ESP32 and an ESP8266 advertised on loopback, with TXT in core order', async () => {
  const port = await freeUdpPort();
  const ads: Advertisement[] = [];
  try {
    ads.push(
      await advertise({
        name: 'esp32-a1b2c3',
        hostname: 'esp32-a1b2c3',
        port: 3232,
        addresses: ['127.0.0.21'],
        txt: ESP32_TXT,
        mdnsPort: port,
      }),
      await advertise({
        name: 'esp8266-d4e5f6',
        hostname: 'esp8266-d4e5f6',
        port: 8266,
        addresses: ['127.0.0.22'],
        txt: ESP8266_TXT,
        mdnsPort: port,
        // Not announced: it is found only by answering our query.
        announce: false,
      }),
    );
    const devices = await discoverAll({ ...loopback(port), timeoutMs: 1200 });
    assert.equal(devices.length, 2);
    const esp32 = byName(devices, 'esp32-a1b2c3');
    assert.equal(esp32.host, 'esp32-a1b2c3.local');
    assert.deepEqual(esp32.addresses, ['127.0.0.21']);
    assert.equal(esp32.port, 3232);
    assert.equal(esp32.board, 'esp32');
    assert.equal(esp32.authUpload, true);
    assert.equal(esp32.core, 'esp32');
    assert.deepEqual(Object.entries(esp32.txt), ESP32_TXT);
    assert.ok(Date.now() - esp32.lastSeen < 5000);

    const esp8266 = byName(devices, 'esp8266-d4e5f6');
    assert.equal(esp8266.host, 'esp8266-d4e5f6.local');
    assert.deepEqual(esp8266.addresses, ['127.0.0.22']);
    assert.equal(esp8266.port, 8266);
    assert.equal(esp8266.board, 'd1_mini');
    assert.equal(esp8266.authUpload, false);
    assert.equal(esp8266.core, 'esp8266');
    assert.deepEqual(Object.entries(esp8266.txt), ESP8266_TXT);
  } finally {
    for (const ad of ads) await ad.close();
  }
});

test('the TXT order decides the core over the port; an ESP8266 with a password shows authUpload', async () => {
  const port = await freeUdpPort();
  const ad = await advertise({
    name: 'odd-port',
    hostname: 'odd-port',
    port: 3232,
    addresses: ['127.0.0.23'],
    txt: [
      ['tcp_check', 'no'],
      ['ssh_upload', 'no'],
      ['board', 'myboard'],
      ['auth_upload', 'yes'],
    ],
    mdnsPort: port,
  });
  try {
    const [device] = await discoverAll({ ...loopback(port), timeoutMs: 800 });
    assert.ok(device);
    assert.equal(device.core, 'esp8266');
    assert.equal(device.authUpload, true);
    assert.equal(device.port, 3232);
  } finally {
    await ad.close();
  }
});

test('watch reports up, then down at once on goodbye and at TTL expiry without one', async () => {
  const port = await freeUdpPort();
  const controller = new AbortController();
  const polite = await advertise({
    name: 'polite',
    hostname: 'polite',
    port: 3232,
    addresses: ['127.0.0.24'],
    txt: ESP32_TXT,
    mdnsPort: port,
    ttl: 1,
  });
  const unplugged = await advertise({
    name: 'unplugged',
    hostname: 'unplugged',
    port: 8266,
    addresses: ['127.0.0.25'],
    txt: ESP8266_TXT,
    mdnsPort: port,
    ttl: 1,
  });
  const seen: Array<{ type: string; name: string; at: number }> = [];
  let closedAt = 0;
  const started = Date.now();
  try {
    for await (const event of discover({
      ...loopback(port),
      watch: true,
      timeoutMs: 8000,
      signal: controller.signal,
    })) {
      seen.push({ type: event.type, name: event.device.name, at: Date.now() });
      const ups = seen.filter((e) => e.type === 'up').length;
      if (event.type === 'up' && ups === 2) {
        // Both are up. While they are alive, refresh queries keep them up beyond their 1 s TTL.
        setTimeout(() => {
          closedAt = Date.now();
          void polite.close();
          void unplugged.close({ goodbye: false });
        }, 1800);
      }
      if (seen.filter((e) => e.type === 'down').length === 2) controller.abort();
    }
  } finally {
    await polite.close();
    await unplugged.close();
  }
  assert.ok(closedAt > 0, `both devices should come up; saw ${JSON.stringify(seen)}`);
  assert.deepEqual(
    seen
      .filter((e) => e.at < closedAt)
      .map((e) => `${e.type} ${e.name}`)
      .sort(),
    ['up polite', 'up unplugged'],
    'nothing goes down while the devices answer refresh queries',
  );
  const politeDown = seen.find((e) => e.type === 'down' && e.name === 'polite');
  const unpluggedDown = seen.find((e) => e.type === 'down' && e.name === 'unplugged');
  assert.ok(politeDown && unpluggedDown, `both go down; saw ${JSON.stringify(seen)}`);
  assert.ok(politeDown.at - closedAt < 500, `goodbye takes effect at once (${politeDown.at - closedAt} ms)`);
  assert.ok(unpluggedDown.at - closedAt >= 150, 'without goodbye the device stays until its records expire');
  assert.ok(
    unpluggedDown.at - closedAt < 1600,
    `expiry is about one TTL (${unpluggedDown.at - closedAt} ms)`,
  );
  assert.ok(Date.now() - started < 8000, 'the watch was ended by the abort, not the timeout');
});

test('a changed advertisement (password set after a reboot) is an update event', async () => {
  const port = await freeUdpPort();
  const controller = new AbortController();
  const base = {
    name: 'rebooter',
    hostname: 'rebooter',
    port: 8266,
    addresses: ['127.0.0.26'],
    mdnsPort: port,
  };
  let ad = await advertise({ ...base, txt: ESP8266_TXT });
  const events: DiscoveryEvent[] = [];
  try {
    for await (const event of discover({
      ...loopback(port),
      watch: true,
      timeoutMs: 6000,
      signal: controller.signal,
    })) {
      events.push(event);
      if (event.type === 'up') {
        await ad.close({ goodbye: false });
        // The cache-flush bit on the new TXT replaces the old one (RFC 6762 §10.2) once the old
        // one is more than a second old.
        await new Promise((r) => setTimeout(r, 1100));
        ad = await advertise({
          ...base,
          txt: [
            ['tcp_check', 'no'],
            ['ssh_upload', 'no'],
            ['board', 'd1_mini'],
            ['auth_upload', 'yes'],
          ],
        });
      }
      if (event.type === 'update') controller.abort();
    }
  } finally {
    await ad.close();
  }
  assert.deepEqual(
    events.map((e) => e.type),
    ['up', 'update'],
  );
  assert.equal(events[0]?.device.authUpload, false);
  assert.equal(events[1]?.device.authUpload, true);
});

test('missing SRV, TXT and A records are asked for with follow-up queries', async () => {
  const bus = createMdnsBus();
  const browser = bus.transport('10.9.0.1');
  const device = bus.transport('10.9.0.2');
  const asked: string[] = [];
  const instance = 'shy._arduino._tcp.local';
  // A minimal responder that answers exactly what is asked and nothing more.
  device.onMessage((bytes, from) => {
    const query = decodeMessage(bytes);
    if (isResponse(query)) return;
    for (const q of query.questions) {
      asked.push(`${q.name} ${String(q.type)}`);
      const answers =
        q.type === 'PTR' && q.name === '_arduino._tcp.local'
          ? [{ name: q.name, type: 'PTR' as const, ttl: 120, data: instance }]
          : q.type === 'SRV' && q.name === instance
            ? [
                {
                  name: q.name,
                  type: 'SRV' as const,
                  ttl: 120,
                  data: { priority: 0, weight: 0, port: 3232, target: 'shy.local' },
                },
              ]
            : q.type === 'TXT' && q.name === instance
              ? [
                  {
                    name: q.name,
                    type: 'TXT' as const,
                    ttl: 120,
                    data: [new TextEncoder().encode('board=esp32s3')],
                  },
                ]
              : q.type === 'A' && q.name === 'shy.local'
                ? [{ name: q.name, type: 'A' as const, ttl: 120, data: '10.9.0.2' }]
                : [];
      if (answers.length > 0) {
        void device.send(encodeMessage({ flags: FLAG_RESPONSE | FLAG_AUTHORITATIVE, answers }), from);
      }
    }
  });
  const events: DiscoveryEvent[] = [];
  for await (const event of discover({ transport: browser, timeoutMs: 4000 })) {
    events.push(event);
    if (event.type === 'up') break;
  }
  await device.close();
  await browser.close();
  const up = events.find((e) => e.type === 'up');
  assert.ok(up, `device should come up; asked: ${asked.join('; ')}`);
  assert.equal(up.device.name, 'shy');
  assert.deepEqual(up.device.addresses, ['10.9.0.2']);
  assert.equal(up.device.board, 'esp32s3');
  assert.equal(up.device.core, 'esp32');
  assert.equal(up.device.authUpload, undefined);
  for (const q of ['_arduino._tcp.local PTR', `${instance} SRV`, `${instance} TXT`, 'shy.local A']) {
    assert.ok(asked.includes(q), `expected a query for ${q}; asked: ${asked.join('; ')}`);
  }
});

test('a malformed datagram on the group is ignored and browsing goes on', async () => {
  const port = await freeUdpPort();
  const noise: MdnsTransport = await createMdnsTransport({ interfaceAddress: '127.0.0.1', port });
  const ad = await advertise({
    name: 'survivor',
    hostname: 'survivor',
    port: 3232,
    addresses: ['127.0.0.27'],
    txt: ESP32_TXT,
    mdnsPort: port,
    announce: false,
  });
  try {
    const run = discoverAll({ ...loopback(port), timeoutMs: 900 });
    // A response header claiming one answer, then a name pointer that points at itself.
    await noise.send(Uint8Array.from([0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 12]));
    await noise.send(Uint8Array.from([1, 2, 3]));
    const devices = await run;
    assert.deepEqual(
      devices.map((d) => d.name),
      ['survivor'],
    );
  } finally {
    await ad.close();
    await noise.close();
  }
});

test('a one-shot querier on another port gets a legacy unicast answer with its id echoed', async () => {
  const port = await freeUdpPort();
  const ad = await advertise({
    name: 'legacy',
    hostname: 'legacy',
    port: 3232,
    addresses: ['127.0.0.28'],
    txt: ESP32_TXT,
    mdnsPort: port,
    announce: false,
  });
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve) => socket.bind(0, '0.0.0.0', () => resolve()));
    socket.setMulticastInterface('127.0.0.1');
    const reply = new Promise<Buffer>((resolve) => socket.once('message', (msg) => resolve(msg)));
    socket.send(
      encodeMessage({ id: 0x4242, questions: [{ name: 'legacy.local', type: 'A' }] }),
      port,
      '224.0.0.251',
    );
    const message = decodeMessage(await reply);
    assert.equal(message.id, 0x4242);
    assert.ok(isResponse(message));
    assert.deepEqual(message.questions, [{ name: 'legacy.local', type: 'A' }]);
    assert.equal(message.answers.length, 1);
    const [a] = message.answers;
    assert.equal(a?.type, 'A');
    assert.equal(a?.data, '127.0.0.28');
    assert.ok((a?.ttl ?? 99) <= 10);
    assert.notEqual(a?.cacheFlush, true);
  } finally {
    socket.close();
    await ad.close();
  }
});

test('an aborted discover ends quietly and closes its socket', async () => {
  const port = await freeUdpPort();
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  const started = Date.now();
  const events = await collect(discover({ ...loopback(port), watch: true, signal: controller.signal }));
  assert.deepEqual(events, []);
  assert.ok(Date.now() - started < 1500);
});
