/**
 * A hostile "device" (and a third address) flooding the uploader's UDP socket during the
 * connect-back wait and the transfer: every queue stays bounded (issue 12). Asserted on what the
 * uploader reports (queue high-water mark, records kept, counts), not on RSS.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { RECEIVED_KEPT } from '../src/protocols/arduino-ota/host/handshake.ts';
import { FOREIGN_KEPT } from '../src/protocols/arduino-ota/host/udp-intake.ts';
import { scanInvitation } from '../src/protocols/arduino-ota/wire/index.ts';
import { INBOX_CAPACITY } from '../src/transport/inbox.ts';
import { upload } from '../src/upload/index.ts';

const bind = (address: string): Promise<UdpSocket> =>
  new Promise((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, address, () => resolve(s));
  });

/** Send `count` datagrams to port from each socket, in batches, and resolve when done. */
async function flood(sockets: UdpSocket[], port: number, count: number, text: string): Promise<void> {
  const data = Buffer.from(text);
  for (let i = 0; i < count; i += 40) {
    for (const s of sockets) for (let j = 0; j < 40; j++) s.send(data, port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 1));
  }
}

describe('UDP flood from a hostile device and a third address', () => {
  it('keeps the queue and the records bounded while waiting for the connect-back and during the transfer', async () => {
    const image = new Uint8Array(200_000).fill(7);
    const device = await bind('127.0.6.1');
    const stranger = await bind('127.0.6.2');
    const port = device.address().port;
    const floods: Promise<void>[] = [];
    let invitations = 0;
    device.on('message', (msg, rinfo) => {
      const inv = scanInvitation(msg);
      if (!inv) return;
      // The first invitation comes from a socket connected to the device (it hears ICMP, and the
      // kernel drops the stranger's datagrams there); answer the second, sent from the main socket.
      if (++invitations < 2) return;
      device.send('OK', rinfo.port, rinfo.address);
      // Flood during the connect-back wait, then connect and flood during the transfer.
      floods.push(
        flood([device, stranger], rinfo.port, 4000, 'OK').then(() => {
          const s = connect({ host: rinfo.address, port: inv.port, localAddress: '127.0.6.1' });
          let got = 0;
          s.on('error', () => {});
          s.on('data', (chunk: Buffer) => {
            if (got === 0) floods.push(flood([device, stranger], rinfo.port, 4000, 'AUTH 0123'));
            got += chunk.length;
            s.write(String(chunk.length));
            if (got >= inv.size) setTimeout(() => s.end('OK'), 50);
          });
        }),
      );
    });
    try {
      const r = await upload({
        host: '127.0.6.1',
        port,
        data: image,
        // The UDP queues are under test, not the image.
        preflight: false,
        timeScale: 0.2,
        attemptTimeoutMs: 100,
        hostIp: '127.0.0.1',
      });
      await Promise.all(floods);
      const u = r.observation.udp;
      assert.ok(u, 'the observation counts what the UDP socket received');
      assert.ok(u.foreign > 10 * FOREIGN_KEPT, `the stranger's datagrams were counted (${u.foreign})`);
      assert.ok((u.queueHighWater ?? 0) <= INBOX_CAPACITY, `queue high-water ${u.queueHighWater}`);
      assert.ok(
        r.observation.received.length <= RECEIVED_KEPT,
        `records kept: ${r.observation.received.length}`,
      );
      assert.ok(r.observation.received.filter((d) => !d.fromDevice).length <= FOREIGN_KEPT);
      assert.ok(
        r.observation.timeline.length < RECEIVED_KEPT + 100,
        `timeline: ${r.observation.timeline.length}`,
      );
      assert.ok(u.fromDevice > RECEIVED_KEPT, `the device's flood was read and counted (${u.fromDevice})`);
      assert.ok(u.afterHandshake > 0, 'datagrams after the handshake are counted, not queued');
    } finally {
      device.close();
      stranger.close();
    }
  });
});
