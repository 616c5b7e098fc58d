/**
 * `probeDevice()`: the short "is it there?" of fleet uploads and the dashboard, asked through the
 * one probe's sockets (probe-socket.ts) so it leaves the device idle the same way:
 * - ESP32 without password: `OK` at once, then `Update.begin(0)` fails at the next handle() and it
 *   is idle again (its error callback reports "Begin Failed").
 * - ESP8266 without password: `ERR: ...` (the Updater's text) at the next handle(), idle ~100 ms later.
 * - Any device with a password: `AUTH <nonce>`, answered with `0\n`, which the device takes as a
 *   bad auth line and silently returns to idle (protocol.md §3.4).
 * The invitation is sent at most 3 times while nothing answered; each extra invitation a device in
 * WAITAUTH receives also returns it to idle, so it ends idle whatever the count (docs/fleet.md).
 *
 * The socket is connected, so a port where nothing listens is seen at once (ICMP port
 * unreachable); then the other default ports are asked (and the port given again, for the rest of
 * the wait: a device still booting refuses until ArduinoOTA.begin()), and a device that answers
 * on another port is reported `answersOn` that port — a wrong port, not an offline device.
 */
import { sleep, throwIfAborted } from '../../../core/abort.ts';
import { DEFAULT_PORT } from '../../../devices/family.ts';
import type { FamilyEvidence } from '../../types.ts';
import { deviceKey, lockDevices } from './host-lock.ts';
import { detectCore, familyEvidence, familyUnknownWhy } from './probe-core.ts';
import { type AskState, askPorts, openContext, sendIdle, settleAfter } from './probe-socket.ts';
import type { PortCheck, ProbeDeviceOptions, ProbeOutcome } from './probe-types.ts';

export type { ProbeDeviceOptions, ProbeOutcome } from './probe-types.ts';

/** Sends of the probe invitation within the timeout. */
const PROBE_SENDS = 3;
/** The ports asked when nothing listens on the one given. */
const DEFAULTS = [DEFAULT_PORT.esp32, DEFAULT_PORT.esp8266];

function sourceOf(port: number): PortCheck['source'] {
  if (port === DEFAULT_PORT.esp32) return 'esp32-default';
  if (port === DEFAULT_PORT.esp8266) return 'esp8266-default';
  return 'given';
}

/**
 * Ask whether the device at host:port runs an ArduinoOTA service, leaving it idle. Resolves
 * `{ online: false }` when nothing answered within `timeoutMs` (with `refused` and `answersOn`
 * when nothing listens on that port but another port answers); throws only HOST_NOT_FOUND,
 * NETWORK_ERROR (cannot bind) or INTERRUPTED. No route: `{ online: false }`.
 */
export async function probeDevice(options: ProbeDeviceOptions): Promise<ProbeOutcome> {
  const { signal } = options;
  const scale = options.timeScale ?? 1;
  throwIfAborted(signal);
  const ctx = await openContext(options.host, {
    ...(options.resolve ? { resolve: options.resolve } : {}),
    ...(options.hostIp ? { hostIp: options.hostIp } : {}),
    ...(signal ? { signal } : {}),
    noRoute: 'none',
  });
  if (ctx === undefined)
    return {
      online: false,
      sent: 0,
      ports: [],
      core: { core: 'unknown', evidence: ['no route to the device'] },
    };
  // Its invitations would interleave with an upload's handshake in this process (host-lock.ts):
  // wait for that handshake first, on every port this probe may ask.
  const ports = [options.port, ...(options.alternatives === false ? [] : (options.alternatives ?? DEFAULTS))];
  let unlock: (() => void) | undefined;
  try {
    unlock = await lockDevices(
      ports.map((p) => deviceKey(ctx.address, p)),
      signal,
    );
    const given = { port: options.port, source: 'given' as const };
    const first = await askPorts(ctx, [given], options.timeoutMs, 0, signal, { sends: PROBE_SENDS });
    let asked = first[0] as AskState;
    const states: AskState[] = [];
    let elsewhere: AskState | undefined;
    if (asked.check.outcome === 'refused') {
      // Nothing listens there (now): ask the other ports, and keep asking this one for the rest of
      // the wait (a device still booting refuses until its sketch calls ArduinoOTA.begin()).
      const more = (options.alternatives === false ? [] : [...(options.alternatives ?? DEFAULTS)])
        .filter((p, i, all) => p !== options.port && all.indexOf(p) === i)
        .map((port) => ({ port, source: sourceOf(port) }));
      const left = Math.max(1, options.timeoutMs - asked.check.waitedMs);
      const again = await askPorts(ctx, [given, ...more], left, 0, signal, {
        sends: Math.max(1, PROBE_SENDS - asked.check.sent),
        retryRefused: true,
      });
      const retried = again[0] as AskState;
      retried.check.sent += asked.check.sent;
      // Times from the first invitation to this port.
      if (retried.check.outcome === 'answered' && retried.answerAt !== undefined)
        retried.check.latencyMs = Math.round(retried.answerAt - asked.firstSentAt);
      else retried.check.latencyMs = asked.check.latencyMs ?? 0;
      retried.check.waitedMs += asked.check.waitedMs;
      asked = retried;
      states.push(...again);
      elsewhere = again.slice(1).find((s) => s.check.outcome === 'answered' && s.check.reply !== 'other');
    } else states.push(asked);
    await sendIdle(states);
    if (states.some((s) => s.check.reply === 'auth')) await sleep(Math.max(5, 20 * scale), signal);
    await settleAfter(states, scale, signal);
    const c = asked.check;
    const main = c.outcome === 'answered' ? c : elsewhere?.check;
    return {
      online: c.outcome === 'answered',
      ...(c.reply === undefined ? {} : { answer: c.reply }),
      ...(c.text === undefined ? {} : { text: c.text.slice(0, 80) }),
      ...(c.outcome === 'answered' && c.latencyMs !== undefined ? { latencyMs: c.latencyMs } : {}),
      sent: c.sent,
      address: ctx.address,
      ...(c.outcome === 'refused' ? { refused: true } : {}),
      ...(elsewhere?.check.reply === undefined
        ? {}
        : {
            answersOn: {
              port: elsewhere.check.port,
              answer: elsewhere.check.reply,
              text: (elsewhere.check.text ?? '').slice(0, 80),
              latencyMs: elsewhere.check.latencyMs ?? 0,
            },
          }),
      ports: states.map((s) => s.check),
      core: detectCore({ reply: main?.reply, nonceLength: main?.nonceLength, port: main?.port }),
    };
  } finally {
    unlock?.();
    await ctx.close();
  }
}

