/**
 * The protocol registry: `registerProtocol()` adds a protocol family (public API), and
 * `pickProtocol()` chooses one for a target, in this order:
 *   1. an explicit scheme (`arduino-ota://host:port`, `esphome://`, `serial:///dev/ttyUSB0`, later `http://`);
 *   2. the mDNS service the target was discovered under;
 *   3. what a probe found (`hints.probed`: the id of the protocol that answered);
 *   4. the port (a protocol's default ports);
 *   5. the family default: the first registered protocol (ArduinoOTA, builtin.ts), so a bare
 *      `-i HOST` behaves exactly as espota does.
 * A bare target whose protocol then finds nothing there (one of its `absentCodes`) is probed by
 * the protocols that declare a `detectOrder` (`detectionOrder`); the one that answers is picked
 * as step 3, a probe hint.
 */

import { AirflashError } from '../core/errors.ts';
import type { OtaProtocol, Target } from './types.ts';

/** A registered protocol: the front hands it its own options object and keeps its observation opaque. */
export type RegisteredProtocol = OtaProtocol<object, unknown>;
type AnyProtocol = RegisteredProtocol;

const protocols: AnyProtocol[] = [];

/**
 * Add a protocol family. Its `id` (and each of its `schemes`) must be new; the first protocol
 * registered is the family default.
 */
export function registerProtocol<Options extends object, Observation>(
  protocol: OtaProtocol<Options, Observation>,
): void {
  if (!/^[a-z][a-z0-9+.-]*$/.test(protocol.id))
    throw new AirflashError(
      'BAD_ARGUMENT',
      `A protocol id must be a URL scheme (lower case, digits, + . -), not "${protocol.id}".`,
    );
  const names = [protocol.id, ...(protocol.schemes ?? [])];
  for (const p of protocols)
    for (const name of names)
      if (p.id === name || p.schemes?.includes(name))
        throw new AirflashError('BAD_ARGUMENT', `A protocol for "${name}" is registered already (${p.id}).`);
  protocols.push(protocol as RegisteredProtocol);
}

/** The registered protocols, the family default first. */
export function listProtocols(): readonly AnyProtocol[] {
  return protocols;
}

/** What else is known about a target when a protocol is picked. */
export interface PickHints {
  /** The id of the protocol whose probe answered. */
  probed?: string;
}

const bySchemeName = (name: string): AnyProtocol | undefined =>
  protocols.find((p) => p.id === name || p.schemes?.includes(name));

/** The protocol for a target (see the order above). */
export function pickProtocol(target: Target, hints: PickHints = {}): AnyProtocol {
  if (target.scheme !== undefined) {
    const p = bySchemeName(target.scheme);
    if (p) return p;
    throw new AirflashError('BAD_ARGUMENT', `No protocol is registered for "${target.scheme}://".`, {
      hint: `Known: ${protocols.map((x) => `${x.id}://`).join(', ')}; or name the device without a scheme.`,
    });
  }
  if (target.service !== undefined) {
    const service = target.service;
    const p = protocols.find((x) => x.services?.includes(service));
    if (p) return p;
  }
  if (hints.probed !== undefined) {
    const p = bySchemeName(hints.probed);
    if (p) return p;
  }
  if (target.port !== undefined) {
    const port = target.port;
    const p = protocols.find((x) => x.ports?.includes(port));
    if (p) return p;
  }
  const first = protocols[0];
  if (first === undefined)
    throw new AirflashError('INTERNAL', 'No protocol is registered (import src/protocols/builtin.ts).');
  return first;
}

/**
 * The protocols to probe, in their declared `detectOrder`, when `picked` failed with `code` on a
 * bare target (no scheme, no service): empty unless `code` is one of `picked.absentCodes`, so
 * nothing extra happens on the default path.
 */
