/** Raw HTTP against a dashboard (node:http lets a test set Host, Origin and bodies as it likes). */
import { request } from 'node:http';
import type { Dashboard } from '../../src/dashboard/index.ts';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => Record<string, unknown>;
}

export function http(
  dash: Pick<Dashboard, 'host' | 'port'>,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Uint8Array | string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: dash.host,
        port: dash.port,
        method,
        path,
        headers: { Host: `${dash.host}:${dash.port}`, ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: () => JSON.parse(text) as Record<string, unknown>,
          });
        });
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

export function postJson(dash: Pick<Dashboard, 'host' | 'port'>, path: string, body: unknown) {
  return http(dash, 'POST', path, {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

export function postImage(dash: Pick<Dashboard, 'host' | 'port'>, bytes: Uint8Array, name = 'firmware.bin') {
  return http(dash, 'POST', '/api/v1/images', {
    headers: { 'Content-Type': 'application/octet-stream', 'X-Airflash': '1', 'X-Filename': name },
    body: bytes,
  });
}

/** Poll an update until it is no longer running. */
export async function waitForUpdate(
  dash: Pick<Dashboard, 'host' | 'port'>,
  id: string,
  timeoutMs = 30_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = await http(dash, 'GET', `/api/v1/updates/${encodeURIComponent(id)}`);
    const update = reply.json()['update'] as Record<string, unknown>;
    if (update['state'] !== 'running') return update;
    if (Date.now() > deadline) throw new Error('update did not finish');
    await new Promise((r) => setTimeout(r, 50));
  }
}
