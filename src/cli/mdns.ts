/**
 * The mDNS settings every command shares: `--interface NAME` (an interface name such as `eth0`
 * or `lo`, or one of its IPv4 addresses; loopback only when asked for, which is how emulated
 * devices are reached) and, for tests, a private group port from AIRFLASH_MDNS_PORT.
 */
import { AirflashError } from '../core/errors.ts';

export interface MdnsSettings {
  interface?: string;
  mdnsPort?: number;
}

/** The settings from `--interface` and the environment. */
export function mdnsSettings(iface: string | undefined, env: NodeJS.ProcessEnv): MdnsSettings {
  const text = env['AIRFLASH_MDNS_PORT'];
  let mdnsPort: number | undefined;
  if (text !== undefined && text !== '') {
    mdnsPort = Number(text);
    if (!Number.isInteger(mdnsPort) || mdnsPort < 1 || mdnsPort > 65535)
      throw new AirflashError(
        'BAD_ARGUMENT',
        `AIRFLASH_MDNS_PORT must be a UDP port (1-65535), not "${text}".`,
      );
  }
  return {
    ...(iface === undefined ? {} : { interface: iface }),
    ...(mdnsPort === undefined ? {} : { mdnsPort }),
  };
}

/** A resolver for upload / probe: IP literals as they are, names by the OS, `.local` by mDNS. */
export function hostResolver(
  settings: MdnsSettings,
): (host: string, options: { signal?: AbortSignal }) => Promise<string[]> {
  return async (host, options) => {
    const { resolveHost } = await import('../discovery/index.ts');
    return resolveHost(host, { ...settings, ...(options.signal ? { signal: options.signal } : {}) });
  };
}
