/**
 * Auto-selection of web OTA for a bare `-i HOST` (registry.ts `detectionOrder`, upload.ts): when
 * ArduinoOTA finds nobody there and the ESPHome probe finds no ESPHome device, web OTA's
 * read-only identification is asked last; a recognised web updater is then updated over HTTP. A
 * web server that is no known updater stays the ArduinoOTA error. Addresses 127.0.191.x.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { buildEsp32App } from '../src/formats/index.ts';
import { isUploadError, type UploadEvent, type UploadOptions, upload } from '../src/index.ts';
import { detectionOrder, pickProtocol } from '../src/protocols/registry.ts';
import type { HttpOptions } from '../src/protocols/web-ota/index.ts';
import { fast, withWeb } from './helpers/web-ota.ts';

const IMAGE = buildEsp32App({ size: 40_000, seed: 191, version: '7.1.9' });
const MD5 = createHash('md5').update(IMAGE).digest('hex');

describe('a bare host that only has a web updater', () => {
  it('the registry asks ESPHome first, web OTA after it', () => {
    const target = { host: '127.0.191.9' };
    const order = detectionOrder(pickProtocol(target), target, 'NO_INVITATION_REPLY').map((p) => p.id);
    assert.deepEqual(order, ['esphome', 'http']);
    assert.deepEqual(detectionOrder(pickProtocol(target), target, 'AUTH_FAILED'), [], 'only an absent code');
    const forced = { host: '127.0.191.9', scheme: 'arduino-ota' };
    assert.deepEqual(
      detectionOrder(pickProtocol(forced), forced, 'NO_INVITATION_REPLY'),
      [],
      'a scheme is kept',
    );
  });

  it('-i HOST -p PORT of an ElegantOTA v3 page: identified, updated over HTTP, the switch said', () =>
    withWeb({ address: '127.0.191.1', profile: 'elegantota-v3' }, async (d) => {
      const events: UploadEvent[] = [];
      const r = await upload({
        host: d.address,
        port: d.port,
        data: IMAGE,
        ...fast,
        onEvent: (e) => events.push(e),
      } as UploadOptions & HttpOptions);
      assert.equal(r.protocol, 'http');
      assert.equal(r.attempts, 1);
      assert.equal(d.runningImageMd5(), MD5);
      assert.equal(d.version(), '7.1.9');
      // Identification had no side effect: only the upload's pre-request and the upload itself.
      assert.equal(d.web.sideEffects, 2);
      assert.ok(
        events.some((e) => e.type === 'hint' && /web OTA/.test(e.message) && /http:\/\//.test(e.message)),
        'the switch is said (a hint event)',
      );
    }));

  it('a web server that is no known updater: the ArduinoOTA error stays, nothing is posted', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.191.2', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const e = await upload({ host: '127.0.191.2', port, data: IMAGE, ...fast } as UploadOptions &
        HttpOptions).catch((x: unknown) => x);
      assert.ok(isUploadError(e, 'NO_INVITATION_REPLY'), String(e));
      assert.equal(e.protocol, 'arduino-ota');
      assert.ok(seen.length > 0, 'the web probe asked');
      assert.deepEqual(
        seen.filter((s) => !s.startsWith('GET ') && !s.startsWith('HEAD ')),
        [],
        'read-only requests only',
      );
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
