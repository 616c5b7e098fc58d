import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { abortError, throwIfAborted } from '../core/abort.ts';
import { AirflashError } from '../core/errors.ts';

export interface ResolvedTarget {
  address: string;
  family: 4 | 6;
  resolvedBy: 'literal' | 'resolver';
}

/** Strip `[...]` around an IPv6 literal. */
export function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Normalise an address as Node reports it (`::ffff:1.2.3.4` → `1.2.3.4`). */
export function normaliseAddress(address: string): string {
  const a = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  return a.toLowerCase();
}

export async function resolveTarget(
  host: string,
  resolver: ((host: string, options: { signal?: AbortSignal }) => Promise<string[]>) | undefined,
  signal: AbortSignal | undefined,
): Promise<ResolvedTarget> {
  throwIfAborted(signal);
  const bare = bareHost(host.trim());
  if (bare === '')
    throw new AirflashError('BAD_ARGUMENT', 'No device address given.', {
      hint: 'Pass the device with -i ADDRESS (an IP address, a host name or NAME.local).',
    });
  const literal = isIP(bare.split('%')[0] ?? '');
  if (literal !== 0) return { address: bare, family: literal === 6 ? 6 : 4, resolvedBy: 'literal' };
  let addresses: string[];
  try {
    addresses = resolver
      ? await resolver(bare, signal ? { signal } : {})
      : (await lookup(bare, { all: true })).map((a) => a.address);
  } catch (error) {
    if (signal?.aborted) throw abortError(signal);
    if (error instanceof AirflashError) throw error;
    throw new AirflashError('HOST_NOT_FOUND', `Cannot resolve "${bare}": ${(error as Error).message}`, {
      cause: error,
      hint: bare.endsWith('.local')
        ? 'Use the device IP address, or make mDNS work (Bonjour on Windows, avahi + nss-mdns on Linux).'
        : 'Check the spelling, or use the device IP address (the serial monitor or your router shows it).',
    });
  }
  const v4 = addresses.find((a) => isIP(a) === 4);
  const chosen = v4 ?? addresses.find((a) => isIP(a) === 6);
  if (chosen === undefined)
    throw new AirflashError('HOST_NOT_FOUND', `"${bare}" resolved to no usable address.`, {
      hint: 'Use the device IP address.',
    });
  return { address: chosen, family: isIP(chosen) === 6 ? 6 : 4, resolvedBy: 'resolver' };
}

/**
 * The local address the OS would use to reach `address` (a connected UDP socket sends nothing).
 * Returns undefined when there is no route.
 */
export async function localAddressFor(address: string, family: 4 | 6): Promise<string | undefined> {
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  try {
    return await new Promise<string | undefined>((resolve) => {
      socket.once('error', () => resolve(undefined));
      socket.connect(9, address, () => {
        try {
          resolve(socket.address().address);
        } catch {
          resolve(undefined);
        }
      });
    });
  } finally {
    try {
      socket.close();
    } catch {
      // already closed
    }
  }
}

export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}
