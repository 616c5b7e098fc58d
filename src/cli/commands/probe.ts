import { isIP } from 'node:net';
import { AirflashError, EXIT } from '../../core/errors.ts';
import { type ProbeResult, probe } from '../../protocols/arduino-ota/host/probe.ts';
import { hostResolver, mdnsSettings } from '../mdns.ts';
import { type OptionSpec, parseCommandArgs } from '../options.ts';
import { safeBlock, safeJson, safeText } from '../render/safe-text.ts';
import type { Command } from '../types.ts';

const HELP = `Usage: airflash probe HOST [-p PORT] [--json]
       airflash probe http://HOST[:PORT] [--json]   (which web updater answers, by GETs only)

Ask a device what OTA service it runs, without changing its firmware:
  - whether an ArduinoOTA service answers, and on which UDP port (without -p: 3232, 8266 and the
    port the device advertises over mDNS);
  - whether it wants a password, and which auth generation it speaks: a 32-hex nonce (MD5) means
    an ESP8266 core or arduino-esp32 ≤ 3.3.0, a 64-hex nonce (SHA-256/PBKDF2) arduino-esp32 ≥ 3.3.1;
  - how often its loop() calls ArduinoOTA.handle() (ESP32 reads one datagram per call, so the time
    between answers to a few invitations is the period, whatever the phase; an ESP8266 with a
    password answers from its network callback, so its loop cannot be seen);
  - its mDNS advertisement (board, auth_upload), if any.

How it stays safe: it invites the device to an update of size 0, which no device can begin. An
ESP32 answers OK and its Update.begin(0) fails silently at the next handle() call; an ESP8266
answers "ERR: ERROR[5]: Bad Size Given" (or "Invalid bootstrapping …": then reset it once).
Either way the sketch's onError callback runs once per invitation ("Begin Failed"). A device that
asks for a password gets "0\\n", which ends its wait for the auth line silently. Nothing is written
to flash, and the device is idle and ready for an upload afterwards.

Options:
  -p, --port PORT     ask this UDP port only (add --all-ports to try the others when it is silent)
  --all-ports         with -p: also ask 3232, 8266 and the mDNS port when PORT is silent
  --timeout S         wait this long for a first answer (default 35: a loop() with delay(30000)
                      answers late)
  --samples N         loop-period samples (default 2; each costs one or two loop periods)
  --no-loop           do not measure the loop period (one invitation per port)
  --mdns              browse mDNS for the device's advertisement (default only for a name, not
                      for an IP address: browsing sends queries on every interface)
  --no-mdns           do not browse mDNS
  --interface NAME    mDNS (browsing, NAME.local) on this interface (name or IPv4 address;
                      lo / 127.0.0.1 for "airflash emulate --mdns" devices)
  -I, --host_ip IP    send from this local address
  --time-scale F      multiply the default waits (emulated devices)
  --json              the whole result as one JSON object on stdout
  -h, --help          show this help

Exit status: 0 an ArduinoOTA service answered (on PORT, when given); 1 none did; 2 usage error.
`;

export const PROBE_OPTIONS = [
  { long: 'port', short: 'p', kind: 'number', arg: 'PORT', help: 'ask this UDP port only' },
  { long: 'all-ports', kind: 'flag', help: 'with -p: also ask 3232, 8266 and the mDNS port' },
  { long: 'timeout', kind: 'number', arg: 'S', help: 'wait this long for a first answer (default 35)' },
  { long: 'samples', kind: 'number', arg: 'N', help: 'loop-period samples (default 2)' },
  { long: 'no-loop', kind: 'flag', help: 'do not measure the loop period' },
  { long: 'mdns', kind: 'flag', help: 'browse mDNS also for an IP address (a name always does)' },
  { long: 'no-mdns', kind: 'flag', help: 'do not browse mDNS' },
  {
    long: 'interface',
    kind: 'string',
    arg: 'NAME',
    help: 'browse mDNS on this interface (lo / 127.0.0.1 for emulated devices)',
  },
  { long: 'host_ip', short: 'I', kind: 'string', arg: 'IP', help: 'send from this local address' },
  { long: 'time-scale', kind: 'number', arg: 'F', help: 'multiply the default waits', hidden: true },
  { long: 'json', kind: 'flag', help: 'the whole result as one JSON object' },
  { long: 'help', short: 'h', kind: 'flag', help: 'show this help' },
] as const satisfies readonly OptionSpec[];

function positive(text: string | undefined, what: string, integer = false): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new AirflashError(
      'BAD_ARGUMENT',
      `${what} must be a positive ${integer ? 'whole ' : ''}number, not "${text}".`,
      {
        hint: 'airflash probe --help',
      },
    );
  return n;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** The human report of a probe. */
