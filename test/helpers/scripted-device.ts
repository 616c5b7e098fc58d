/**
 * A hostile or scripted ArduinoOTA "device" on loopback: it answers every invitation with `OK`,
 * connects back, and then hands the data connection to a script that decides what to send and
 * when (OK at once, one byte a second, a flood of digits, a reply stream cut at an offset).
 * Not a device model (that is src/emulator): it does exactly what the test says.
 */
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { scanInvitation } from '../../src/protocols/arduino-ota/wire/index.ts';

export interface ScriptContext {
  socket: Socket;
  /** Image size from the invitation. */
  size: number;
  /** Bytes received so far on this connection. */
  received(): number;
  /** Resolves once `n` bytes arrived (or the connection closed). */
  receivedAtLeast(n: number): Promise<void>;
  /** True once the connection closed; scripts that loop must stop then. */
  closed(): boolean;
}

export interface ScriptedDevice {
  address: string;
  port: number;
  connections: number;
  close(): Promise<void>;
}

export async function startScriptedDevice(
  address: string,
  script: (ctx: ScriptContext) => void | Promise<void>,
): Promise<ScriptedDevice> {
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, address, () => r()));
  const sockets = new Set<Socket>();
  const device: ScriptedDevice = {
    address,
    port: udp.address().port,
    connections: 0,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => udp.close(() => r()));
    },
  };
  udp.on('message', (msg, rinfo) => {
    const inv = scanInvitation(msg);
    if (!inv) return;
    udp.send(Buffer.from('OK'), rinfo.port, rinfo.address);
    const s = connect({ host: rinfo.address, port: inv.port, localAddress: address });
    sockets.add(s);
    device.connections++;
    let received = 0;
    let isClosed = false;
    const waiters: Array<{ n: number; resolve: () => void }> = [];
    const release = (): void => {
      for (const w of [...waiters])
        if (isClosed || received >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
    };
    s.on('error', () => {});
    s.on('data', (chunk: Buffer) => {
      received += chunk.length;
      release();
    });
    s.on('close', () => {
      isClosed = true;
      sockets.delete(s);
      release();
    });
    s.once('connect', () => {
      void script({
        socket: s,
        size: inv.size,
        received: () => received,
        receivedAtLeast: (n) =>
          new Promise<void>((resolve) => {
            waiters.push({ n, resolve });
            release();
          }),
        closed: () => isClosed,
      });
    });
  });
  return device;
}

export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
