/**
 * `airflash probe http://HOST[:PORT]`: which web updater answers (by read-only requests only,
 * protocols-next.md §2.7), its version, chip and what an upload needs. The password and user come
 * from AIRFLASH_PASSWORD / AIRFLASH_HTTP_USER (a protected page is then asked again, still a GET).
 */
import { AirflashError, EXIT } from '../../core/errors.ts';
import { parseTarget } from '../../protocols/registry.ts';
import { hostHeader } from '../../protocols/web-ota/host/attempt.ts';
import { identifyDevice } from '../../protocols/web-ota/host/identify.ts';
import { HTTP_DEFAULT_PORT } from '../../protocols/web-ota/index.ts';
import type { WebIdentity } from '../../protocols/web-ota/wire/identify.ts';
import { PROFILES } from '../../protocols/web-ota/wire/profiles/index.ts';
import { resolveTarget } from '../../transport/node.ts';
import { safeJson, safeText } from '../render/safe-text.ts';
import type { CliIO } from '../types.ts';

const NEEDS: Record<WebIdentity['needs'][number], string> = {
  auth: 'a user and password (--user, -a)',
  origin: 'Origin: http://HOST (CSRF rule; airflash sends it)',
  referer: 'Referer: http://HOST/ (airflash sends it)',
  pin: "WLED's settings PIN entered on the device",
  'ota-unlock': 'OTA unlocked in WLED security settings',
  'same-subnet': "a client on WLED's own subnet",
};

export function renderWebProbe(where: string, id: WebIdentity): string {
  const lines: string[] = [];
  const title = id.profile === undefined ? undefined : PROFILES[id.profile].title;
  lines.push(
    title
      ? `${where}: ${title}${id.version ? ` ${id.version}` : ''} (web OTA profile ${id.profile})`
      : id.http
        ? `${where}: answers HTTP, but no known web updater was recognised${id.needs.includes('auth') ? ' (its update page wants a password)' : ''}`
        : `${where}: nothing answers HTTP`,
  );
  const row = (label: string, value: string): void => {
    lines.push(`  ${`${label}:`.padEnd(10)}${value}`);
  };
  if (id.server) row('server', id.server);
  if (id.chip) row('chip', id.chip);
  if (id.release) row('release', id.release);
  if (id.auth) row('auth', id.auth === 'digest' ? 'Digest' : 'Basic');
  if (id.http)
    row('needs', id.needs.length === 0 ? 'nothing more' : id.needs.map((n) => NEEDS[n]).join('; '));
  if (id.profile) row('upload', `airflash upload -f FILE ${where}`);
  return `${lines.map(safeText).join('\n')}\n`;
}

export async function runWebProbe(
  text: string,
  json: boolean,
  timeoutMs: number,
  io: CliIO,
): Promise<number> {
  const target = parseTarget(text);
  if (target.scheme !== 'http')
    throw new AirflashError('BAD_ARGUMENT', `"${text}" is not an http:// device.`, {
      hint: 'airflash probe http://HOST[:PORT]',
    });
  const port = target.port ?? HTTP_DEFAULT_PORT;
  const a = await resolveTarget(target.host, undefined, io.signal);
  const password = io.env['AIRFLASH_PASSWORD'];
  const id = await identifyDevice({
    address: a.address,
    port,
    host: hostHeader(target.host, port),
    timeoutMs,
    ...(password ? { credentials: { user: io.env['AIRFLASH_HTTP_USER'] || 'admin', password } } : {}),
    ...(io.signal ? { signal: io.signal } : {}),
  });
  if (json) io.stdout.write(`${safeJson({ target: text, ...id })}\n`);
  else io.stdout.write(renderWebProbe(text, id));
  return id.profile === undefined ? EXIT.failed : EXIT.ok;
}