export function renderProbe(r: ProbeResult): string {
  const lines: string[] = [r.summary];
  const row = (label: string, value: string): void => {
    lines.push(`  ${`${label}:`.padEnd(14)}${value}`);
  };
  for (const p of r.ports) {
    const what =
      p.outcome === 'answered'
        ? `answered ${JSON.stringify(p.text ?? '')} after ${seconds(p.latencyMs ?? 0)}`
        : p.outcome === 'refused'
          ? 'closed (ICMP port unreachable: nothing listens there)'
          : `no answer within ${seconds(p.waitedMs)}`;
    row(`UDP ${p.port}`, `${what}${p.source === 'mdns' ? ' (port from mDNS)' : ''}`);
  }
  if (r.reply !== undefined && r.reply !== 'other') {
    row(
      'password',
      r.authRequired
        ? `yes — ${r.authScheme === 'sha256' ? 'SHA-256/PBKDF2 challenge (64-hex nonce)' : 'MD5 challenge (32-hex nonce)'}`
        : 'no',
    );
    row('core', `${r.core.range}${r.core.why.length ? ` — ${r.core.why.join('; ')}` : ''}`);
    const l = r.loop;
    if (l.kind === 'measured' && l.periodMs !== undefined)
      row(
        'loop period',
        `about ${seconds(l.periodMs)} between handle() calls (answers ${l.gapsMs.map((g) => seconds(g)).join(', ')} apart${l.handleCallsPerGap === 2 ? '; each gap spans two handle() calls' : ''}) — ${l.why}`,
      );
    else if (l.kind === 'fast') row('loop period', `short: ${l.why}`);
    else row('loop period', l.why);
    if (r.deviceError) row('device said', r.deviceError);
  }
  if (r.mdns !== undefined)
    row(
      'mDNS',
      r.mdns.length === 0
        ? 'no _arduino._tcp advertisement for this device'
        : r.mdns
            .map(
              (m) =>
                `${m.name} (${m.host}) port ${m.port}${m.board ? ` board=${m.board}` : ''}${m.authUpload === undefined ? '' : ` auth_upload=${m.authUpload ? 'yes' : 'no'}`}`,
            )
            .join('; '),
    );
  for (const n of r.notes) lines.push(`  note: ${n}`);
  for (const s of r.sideEffects) lines.push(`  side effect: ${s}`);
  return `${lines.map(safeText).join('\n')}\n`;
}

export const command: Command = {
  name: 'probe',
  summary: 'Ask a device what OTA service it runs, without changing its firmware',
  help: HELP,
  options: PROBE_OPTIONS,
  async run(argv, io) {
    const parsed = parseCommandArgs(argv, PROBE_OPTIONS, 'probe');
    const v = parsed.values;
    if (v.help === true) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    const [host, ...rest] = parsed.positionals;
    if (host === undefined || rest.length > 0)
      throw new AirflashError(
        'BAD_ARGUMENT',
        host === undefined ? 'No device given.' : `Unexpected argument "${rest[0]}".`,
        { hint: 'Usage: airflash probe HOST [-p PORT] [--json]' },
      );
    // Web OTA (issue 18): an http:// device is identified by read-only GETs (probe-web.ts).
    if (/^http:\/\//i.test(host))
      return (await import('./probe-web.ts')).runWebProbe(
        host,
        v.json === true,
        Math.round((positive(v.timeout, '--timeout') ?? 5) * 1000),
        io,
      );
    const port = positive(v.port, '--port', true);
    if (port !== undefined && port > 65535)
      throw new AirflashError('BAD_ARGUMENT', `--port must be 1-65535, not ${port}.`);
    const timeScale = positive(v['time-scale'], '--time-scale');
    const timeout = positive(v.timeout, '--timeout');
    const samples = positive(v.samples, '--samples', true);
    // --interface (lo for emulated devices) and, for tests, a private group port.
    const mdns = mdnsSettings(v.interface, io.env);
    const json = v.json === true;
    const result = await probe(host, {
      ...(port === undefined ? {} : { port }),
      ...(v['all-ports'] === true ? { alternatives: true } : {}),
      ...(timeout === undefined ? {} : { timeoutMs: Math.round(timeout * 1000) }),
      ...(samples === undefined ? {} : { samples }),
      ...(v['no-loop'] === true ? { loop: false } : {}),
      mdns: !(v['no-mdns'] === true || (v.mdns !== true && isIP(host) !== 0)),
      browse: async (o) => (await import('../../discovery/index.ts')).discoverAll({ ...mdns, ...o }),
      ...(v.host_ip === undefined ? {} : { hostIp: v.host_ip }),
      ...(timeScale === undefined ? {} : { timeScale }),
      resolve: hostResolver(mdns),
      onNote: (m) => io.stderr.write(`${safeBlock(m)}\n`),
      signal: io.signal,
    });
    // The device's words and mDNS names are in there: printed escaped.
    if (json) io.stdout.write(`${safeJson(result)}\n`);
    else io.stdout.write(safeBlock(renderProbe(result)));
    return result.answered ? EXIT.ok : EXIT.failed;
  },
};
