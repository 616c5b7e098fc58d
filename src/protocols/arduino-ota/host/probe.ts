/**
 * `probe()`: ask a device what OTA service it runs — whether ArduinoOTA answers, on which port,
 * whether it wants a password and which auth generation it speaks, how often its loop() calls
 * ArduinoOTA.handle() — without changing its firmware, and leave it idle (docs/diagnosis.md).
 * The one probe: `followUp()` (after an unanswered upload) and `probeDevice()` (the fleet's and
 * dashboard's "is it there?") ask through the same sockets (probe-socket.ts).
 *
 * Safety (protocol.md §2.4, §3.4, §5):
 * - The invitation announces size 0, which no device can begin: ESP32 answers `OK` and its
 *   `Update.begin(0)` fails silently at the next handle() (the sketch's onError runs with
 *   OTA_BEGIN_ERROR); ESP8266 answers `ERR: ERROR[n]: …` from handle() (onError runs too). The TCP
 *   port in the invitation belongs to a listener that closes anything that connects.
 * - A device that answered `AUTH` waits for an auth line; the next datagram of any kind ends that.
 *   We send `0\n` (first number ≠ 200: a failed auth line, silent → IDLE; an idle device ignores
 *   it, the command is neither 0 nor 100).
 * - Ports that stayed silent get `0\n` too, in case a slow device reads our invitation later.
 */
import { throwIfAborted } from '../../../core/abort.ts';
import { AirflashError } from '../../../core/errors.ts';
import { DEFAULT_PORT } from '../../../devices/family.ts';
import { coreFrom } from './probe-core.ts';
import { measureLoop } from './probe-loop.ts';
import { checkMdns, lookupMdns } from './probe-mdns.ts';
import { probeSummary } from './probe-report.ts';
import { type AskState, askPorts, openContext, sendIdle, settleAfter } from './probe-socket.ts';
import type { MdnsSeen, PortCheck, ProbeLoop, ProbeOptions, ProbeResult } from './probe-types.ts';

export type { ProbeOptions, ProbeResult } from './probe-types.ts';

/**
 * Probe a device. Without `port` it asks 3232, 8266 and the port advertised over mDNS. Resolves
 * with what it found (also when nothing answered); throws HOST_NOT_FOUND, NETWORK_ERROR,
 * BAD_ARGUMENT (a bad port; `mdns` without `browse`) or INTERRUPTED only.
 */
