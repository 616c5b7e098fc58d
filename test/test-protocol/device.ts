/** The loopback-test protocol's emulated device (test only). */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:net';

/** The emulated device: takes `SIZE MD5\n` + bytes, answers OK when the MD5 matches. */
export async function startLoopbackDevice(
  address: string,
): Promise<{ port: number; received: string[]; close(): Promise<void> }> {
  const received: string[] = [];
  const server: Server = createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('error', () => {});
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const nl = buf.indexOf(10);
      const [size, md5] = buf.subarray(0, nl).toString().split(' ');
      if (nl < 0 || buf.length - nl - 1 < Number(size)) return;
      const got = createHash('md5')
        .update(buf.subarray(nl + 1))
        .digest('hex');
      if (got === md5) received.push(got);
      s.end(got === md5 ? 'OK\n' : 'ERR md5 mismatch\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, address, r));
  const port = (server.address() as { port: number }).port;
  return { port, received, close: () => new Promise((r) => server.close(() => r())) };
}
