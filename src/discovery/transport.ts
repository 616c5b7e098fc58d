import { createSocket, type Socket } from 'node:dgram';
import { debuglog } from 'node:util';
import { abortError } from '../core/abort.ts';
import { AirflashError } from '../core/errors.ts';
import { inSubnet, type MdnsInterface, selectInterfaces } from './interfaces.ts';
import { MDNS_GROUP_V4, MDNS_PORT, type MdnsEndpoint, type MdnsTransport } from './types.ts';

const debug = debuglog('airflash');

export interface MdnsTransportOptions {
  /**
   * An interface name (`eth0`, `en0`, `lo`) or an IPv4 address on one. Default: every suitable
   * interface (see selectInterfaces). Naming one is the only way to use loopback.
   */
  interface?: string;
  /** Pin to exactly this IPv4 address, e.g. `127.0.0.1` in tests. Wins over `interface`. */
  interfaceAddress?: string;
  /** Group port. Default 5353; tests pass another one, or 0 to pick a free port (read `.port`). */
  port?: number;
  /** Default 224.0.0.251. */
  multicastGroup?: string;
  /**
   * When the group port is taken by a responder that does not share it, bind an ephemeral port
   * instead: queries then get "legacy unicast" answers (RFC 6762 §6.7), enough for browsing and
   * name resolution but not for advertising. Default false.
   */
  fallbackToEphemeral?: boolean;
  signal?: AbortSignal;
}

/** The real, UDP transport. */
export interface UdpMdnsTransport extends MdnsTransport {
  /** The interfaces this transport sends on and listens to. */
  readonly interfaces: readonly MdnsInterface[];
  /** The local UDP port (differs from `port` only after an ephemeral fallback). */
  readonly localPort: number;
  readonly group: string;
}