export async function probe(host: string, options?: ProbeOptions): Promise<ProbeResult>;
export async function probe(options: ProbeOptions & { host: string }): Promise<ProbeResult>;
export async function probe(
  hostOrOptions: string | (ProbeOptions & { host: string }),
  maybeOptions: ProbeOptions = {},
): Promise<ProbeResult> {
  const options: ProbeOptions = typeof hostOrOptions === 'string' ? maybeOptions : hostOrOptions;
  const host = typeof hostOrOptions === 'string' ? hostOrOptions : hostOrOptions.host;
  if (
    options.port !== undefined &&
    !(Number.isInteger(options.port) && options.port >= 1 && options.port <= 65535)
  )
    throw new AirflashError('BAD_ARGUMENT', `The port must be 1-65535, not ${options.port}.`);
  const { signal } = options;
  const scale = options.timeScale ?? 1;
  const timeoutMs = options.timeoutMs ?? Math.round(35_000 * scale);
  const samples = Math.max(1, Math.min(10, options.samples ?? 2));
  const note = options.onNote;
  throwIfAborted(signal);
  checkMdns(options.mdns, options.browse);
  const started = performance.now();
  const ctx = await openContext(host, {
    ...(options.resolve ? { resolve: options.resolve } : {}),
    ...(options.hostIp ? { hostIp: options.hostIp } : {}),
    ...(signal ? { signal } : {}),
  });
  const sideEffects: string[] = [];
  const notes: string[] = [];
  try {
    const mdnsPromise = lookupMdns(options.mdns, options.browse, host, ctx.address, signal);
    let states: AskState[];
    let mdns: MdnsSeen[] | undefined;
    const candidates = (
      seen: MdnsSeen[] | undefined,
    ): Array<{ port: number; source: PortCheck['source'] }> => {
      const list: Array<{ port: number; source: PortCheck['source'] }> = [
        { port: DEFAULT_PORT.esp32, source: 'esp32-default' },
        { port: DEFAULT_PORT.esp8266, source: 'esp8266-default' },
        ...(seen ?? []).map((m) => ({ port: m.port, source: 'mdns' as const })),
      ];
      return list.filter((w, i) => list.findIndex((x) => x.port === w.port) === i);
    };
    const grace = Math.max(200, Math.round(1000 * scale));
    if (options.port !== undefined) {
      note?.(`asking ${ctx.address}:${options.port}…`);
      states = await askPorts(ctx, [{ port: options.port, source: 'given' }], timeoutMs, grace, signal);
      mdns = (await mdnsPromise)?.seen;
      const first = states[0] as AskState;
      if (first.check.outcome !== 'answered' && options.alternatives === true) {
        const more = candidates(mdns).filter((c) => c.port !== options.port);
        if (more.length > 0) {
          note?.(`no answer on ${options.port}; asking ${more.map((m) => m.port).join(', ')}…`);
          states.push(...(await askPorts(ctx, more, timeoutMs, grace, signal)));
        }
      }
    } else {
      mdns = (await mdnsPromise)?.seen;
      const list = candidates(mdns);
      note?.(`asking ${ctx.address} on UDP ${list.map((c) => c.port).join(', ')}…`);
      states = await askPorts(ctx, list, timeoutMs, grace, signal);
    }
    const answered = states.find((s) => s.check.outcome === 'answered' && s.check.reply !== 'other');
    const other = states.find((s) => s.check.outcome === 'answered');
    const main = answered ?? other;
    const primaryPort = options.port ?? main?.check.port ?? DEFAULT_PORT.esp32;
    const answeredOnPrimary =
      answered !== undefined && (options.port === undefined || answered.check.port === options.port);
    if (answered && options.port !== undefined && answered.check.port !== options.port)
      notes.push(
        `Nothing answered on port ${options.port}, but ArduinoOTA answers on port ${answered.check.port}: upload with -p ${answered.check.port}.`,
      );
    for (const m of mdns ?? [])
      if (answered && m.port !== answered.check.port)
        notes.push(`mDNS advertises port ${m.port}, but the service answered on ${answered.check.port}.`);

    let loop: ProbeLoop = { kind: 'none', gapsMs: [], why: 'nothing answered' };
    let measured = false;
    // The round trip: the quickest ICMP refusal seen (the kernel answers at once).
    const rttMs = Math.min(
      ...states
        .filter((s) => s.check.outcome === 'refused')
        .map((s) => s.check.latencyMs ?? Number.POSITIVE_INFINITY),
    );
    const reply = answered?.check.reply;
    if (answered) {
      note?.(
        `port ${answered.check.port} answered ${JSON.stringify(answered.check.text)} after ${((answered.check.latencyMs ?? 0) / 1000).toFixed(2)} s`,
      );
      if (reply === 'ok')
        sideEffects.push(
          'ESP32: each probe invitation (size 0) was answered OK; its Update.begin(0) then failed silently at the next handle() call, so the sketch’s onError callback ran with OTA_BEGIN_ERROR ("Begin Failed"). Nothing was written to flash.',
        );
      else if (reply === 'error')
        sideEffects.push(
          'ESP8266: each probe invitation (size 0) made Update.begin() fail; the device answered ERR and its onError callback ran with OTA_BEGIN_ERROR. Nothing was written to flash.',
        );
      else if (reply === 'auth')
        sideEffects.push(
          'The device answered AUTH; the probe then sent "0\\n", which the device takes as a failed auth line and returns to idle silently (no "Authentication Failed", no onError). Nothing was written to flash.',
        );
      if (reply === 'error' && answered.check.text) {
        const text = answered.check.text.replace(/^ERR:?\s?/, '').trim();
        if (/bootstrapping/i.test(text))
          notes.push(
            `The ESP8266 says "${text}": it still runs in the boot mode of its last serial upload. Press RESET (or power-cycle) once, or every OTA upload will fail.`,
          );
        else if (!/Bad Size Given|No data/i.test(text))
          notes.push(`The ESP8266 refused even an empty update: "${text}".`);
      }
      if (options.loop === false) loop = { kind: 'skipped', gapsMs: [], why: 'not measured (loop: false)' };
      else if (
        reply === 'auth' &&
        answered.check.nonceLength === 32 &&
        (answered.check.port === DEFAULT_PORT.esp8266 || mdns?.[0]?.core === 'esp8266')
      ) {
        // Probably ESP8266: its AUTH comes from the network callback, so the time between two
        // AUTH answers is the network's and the Wi-Fi stack's, never the loop's: do not measure.
        loop = {
          kind: 'not-visible',
          gapsMs: [],
          why: 'an ESP8266 answers invitations (AUTH) from its network callback, even while loop() sits in delay(); only the OK after a successful begin() waits for handle(), and that needs the password — so the loop period cannot be seen from outside (if this is an ESP32 with arduino-esp32 ≤ 3.3.0 on port 8266, its period is not measured either)',
        };
      } else {
        note?.('measuring how often loop() calls ArduinoOTA.handle()…');
        measured = true;
        loop = await measureLoop(ctx, answered, {
          samples,
          timeoutMs,
          scale,
          rttMs,
          firstLatencyMs: answered.check.latencyMs ?? Number.POSITIVE_INFINITY,
          signal,
          ...(note ? { onNote: note } : {}),
        });
      }
    }
    // measureLoop() leaves its own port idle; every other port that may wait for auth gets `0\n`.
    await sendIdle(states, measured ? answered?.session : undefined);
    await settleAfter(states, scale, signal);

    const core = coreFrom(reply, answered?.check.nonceLength, answered?.check.port ?? primaryPort, mdns);
    const base: Omit<ProbeResult, 'summary'> = {
      host,
      address: ctx.address,
      answered: answeredOnPrimary,
      port: answered?.check.port ?? primaryPort,
      ports: states.map((s) => s.check),
      ...(main?.check.reply === undefined ? {} : { reply: main.check.reply }),
      ...(main?.check.text === undefined ? {} : { replyText: main.check.text }),
      ...(main?.check.latencyMs === undefined ? {} : { latencyMs: main.check.latencyMs }),
      // ESP8266 sends AUTH before begin(); an ERR answer therefore means no password.
      ...(answered ? { authRequired: reply === 'auth' } : {}),
      ...(reply === 'auth' && answered?.check.nonceLength !== undefined
        ? {
            nonceLength: answered.check.nonceLength,
            ...(answered.check.nonceLength === 64
              ? { authScheme: 'sha256' as const }
              : answered.check.nonceLength === 32
                ? { authScheme: 'md5' as const }
                : {}),
          }
        : {}),
      core,
      loop,
      ...(loop.kind === 'measured' && loop.periodMs !== undefined ? { loopPeriodMs: loop.periodMs } : {}),
      ...(reply === 'error' && answered?.check.text
        ? { deviceError: answered.check.text.replace(/^ERR:?\s?/, '').trim() }
        : {}),
      ...(mdns === undefined ? {} : { mdns }),
      notes,
      sideEffects,
      durationMs: Math.round(performance.now() - started),
    };
    if (other && !answered)
      notes.push(
        `Port ${other.check.port} answered ${JSON.stringify(other.check.text)}: not an ArduinoOTA reply.`,
      );
    return { ...base, summary: probeSummary(base) };
  } finally {
    await ctx.close();
  }
}
