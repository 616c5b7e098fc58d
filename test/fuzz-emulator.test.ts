/**
 * fast-check over the emulator's invitation and auth parsing, through the network: arbitrary
 * datagrams sent to a running emulated device never crash it, it stays responsive, and it answers
 * only well-formed invitations (and, while it waits for auth, only well-formed auth lines).
 *
 * Deterministic: a fixed seed (the same datagrams every run; FUZZ_SEED=n tries others), each run
 * talks from its own socket (a late reply to the previous run cannot be counted against this
 * one), and from its own loopback address where nothing listens (the device's connect-back after
 * an OK is always refused, whatever port the datagram named). The property's checks are upper
 * bounds, so a reply that arrives late on a busy machine can only be missed, never miscounted.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { type EmulatedDevice, startDevice } from '../src/emulator/index.ts';
import { asciiBytes, scanAuthLine, scanInvitation } from '../src/protocols/arduino-ota/wire/index.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const SEED = Number(process.env['FUZZ_SEED'] ?? 20_261_202);

/** A TCP port nothing listens on (a device told to connect there gets "Connect Failed"). */
async function closedPort(host: string): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen({ host, port: 0 }, () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const hex = (n: number): fc.Arbitrary<string> =>
  fc
    .array(fc.constantFrom(...'0123456789abcdefABCDEF'), { minLength: n, maxLength: n })
    .map((a) => a.join(''));

function datagrams(port: number): fc.Arbitrary<Uint8Array> {
  const invitation = fc
    .tuple(
      fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom('0', '100') },
        { weight: 1, arbitrary: fc.constantFrom('200', '1', '-0', '00', ' 0') },
        { weight: 1, arbitrary: fc.integer().map(String) },
      ),
      fc.oneof(
        fc.constantFrom(String(port), '0', '-5', '65536', String(65536 + port), '999999999999999', ''),
        fc.integer({ min: -70000, max: 200000 }).map(String),
      ),
      fc.oneof(
        fc.constantFrom('0', '1', '100', '4096', '2147483647', '4294967296', '-1', '99999999999999999'),
        fc.integer({ min: 0, max: 5_000_000 }).map(String),
      ),
      fc.oneof(
        { weight: 4, arbitrary: hex(32) },
        { weight: 1, arbitrary: fc.oneof(hex(31), hex(33), fc.string({ maxLength: 40 })) },
      ),
      fc.oneof(
        { weight: 3, arbitrary: fc.constant('\n') },
        { weight: 1, arbitrary: fc.constantFrom('', '\r\n', ' \n', '\0', '\n\n0 1 2 3\n') },
      ),
      fc.constantFrom(' ', '  ', '\t'),
    )
    .map(([cmd, p, size, md5, end, sep]) => asciiBytes(`${cmd}${sep}${p} ${size} ${md5}${end}`));
  const auth = fc
    .tuple(
      fc.constantFrom('200', '200 ', '201', '2000', '0'),
      fc.constantFrom(31, 32, 33, 63, 64, 65).chain(hex),
      fc.constantFrom(31, 32, 33, 63, 64, 65).chain(hex),
      fc.constantFrom('\n', '', ' x\n'),
    )
    .map(([c, a, b, end]) => asciiBytes(`${c} ${a} ${b}${end}`));
  const mutated = fc
    .tuple(
      invitation,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
    )
    .map(([d, edits]) => {
      const out = new Uint8Array(d);
      for (const [at, v] of edits) if (out.length > 0) out[at % out.length] = v;
      return out;
    });
  return fc.oneof(
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 3, arbitrary: invitation },
    { weight: 2, arbitrary: auth },
    { weight: 2, arbitrary: mutated },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1000, maxLength: 1472 }) },
  );
}

const REPLY = /^(OK|AUTH [0-9a-f]{32}|AUTH [0-9a-f]{64}|Authentication Failed|ERR: [^\n]*\n?)$/;

class Host {
  readonly replies: string[] = [];
  readonly socket: UdpSocket;
  private constructor(socket: UdpSocket) {
    this.socket = socket;
    socket.on('message', (m) => this.replies.push(m.toString('latin1')));
  }
  static async open(address: string): Promise<Host> {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind({ address, port: 0 }, () => r()));
    return new Host(socket);
  }
  send(data: Uint8Array, dev: EmulatedDevice): Promise<void> {
    return new Promise((resolve) => this.socket.send(data, dev.port, dev.address, () => resolve()));
  }
  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}

