/**
 * A test-only protocol (not shipped): `loopback-test://HOST:PORT` "uploads" over one TCP
 * connection (`SIZE MD5\n`, the bytes, then the device answers `OK\n` or `ERR text\n`) to the tiny
 * device of ./device.ts. Registered through the public `registerProtocol()` only.
 */
import { connect } from 'node:net';
import type { OtaProtocol, UploadOptions } from '../../src/index.ts';
import { AirflashError, basicJournal } from '../../src/index.ts';

export interface LoopbackObservation {
  protocol: 'loopback-test';
  host: string;
  port: number;
  bytesSent: number;
  reply?: string;
}

/** TCP reachability is the probe: the device listens on its port. */
function reach(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: timeoutMs }, () => {
      s.destroy();
      resolve(true);
    });
    const no = (): void => {
      s.destroy();
      resolve(false);
    };
    s.once('error', no);
    s.once('timeout', no);
  });
}

export const loopbackTest: OtaProtocol<UploadOptions, LoopbackObservation> = {
  id: 'loopback-test',
  title: 'loopback test protocol',
  writes: ['app'],
  probe: async (t, o) => ({ online: await reach(t.host, t.port, o.timeoutMs) }),
  begin: (o, t) =>
    basicJournal(
      'loopback-test',
      { protocol: 'loopback-test', host: t.host, port: t.port ?? 0, bytesSent: 0 },
      o.onEvent,
    ),
  async upload({ journal: j, address, image, target }) {
    const obs = j.observation;
    j.setPhase('connect');
    const socket = connect({ host: address.address, port: obs.port });
    try {
      await new Promise<void>((ok, fail) => {
        socket.once('connect', ok);
        socket.once('error', fail);
      });
      const reply = new Promise<string>((ok, fail) => {
        let text = '';
        socket.on('data', (d) => {
          text += d.toString('latin1');
          if (text.endsWith('\n')) ok(text.trim());
        });
        socket.once('error', fail);
        socket.once('close', () => ok(text.trim()));
      });
      j.setPhase('transfer');
      socket.write(`${image.size} ${image.md5}\n`);
      for await (const chunk of image.open()) {
        socket.write(chunk);
        obs.bytesSent += chunk.length;
        j.emit({ type: 'progress', bytes: obs.bytesSent, total: image.size, sent: obs.bytesSent });
      }
      j.setPhase('result');
      obs.reply = await reply;
      if (obs.reply !== 'OK')
        throw new AirflashError('DEVICE_ERROR', `The device said ${JSON.stringify(obs.reply)}.`, {
          deviceText: obs.reply,
        });
      j.setPhase('done');
      return {
        ok: true,
        protocol: 'loopback-test',
        host: target.host,
        address: address.address,
        port: obs.port,
        bytes: image.size,
        md5: image.md5,
        durationMs: 0,
        warnings: [],
        observation: obs,
      };
    } finally {
      socket.destroy();
    }
  },
};
