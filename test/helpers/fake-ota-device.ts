/**
 * A tiny scripted ArduinoOTA device for uploader tests that need byte-exact control of the reply
 * stream (cuts at any offset, `OK` split across reads, arbitrary answers). Not a faithful device
 * model — that is src/emulator; this one does exactly what the test says.
 */
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { scanInvitation } from '../../src/protocols/arduino-ota/wire/index.ts';

export interface FakeDeviceOptions {
  address?: string;
  /** UDP answer to an invitation (default 'OK'; a string is sent as UTF-8, bytes as they are); null → silent. */
  answer?: string | Uint8Array | null;
  /** Close the TCP connection once this many image bytes were received (before any final reply). */
  cutAfterBytes?: number;
  /** The reply sent after the whole image arrived (default 'OK'). */
  finalReply?: string;
  /** Send only the first N bytes of (counts + final reply) and then close. */
  replyCutAt?: number;
  /** Write the final reply in pieces of this size, with a pause in between (tests split reads). */
  replyPiece?: number;
  /** Stay silent to the first N-1 invitations and answer the Nth and later ones. */
  answerFrom?: number;
  /** Send the UDP answer from a socket on this other address (a stranger answering). */
  answerFromAddress?: string;
  /** Connect back from this local address instead of the device's. */
  connectFrom?: string;
  /** Do not connect back after OK. */
  noConnect?: boolean;
  /** Stop reading (and answering) after this many bytes, keeping the connection open. */
  stallAfterBytes?: number;
}

export interface FakeDevice {
  address: string;
  port: number;
  invitations: number;
  connections: number;
  /** MD5 of the bytes received on the last connection. */
  receivedMd5(): string;
  received: number;
  /** Characters of the final reply written on the last connection. */
  finalWritten: number;
  close(): Promise<void>;
}

export async function startFakeDevice(options: FakeDeviceOptions = {}): Promise<FakeDevice> {
  const address = options.address ?? '127.0.0.1';
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, address, () => r()));
  const sockets = new Set<Socket>();
  let hash = createHash('md5');
  let lastMd5 = '';
  const device: FakeDevice = {
    address,
    port: udp.address().port,
    invitations: 0,
    connections: 0,
    received: 0,
    finalWritten: 0,
    receivedMd5: () => lastMd5,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => udp.close(() => r()));
    },
  };
  udp.on('message', (msg, rinfo) => {
    const inv = scanInvitation(msg);
    if (!inv) return;
    device.invitations++;
    if (options.answerFrom !== undefined && device.invitations < options.answerFrom) return;
    const answer = options.answer === undefined ? 'OK' : options.answer;
    if (answer === null) return;
    if (options.answerFromAddress !== undefined) {
      const other = createSocket('udp4');
      other.bind(0, options.answerFromAddress, () =>
        other.send(Buffer.from(answer), rinfo.port, rinfo.address, () => other.close()),
      );
    } else udp.send(Buffer.from(answer), rinfo.port, rinfo.address);
    if (answer !== 'OK' || options.noConnect) return;
    setTimeout(() => serve(rinfo.address, inv.port, inv.size), 5);
  });

  function serve(host: string, port: number, size: number): void {
    const s = connect({ host, port, localAddress: options.connectFrom ?? address });
    sockets.add(s);
    device.connections++;
    hash = createHash('md5');
    device.received = 0;
    device.finalWritten = 0;
    let replied = 0;
    let closed = false;
    const write = (text: string): number => {
      if (closed) return 0;
      let out = text;
      if (options.replyCutAt !== undefined) {
        const room = options.replyCutAt - replied;
        if (room <= 0) {
          closed = true;
          s.end();
          return 0;
        }
        if (out.length > room) out = out.slice(0, room);
      }
      replied += out.length;
      s.write(out);
      if (options.replyCutAt !== undefined && replied >= options.replyCutAt) {
        closed = true;
        s.end();
      }
      return out.length;
    };
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    s.on('data', (chunk: Buffer) => {
      if (closed) return;
      let data = chunk;
      if (options.stallAfterBytes !== undefined && device.received + data.length > options.stallAfterBytes) {
        data = data.subarray(0, Math.max(0, options.stallAfterBytes - device.received));
        s.pause();
      }
      if (options.cutAfterBytes !== undefined && device.received + data.length >= options.cutAfterBytes) {
        data = data.subarray(0, options.cutAfterBytes - device.received);
        hash.update(data);
        device.received += data.length;
        closed = true;
        s.destroy();
        return;
      }
      hash.update(data);
      device.received += data.length;
      if (data.length > 0) write(String(data.length));
      if (device.received >= size) {
        lastMd5 = hash.digest('hex');
        const final = options.finalReply ?? 'OK';
        const piece = options.replyPiece ?? final.length;
        let i = 0;
        const next = (): void => {
          if (i >= final.length) {
            if (!closed) {
              closed = true;
              s.end();
            }
            return;
          }
          device.finalWritten += write(final.slice(i, i + piece));
          i += piece;
          setTimeout(next, 2);
        };
        setTimeout(next, 2);
      }
    });
  }
  return device;
}
