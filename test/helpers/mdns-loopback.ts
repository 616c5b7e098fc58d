import { createSocket } from 'node:dgram';

/**
 * A UDP port that was free a moment ago, for a private mDNS group on 127.0.0.1. Every mDNS test
 * uses its own port, so parallel test files never see each other's devices, and nothing is sent
 * on a real interface (the transports are pinned to 127.0.0.1).
 */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** Options that pin discovery / advertising to loopback on a private port. */
export function loopback(port: number): { interface: string; mdnsPort: number } {
  return { interface: '127.0.0.1', mdnsPort: port };
}