export function detectionOrder(
  picked: RegisteredProtocol,
  target: Target,
  code: string,
): RegisteredProtocol[] {
  if (target.scheme !== undefined || target.service !== undefined) return [];
  if (!picked.absentCodes?.includes(code)) return [];
  return protocols
    .filter((p) => p !== picked && p.detectOrder !== undefined && p.probe !== undefined)
    .sort((a, b) => (a.detectOrder as number) - (b.detectOrder as number));
}

/** The longest device path an addressless target may name. */
export const MAX_DEVICE_PATH = 1024;

/** `scheme://DEVICE` of an addressless protocol (serial): an absolute path, or one name (`COM3`, `auto`). */
function deviceTarget(text: string, scheme: string, rest: string): Target {
  const forms = `Write ${scheme}:///dev/ttyUSB0 (a path: three slashes), ${scheme}://COM3 or ${scheme}://auto.`;
  const bad = (why: string): AirflashError =>
    new AirflashError('BAD_ARGUMENT', `"${text}" ${why}`, { hint: forms });
  if (rest === '' || rest === '/') throw bad(`names no device after ${scheme}://.`);
  if (rest.length > MAX_DEVICE_PATH)
    throw bad(`names a device path longer than ${MAX_DEVICE_PATH} characters.`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(rest)) throw bad('holds a control character.');
  if (rest.startsWith('/')) return { host: rest, scheme, path: rest };
  if (rest.includes('/'))
    throw bad(
      `names a host and a path; a ${scheme} device is local (the path follows ${scheme}:// directly).`,
    );
  if (rest.includes(':')) throw bad(`names a port; a ${scheme} device has none.`);
  if (!/^[A-Za-z0-9._-]+$/.test(rest)) throw bad('is not a device path or a port name.');
  return { host: rest, scheme, path: rest };
}

/**
 * Split a target as written: `scheme://host[:port][/path]` (IPv6 in brackets), a registered
 * addressless protocol's `scheme://DEVICE` (`serial:///dev/ttyUSB0`, `serial://COM3`,
 * `serial://auto`: host and path are the device, `port` does not apply), or a bare host (returned
 * as it is: a bare `-i HOST` is never re-read). `port` is used when the text names none.
 */
export function parseTarget(text: string, port?: number): Target {
  const trimmed = text.trim();
  const m = /^([a-z][a-z0-9+.-]*):(\/\/)?(.*)$/is.exec(trimmed);
  const scheme = m ? (m[1] as string).toLowerCase() : '';
  const addressless = m !== null && bySchemeName(scheme)?.addressless === true;
  if (addressless && m[2] === undefined)
    throw new AirflashError('BAD_ARGUMENT', `"${text}" needs // after ${scheme}:.`, {
      hint: `Write ${scheme}:///dev/ttyUSB0, ${scheme}://COM3 or ${scheme}://auto.`,
    });
  if (m === null || m[2] === undefined) return port === undefined ? { host: text } : { host: text, port };
  const rest = m[3] as string;
  if (addressless) return deviceTarget(text, scheme, rest);
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 || slash === rest.length - 1 ? undefined : rest.slice(slash);
  const hp = /^(\[[^\]]+\]|[^:?#]*)(?::(\d+))?$/.exec(authority);
  if (hp === null || hp[1] === '')
    throw new AirflashError('BAD_ARGUMENT', `"${text}" names no device after ${scheme}://.`, {
      hint: `Write ${scheme}://HOST or ${scheme}://HOST:PORT.`,
    });
  const host = (hp[1] as string).replace(/^\[(.*)\]$/, '$1');
  const named = hp[2] === undefined ? port : Number(hp[2]);
  if (named !== undefined && (!Number.isInteger(named) || named < 1 || named > 65535))
    throw new AirflashError('BAD_ARGUMENT', `The port in "${text}" must be from 1 to 65535.`);
  return {
    host,
    scheme,
    ...(named === undefined ? {} : { port: named }),
    ...(path === undefined ? {} : { path }),
  };
}