function bindSocket(socket: Socket, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    socket.once('error', onError);
    socket.bind({ port, address: '0.0.0.0', exclusive: false }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

/**
 * Open a UDP socket on the mDNS group, joined and sending on the chosen interfaces only. Datagrams
 * whose source is outside the subnets of those interfaces are dropped, so traffic reaching the
 * socket from a virtual adapter (or, in tests pinned to 127.0.0.1, from the LAN) is ignored.
 *
 * Loopback: `{ interfaceAddress: '127.0.0.1', port: 0 }` gives a private group on `lo` that
 * never leaves the host (Linux and macOS deliver loopback multicast).
 */
export async function createMdnsTransport(options: MdnsTransportOptions = {}): Promise<UdpMdnsTransport> {
  if (options.signal?.aborted) throw abortError(options.signal);
  const group = options.multicastGroup ?? MDNS_GROUP_V4;
  const pin = options.interfaceAddress ?? options.interface;
  const selection = selectInterfaces(pin === undefined ? {} : { name: pin });
  const interfaces = selection.selected;
  if (interfaces.length === 0) {
    const skipped = selection.skipped.map((s) => `${s.name} (${s.reason})`).join(', ');
    throw new AirflashError('DISCOVERY_FAILED', 'No network interface is suitable for mDNS.', {
      hint: `Connect to the devices' network, or name one with --interface. Skipped: ${skipped || 'none'}.`,
    });
  }
  const wantedPort = options.port ?? MDNS_PORT;
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  socket.on('error', (error) => debug('mdns socket error: %s', error.message));
  let groupPort = wantedPort;
  try {
    await bindSocket(socket, wantedPort);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (options.fallbackToEphemeral && (code === 'EADDRINUSE' || code === 'EACCES')) {
      debug('mdns: port %d unavailable (%s); using an ephemeral port', wantedPort, code);
      await closeSocket(socket);
      return createEphemeral(options, interfaces, group, wantedPort);
    }
    await closeSocket(socket);
    throw new AirflashError(
      'DISCOVERY_FAILED',
      `Cannot open the mDNS port ${wantedPort}: ${String(error)}.`,
      {
        hint: 'Another program holds the port exclusively; stop it or run without advertising.',
        cause: error,
      },
    );
  }
  if (wantedPort === 0) groupPort = socket.address().port;
  const joined: string[] = [];
  for (const iface of interfaces) {
    try {
      socket.addMembership(group, iface.address);
      joined.push(iface.address);
    } catch (error) {
      debug('mdns: cannot join %s on %s (%s): %s', group, iface.name, iface.address, String(error));
    }
  }
  if (joined.length === 0) {
    await closeSocket(socket);
    throw new AirflashError('DISCOVERY_FAILED', `Cannot join the mDNS group ${group} on any interface.`, {
      hint: `Tried ${interfaces.map((i) => `${i.name} (${i.address})`).join(', ')}; name a working one with --interface.`,
    });
  }
  socket.setMulticastTTL(255);
  socket.setMulticastLoopback(true);
  return wrapSocket(socket, interfaces, group, groupPort, options.signal);
}

async function createEphemeral(
  options: MdnsTransportOptions,
  interfaces: MdnsInterface[],
  group: string,
  groupPort: number,
): Promise<UdpMdnsTransport> {
  const socket = createSocket({ type: 'udp4' });
  socket.on('error', (error) => debug('mdns socket error: %s', error.message));
  await bindSocket(socket, 0);
  socket.setMulticastTTL(255);
  return wrapSocket(socket, interfaces, group, groupPort, options.signal);
}

function wrapSocket(
  socket: Socket,
  interfaces: MdnsInterface[],
  group: string,
  groupPort: number,
  signal: AbortSignal | undefined,
): UdpMdnsTransport {
  const listeners = new Set<(message: Uint8Array, from: MdnsEndpoint) => void>();
  let closed = false;
  let queue: Promise<void> = Promise.resolve();
  const accepts = (address: string): boolean =>
    interfaces.some((i) => i.address === address || inSubnet(address, i.address, i.netmask));

  socket.on('message', (message, rinfo) => {
    if (!accepts(rinfo.address)) {
      debug('mdns: ignoring a datagram from %s (outside the chosen interfaces)', rinfo.address);
      return;
    }
    const bytes = new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
    for (const listener of [...listeners]) {
      try {
        listener(bytes, { address: rinfo.address, port: rinfo.port });
      } catch (error) {
        debug('mdns listener failed: %s', String(error));
      }
    }
  });

  const sendOne = (message: Uint8Array, port: number, address: string): Promise<void> =>
    new Promise((resolve) => {
      socket.send(message, port, address, (error) => {
        if (error) debug('mdns send to %s:%d failed: %s', address, port, error.message);
        resolve();
      });
    });

  const transport: UdpMdnsTransport = {
    port: groupPort,
    localPort: socket.address().port,
    group,
    interfaces,
    send(message, to) {
      if (closed) {
        return Promise.reject(new AirflashError('DISCOVERY_FAILED', 'The mDNS transport is closed.'));
      }
      // Sends are serialized: the multicast interface is a socket option, so each datagram must be
      // handed to the kernel before the option changes for the next interface.
      const run = async (): Promise<void> => {
        if (closed) return;
        if (to !== undefined) {
          await sendOne(message, to.port, to.address);
          return;
        }
        for (const iface of interfaces) {
          if (closed) return;
          try {
            socket.setMulticastInterface(iface.address);
          } catch (error) {
            debug('mdns: cannot send on %s: %s', iface.address, String(error));
            continue;
          }
          await sendOne(message, groupPort, group);
        }
      };
      queue = queue.then(run, run);
      return queue;
    },
    onMessage(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      signal?.removeEventListener('abort', onAbortClose);
      await queue.catch(() => {});
      await closeSocket(socket);
    },
  };
  const onAbortClose = (): void => {
    void transport.close();
  };
  signal?.addEventListener('abort', onAbortClose, { once: true });
  return transport;
}

/**
 * An in-memory mDNS "link" for tests and simulations: every transport made from it receives what
 * any of them sends to the group (itself included, like multicast loopback), and unicast reaches
 * the transport with that address.
 */
export function createMdnsBus(options: { port?: number } = {}): {
  transport(address: string): MdnsTransport;
} {
  const port = options.port ?? MDNS_PORT;
  const members = new Set<{
    address: string;
    listeners: Set<(message: Uint8Array, from: MdnsEndpoint) => void>;
  }>();
  return {
    transport(address) {
      const member = { address, listeners: new Set<(message: Uint8Array, from: MdnsEndpoint) => void>() };
      members.add(member);
      let closed = false;
      return {
        port,
        async send(message, to) {
          if (closed) throw new AirflashError('DISCOVERY_FAILED', 'The mDNS transport is closed.');
          const copy = message.slice();
          for (const other of members) {
            if (to !== undefined && other.address !== to.address) continue;
            setImmediate(() => {
              for (const listener of [...other.listeners]) listener(copy, { address, port });
            });
          }
        },
        onMessage(listener) {
          member.listeners.add(listener);
          return () => member.listeners.delete(listener);
        },
        async close() {
          closed = true;
          members.delete(member);
          member.listeners.clear();
        },
      };
    },
  };
}