/** Wait until the device is idle; one waiting for auth is sent a stray datagram (which resets it). */
async function idle(dev: EmulatedDevice, host: Host): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (dev.state() !== 'idle' && Date.now() < deadline) {
    if (dev.state() === 'waitauth') await host.send(asciiBytes('0\n'), dev);
    await sleep(5);
  }
  assert.equal(dev.state(), 'idle', 'the device returns to idle');
}

let nextHost = 10;

for (const core of ['esp32', 'esp32-legacy', 'esp8266'] as const) {
  for (const password of [undefined, 'fuzz']) {
    describe(`fuzz: datagrams to an emulated ${core}${password ? ' with a password' : ''}`, () => {
      let dev: EmulatedDevice;
      let port = 0;
      // The host side: an address of its own, where no TCP server ever listens.
      const hostAddress = `127.0.5.${100 + nextHost}`;
      before(async () => {
        port = await closedPort(hostAddress);
        dev = await startDevice({
          core,
          address: `127.0.5.${nextHost++}`,
          port: 0,
          timeScale: 0.01,
          ...(password ? { password } : {}),
        });
      });
      after(async () => {
        await dev.close();
      });

      it('never crashes, stays responsive, answers only well-formed invitations and auth lines', async () => {
        const authField = core === 'esp32' ? 64 : 32;
        // ArduinoOTA parseInt(): ESP8266 reads up to 15 digits, ESP32 up to 14 (core-profile.ts)
        const digits = core === 'esp8266' ? 15 : 14;
        await fc.assert(
          fc.asyncProperty(fc.array(datagrams(port), { minLength: 1, maxLength: 6 }), async (list) => {
            const host = await Host.open(hostAddress);
            let got: string[];
            try {
              await idle(dev, host);
              for (const d of list) await host.send(d, dev);
              await sleep(20);
              await idle(dev, host);
              got = [...host.replies];
            } finally {
              await host.close();
            }
            for (const r of got) assert.match(r, REPLY, `unexpected reply ${JSON.stringify(r)}`);
            const invitations = list.filter((d) => scanInvitation(d, digits) !== undefined).length;
            const authLines = list.filter((d) => scanAuthLine(d, authField, digits) !== undefined).length;
            const answers = got.filter(
              (r) => r === 'OK' || r.startsWith('AUTH') || r.startsWith('ERR'),
            ).length;
            // An OK also answers a good auth line; AUTH/ERR only answer invitations.
            assert.ok(answers <= invitations + authLines, `${answers} answers to ${invitations} invitations`);
            assert.ok(
              got.filter((r) => r.startsWith('AUTH') || r.startsWith('ERR')).length <= invitations,
              'AUTH / ERR only answer well-formed invitations',
            );
            assert.ok(
              got.filter((r) => r === 'Authentication Failed').length <= authLines,
              'Authentication Failed only answers a well-formed auth line',
            );
            if (!password) assert.ok(!got.some((r) => r.startsWith('AUTH')), 'no AUTH without a password');
            assert.ok(!dev.log().some((l) => l.startsWith('internal error')), dev.log().slice(-5).join('\n'));
          }),
          { numRuns: 80, seed: SEED },
        );
        // Still responsive: a stray datagram returns a waiting device to idle, then a good
        // invitation is answered (OK, or AUTH with a password).
        const host = await Host.open(hostAddress);
        try {
          await idle(dev, host);
          const from = host.replies.length;
          await host.send(asciiBytes(`0 ${port} 1024 ${'a'.repeat(32)}\n`), dev);
          const deadline = Date.now() + 5000;
          while (host.replies.length === from && Date.now() < deadline) await sleep(5);
          const answer = host.replies[from];
          assert.ok(answer !== undefined, 'the device answers a good invitation after the fuzzing');
          assert.match(answer, password ? /^AUTH / : /^OK$/);
          assert.ok(!dev.log().some((l) => l.startsWith('internal error')));
        } finally {
          await host.close();
        }
      });
    });
  }
}
