import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isAirflashError } from '../src/core/errors.ts';
import { sameSecret } from '../src/dashboard/http.ts';
import { type Dashboard, startDashboard } from '../src/dashboard/index.ts';
import { firmwareImage } from './helpers/browser.ts';
import { type Reply, http as rawHttp } from './helpers/dashboard-http.ts';

function http(
  dash: Dashboard,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Uint8Array | string,
): Promise<Reply> {
  // Host is given explicitly (by the helper, or here) so each test decides what it says.
  return rawHttp(dash, method, path, { headers, ...(body === undefined ? {} : { body }) });
}

const tempDirs: string[] = [];
async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'airflash-dash-sec-'));
  tempDirs.push(dir);
  return dir;
}

after(async () => {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

describe('dashboard on the default bind (127.0.0.1, no token)', () => {
  let dash: Dashboard;
  before(async () => {
    dash = await startDashboard({ port: 0, stateDir: await stateDir() });
  });
  after(() => dash.close());

  test('the URL has no token; requests to 127.0.0.1 and localhost are served', async () => {
    assert.equal(dash.url, `http://127.0.0.1:${dash.port}/`);
    assert.equal((await http(dash, 'GET', '/api/v1/devices')).status, 200);
    assert.equal((await http(dash, 'GET', '/', { Host: `localhost:${dash.port}` })).status, 200);
  });

  test('a foreign Host header (DNS rebinding) is refused with 421, on the page and the API', async () => {
    for (const host of [`evil.example:${dash.port}`, `attacker.test`, `127.0.0.1:${dash.port + 1}`]) {
      const page = await http(dash, 'GET', '/', { Host: host });
      assert.equal(page.status, 421, `Host: ${host}`);
      const api = await http(dash, 'GET', '/api/v1/devices', { Host: host });
      assert.equal(api.status, 421, `Host: ${host}`);
      assert.equal(JSON.parse(api.text).error.code, 'BAD_HOST');
    }
    // No Host header at all (HTTP/1.0 over a raw socket).
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: dash.host, port: dash.port }, () => {
        socket.write('GET /api/v1/devices HTTP/1.0\r\n\r\n');
      });
      let text = '';
      socket.on('data', (c: Buffer) => {
        text += c.toString('latin1');
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(raw, /^HTTP\/1\.[01] 421 /);
  });

  test('a cross-origin POST is refused (403), even with a JSON body', async () => {
    const body = JSON.stringify({ name: 'x', address: '127.0.0.9' });
    const evil = await http(
      dash,
      'POST',
      '/api/v1/devices',
      { 'Content-Type': 'application/json', Origin: 'http://evil.example' },
      body,
    );
    assert.equal(evil.status, 403);
    assert.equal(JSON.parse(evil.text).error.code, 'CROSS_ORIGIN');
    const otherPort = await http(
      dash,
      'POST',
      '/api/v1/devices',
      { 'Content-Type': 'application/json', Origin: `http://127.0.0.1:${dash.port + 1}` },
      body,
    );
    assert.equal(otherPort.status, 403);
    const nullOrigin = await http(
      dash,
      'POST',
      '/api/v1/devices',
      { 'Content-Type': 'application/json', Origin: 'null' },
      body,
    );
    assert.equal(nullOrigin.status, 403);
    const crossSite = await http(
      dash,
      'POST',
      '/api/v1/devices',
      { 'Content-Type': 'application/json', 'Sec-Fetch-Site': 'cross-site' },
      body,
    );
    assert.equal(crossSite.status, 403);
    // Nothing was added.
    assert.deepEqual(JSON.parse((await http(dash, 'GET', '/api/v1/devices')).text).devices, []);
    // The same request from the page's own origin works.
    const same = await http(
      dash,
      'POST',
      '/api/v1/devices',
      { 'Content-Type': 'application/json', Origin: dash.origin, 'Sec-Fetch-Site': 'same-origin' },
      body,
    );
    assert.equal(same.status, 201, same.text);
  });

  test('a form-style POST (no JSON, no X-Airflash header) is refused: CSRF', async () => {
    const form = await http(
      dash,
      'POST',
      '/api/v1/devices',
      { 'Content-Type': 'application/x-www-form-urlencoded' },
      'name=x&address=127.0.0.9',
    );
    assert.equal(form.status, 403);
    assert.equal(JSON.parse(form.text).error.code, 'CSRF');
    const plain = await http(dash, 'POST', '/api/v1/images', { 'Content-Type': 'text/plain' }, 'hello');
    assert.equal(plain.status, 403);
    // The image upload needs the custom header (a cross-site page cannot send it without CORS).
    const image = firmwareImage(8 * 1024, 3);
    const noHeader = await http(
      dash,
      'POST',
      '/api/v1/images',
      { 'Content-Type': 'application/octet-stream' },
      image,
    );
    assert.equal(noHeader.status, 403);
    const ok = await http(
      dash,
      'POST',
      '/api/v1/images',
      { 'Content-Type': 'application/octet-stream', 'X-Airflash': '1' },
      image,
    );
    assert.equal(ok.status, 201, ok.text);
  });

  test('responses carry no CORS grant and strict security headers', async () => {
    const reply = await http(dash, 'GET', '/api/v1/devices', { Origin: 'http://evil.example' });
    assert.equal(reply.headers['access-control-allow-origin'], undefined);
    assert.equal(reply.headers['x-content-type-options'], 'nosniff');
    assert.equal(reply.headers['x-frame-options'], 'DENY');
    assert.match(String(reply.headers['content-security-policy']), /frame-ancestors 'none'/);
    const preflight = await http(dash, 'OPTIONS', '/api/v1/devices', {
      Origin: 'http://evil.example',
      'Access-Control-Request-Method': 'POST',
    });
    assert.notEqual(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
  });
});

describe('dashboard on another bind address (127.0.0.2) with a token', () => {
  const TOKEN = 'test-token-0123456789';
  let dash: Dashboard;
  let dir: string;
  before(async () => {
    dir = await stateDir();
    dash = await startDashboard({ host: '127.0.0.2', port: 0, token: TOKEN, stateDir: dir });
  });
  after(() => dash.close());

  test('binding anywhere but 127.0.0.1 without a token is refused', async () => {
    await assert.rejects(
      startDashboard({ host: '127.0.0.2', port: 0, stateDir: dir }),
      (error: unknown) => isAirflashError(error, 'BAD_ARGUMENT') && /token/.test(error.message),
    );
    await assert.rejects(startDashboard({ host: '0.0.0.0', port: 0, stateDir: dir }), (error: unknown) =>
      isAirflashError(error, 'BAD_ARGUMENT'),
    );
    await assert.rejects(
      startDashboard({ host: '127.0.0.2', port: 0, token: 'short', stateDir: dir }),
      (error: unknown) => isAirflashError(error, 'BAD_ARGUMENT'),
    );
  });

  test('the printed URL carries the token', () => {
    assert.equal(dash.url, `http://127.0.0.2:${dash.port}/?token=${TOKEN}`);
  });

  test('every request needs the token: 401 without or with a wrong one', async () => {
    for (const path of ['/', '/app.js', '/api/v1/devices', '/api/v1/events', '/api/v1/history/export']) {
      assert.equal((await http(dash, 'GET', path)).status, 401, path);
      assert.equal(
        (await http(dash, 'GET', path, { Authorization: 'Bearer wrong-token-xx' })).status,
        401,
        path,
      );
    }
    const post = await http(
      dash,
      'POST',
      '/api/v1/devices',
      { 'Content-Type': 'application/json' },
      JSON.stringify({ address: '127.0.0.9' }),
    );
    assert.equal(post.status, 401);
    assert.equal((await http(dash, 'GET', '/?token=wrong-token-xx')).status, 401);
  });

  test('a wrong token of the same length is refused: one changed character at every offset, on every channel', async () => {
    const cookie = `airflash_token_${dash.port}`;
    for (let i = 0; i < TOKEN.length; i += 1) {
      const wrong = `${TOKEN.slice(0, i)}${TOKEN[i] === 'x' ? 'y' : 'x'}${TOKEN.slice(i + 1)}`;
      assert.equal(wrong.length, TOKEN.length);
      const bearer = await http(dash, 'GET', '/api/v1/devices', { Authorization: `Bearer ${wrong}` });
      assert.equal(bearer.status, 401, `Bearer, offset ${i}`);
      const viaCookie = await http(dash, 'GET', '/api/v1/devices', { Cookie: `${cookie}=${wrong}` });
      assert.equal(viaCookie.status, 401, `cookie, offset ${i}`);
      const query = await http(dash, 'GET', `/?token=${encodeURIComponent(wrong)}`);
      assert.equal(query.status, 401, `?token=, offset ${i}`);
      assert.equal(query.headers['set-cookie'], undefined);
    }
    // One character more or less, and the right one with a trailing space trimmed by nobody.
    for (const wrong of [`${TOKEN}x`, TOKEN.slice(0, -1), `${TOKEN.slice(0, -1)}\u00e9`]) {
      const reply = await http(dash, 'GET', '/api/v1/devices', {
        Authorization: `Bearer ${encodeURIComponent(wrong)}`,
      });
      assert.equal(reply.status, 401, JSON.stringify(wrong));
    }
    assert.equal(
      (await http(dash, 'GET', '/api/v1/devices', { Authorization: `Bearer ${TOKEN}` })).status,
      200,
    );
  });

  test('sameSecret compares digests in constant time and only equal secrets match', () => {
    assert.equal(sameSecret(TOKEN, TOKEN), true);
    assert.equal(sameSecret(TOKEN, `${TOKEN.slice(0, -1)}0`), false);
    assert.equal(sameSecret(TOKEN, TOKEN.toUpperCase()), false);
    assert.equal(sameSecret('', ''), true);
    assert.equal(sameSecret('a', ''), false);
  });

  test('Authorization: Bearer works', async () => {
    const reply = await http(dash, 'GET', '/api/v1/devices', { Authorization: `Bearer ${TOKEN}` });
    assert.equal(reply.status, 200);
  });

  test('?token= sets an HttpOnly SameSite=Strict cookie and redirects to a clean URL; the cookie works', async () => {
    const first = await http(dash, 'GET', `/?token=${TOKEN}`);
    assert.equal(first.status, 303);
    assert.equal(first.headers['location'], '/');
    const setCookie = String(first.headers['set-cookie']);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    const cookie = setCookie.split(';')[0] as string;
    assert.equal((await http(dash, 'GET', '/', { Cookie: cookie })).status, 200);
    assert.equal((await http(dash, 'GET', '/api/v1/devices', { Cookie: cookie })).status, 200);
    assert.equal((await http(dash, 'GET', '/api/v1/devices', { Cookie: `${cookie}x` })).status, 401);
  });

  test('the Host check still applies with a valid token (421)', async () => {
    const reply = await http(dash, 'GET', '/api/v1/devices', {
      Authorization: `Bearer ${TOKEN}`,
      Host: `localhost:${dash.port}`,
    });
    assert.equal(reply.status, 421);
    const rebinding = await http(dash, 'GET', '/api/v1/devices', {
      Authorization: `Bearer ${TOKEN}`,
      Host: `evil.example:${dash.port}`,
    });
    assert.equal(rebinding.status, 421);
  });

  test('a cross-origin POST with the right token is still refused (403)', async () => {
    const reply = await http(
      dash,
      'POST',
      '/api/v1/devices',
      { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', Origin: 'http://evil.example' },
      JSON.stringify({ address: '127.0.0.9' }),
    );
    assert.equal(reply.status, 403);
  });

  test('passwords: given, used, saved 0600 — never in a response, the history or another state file', async () => {
    const SECRET = 'pw-Zq8-never-echoed';
    const auth = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
    const added = await http(
      dash,
      'POST',
      '/api/v1/devices',
      auth,
      JSON.stringify({ name: 'vault', address: '127.0.0.9', password: SECRET }),
    );
    assert.equal(added.status, 201);
    assert.ok(!added.text.includes(SECRET));
    const responses = [
      await http(dash, 'GET', '/api/v1/devices', auth),
      await http(dash, 'GET', '/api/v1/history', auth),
      await http(dash, 'GET', '/api/v1/updates', auth),
    ];
    for (const r of responses) assert.ok(!r.text.includes(SECRET));
    // Every file of the state folder, the private upload folder's included.
    for (const name of await readdir(dir, { recursive: true })) {
      if ((await stat(join(dir, name))).isDirectory()) continue;
      const text = await readFile(join(dir, name), 'utf8');
      if (name === 'passwords.json') {
        assert.ok(text.includes(SECRET));
        assert.equal((await stat(join(dir, name))).mode & 0o777, 0o600);
      } else assert.ok(!text.includes(SECRET), name);
    }
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  });
});