/**
 * After an update: wait `graceMs`, then probe until the device answers again (it rebooted into
 * the new firmware and runs ArduinoOTA), for at most `timeoutMs` in total. Returns ms until it
 * answered, or undefined when it did not come back.
 */
export async function waitUntilBack(
  options: Omit<ProbeDeviceOptions, 'timeoutMs'> & {
    graceMs: number;
    timeoutMs: number;
    probeTimeoutMs: number;
  },
): Promise<number | undefined> {
  const started = performance.now();
  await sleep(options.graceMs, options.signal);
  for (;;) {
    const left = options.timeoutMs - (performance.now() - started);
    if (left <= 0) return undefined;
    const r = await probeDevice({
      ...options,
      alternatives: false,
      timeoutMs: Math.max(1, Math.min(options.probeTimeoutMs, left)),
    });
    if (r.online) return Math.round(performance.now() - started);
  }
}

/** What `askFamily()` found on the one port asked. */
export interface FamilyAnswer {
  outcome: PortCheck['outcome'];
  /** The family the answer shows; absent: `why` says what was seen instead. */
  family?: FamilyEvidence;
  why?: string;
  /** Invitations sent. */
  sent: number;
}

/**
 * The chip-family question before an upload (issue 11): the one probe's size-0 invitation to
 * `port` only (sent up to 3 times within `timeoutMs`), the device left idle as by probeDevice().
 * Unlike probeDevice() a refusal (ICMP port unreachable) ends it at once: the upload's own
 * wrong-port fallback asks the next port.
 */
export async function askFamily(options: Omit<ProbeDeviceOptions, 'alternatives'>): Promise<FamilyAnswer> {
  const { signal } = options;
  throwIfAborted(signal);
  const ctx = await openContext(options.host, {
    ...(options.resolve ? { resolve: options.resolve } : {}),
    ...(options.hostIp ? { hostIp: options.hostIp } : {}),
    ...(signal ? { signal } : {}),
  });
  // The same lock as an upload's handshake (host-lock.ts): never between its invitation and auth.
  let unlock: (() => void) | undefined;
  try {
    unlock = await lockDevices([deviceKey(ctx.address, options.port)], signal);
    const states = await askPorts(
      ctx,
      [{ port: options.port, source: sourceOf(options.port) }],
      options.timeoutMs,
      0,
      signal,
      {
        sends: PROBE_SENDS,
      },
    );
    await sendIdle(states);
    const scale = options.timeScale ?? 1;
    if (states.some((s) => s.check.reply === 'auth')) await sleep(Math.max(5, 20 * scale), signal);
    await settleAfter(states, scale, signal);
    const c = (states[0] as AskState).check;
    const family = c.outcome === 'answered' ? familyEvidence(c) : undefined;
    return {
      outcome: c.outcome,
      sent: c.sent,
      ...(family === undefined ? { why: familyUnknownWhy(c) } : { family }),
    };
  } finally {
    unlock?.();
    await ctx.close();
  }
}
