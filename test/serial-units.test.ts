/**
 * The serial family's logic without a pty: SLIP and ROM packets against byte vectors typed from
 * esptool's serial-protocol.rst (and an esptool trace of a SYNC), the emulator's MD5 against RFC
 * 1321's vectors, the reset sequences on the in-memory line step by step (protocols-next §4.2),
 * the Web Serial adapter's contract, and port listing / `--port auto`.
 */
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { ClassicReset, CustomReset, Transport, UsbJtagSerialReset } from 'esptool-js';
import { isAirflashError } from '../src/core/errors.ts';
import { SparseFlash } from '../src/emulator/board/flash.ts';
import { chipModel } from '../src/protocols/serial/device/chips.ts';
import { RomLoader } from '../src/protocols/serial/device/loader.ts';
import { describePorts, pickPort } from '../src/protocols/serial/host/port/list.ts';
import { MemoryLineDriver } from '../src/protocols/serial/host/port/memory.ts';
import { WebSerialAdapter } from '../src/protocols/serial/host/port/web-serial.ts';
import { checkCustomReset, PulseHardReset } from '../src/protocols/serial/host/reset.ts';
import { decodeRequest, romChecksum } from '../src/protocols/serial/wire/rom.ts';
import { SlipDecoder, slipEncode } from '../src/protocols/serial/wire/slip.ts';

const hex = (s: string): Uint8Array =>
  Uint8Array.from(s.replace(/\s+/g, '').match(/../g) ?? [], (b) => Number.parseInt(b, 16));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// The SYNC request as esptool's --trace shows it on the wire (esptool issue #921): 46 bytes.
const SYNC_WIRE = hex(`c0 00 08 24 00 00 00 00 00 07 07 12 20 ${'55 '.repeat(32)} c0`);

test('SLIP: the SYNC request frames to the traced bytes; C0 and DB are escaped as DB DC / DB DD', () => {
  const payload = SYNC_WIRE.subarray(1, SYNC_WIRE.length - 1);
  assert.equal(toHex(slipEncode(payload)), toHex(SYNC_WIRE));
  assert.equal(toHex(slipEncode(Uint8Array.of(0xc0, 0xdb, 0x01))), 'c0dbdcdbdd01c0');
  const req = decodeRequest(payload);
  assert.ok(req);
  assert.equal(req.op, 0x08);
  assert.equal(req.data.length, 36);
});

test('SLIP decoder: the same frames at every split of a stream, junk outside frames reported, bounds', () => {
  const a = Uint8Array.of(0x00, 0xc0, 0xdb, 0x7f);
  const b = Uint8Array.of(0x01, 0x02);
  const stream = Uint8Array.from([...Buffer.from('boot:0x13 '), ...slipEncode(a), ...slipEncode(b)]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const frames: string[] = [];
    let junk = 0;
    const d = new SlipDecoder({ frame: (f) => frames.push(toHex(f)), junk: () => junk++ });
    d.push(stream.subarray(0, cut));
    d.push(stream.subarray(cut));
    assert.deepEqual(frames, [toHex(a), toHex(b)], `cut at ${cut}`);
    assert.equal(junk, 10, 'the boot log text is outside any frame');
  }
  const why: string[] = [];
  const d = new SlipDecoder({ frame: () => assert.fail('no frame'), junk: (w) => why.push(w) }, 4);
  d.push(Uint8Array.of(0xc0, 1, 2, 3, 4, 5, 0xc0)); // five bytes: one more than the bound
  d.push(Uint8Array.of(0xc0, 0xdb, 0x00, 0xc0)); // a bad escape
  assert.deepEqual(why, ['too-long', 'bad-escape']);
  const ok: number[] = [];
  new SlipDecoder({ frame: (f) => ok.push(f.length) }, 4).push(Uint8Array.of(0xc0, 1, 2, 3, 4, 0xc0));
  assert.deepEqual(ok, [4], 'exactly the bound is a frame');
});

test('checksum: XOR of the data seeded with 0xEF (serial-protocol.rst)', () => {
  assert.equal(romChecksum(new Uint8Array(0)), 0xef);
  assert.equal(romChecksum(Uint8Array.of(1, 2, 3)), 0xef);
  assert.equal(romChecksum(Uint8Array.of(0xff)), 0x10);
});

function request(op: number, data: Uint8Array, checksum = 0): Uint8Array {
  const out = new Uint8Array(8 + data.length);
  const v = new DataView(out.buffer);
  v.setUint8(1, op);
  v.setUint16(2, data.length, true);
  v.setUint32(4, checksum, true);
  out.set(data, 8);
  return out;
}
const u32s = (...n: number[]): Uint8Array => {
  const b = new Uint8Array(n.length * 4);
  n.forEach((x, i) => {
    new DataView(b.buffer).setUint32(i * 4, x, true);
  });
  return b;
};

test('emulator SPI_FLASH_MD5 against RFC 1321 vectors: ROM answers 32 hex digits, the reply layout', () => {
  const flash = new SparseFlash(0x10000);
  flash.load(0, new TextEncoder().encode('abc'));
  const rom = new RomLoader(chipModel('esp32', [1, 2, 3, 4, 5, 6]), flash, []);
  const reply = (r: ReturnType<RomLoader['receive']>): Uint8Array => {
    const f = r.out[0];
    assert.ok(f && 'frame' in f);
    return f.frame;
  };
  const abc = reply(rom.receive(request(0x13, u32s(0, 3, 0, 0))));
  assert.equal(abc[0], 0x01);
  assert.equal(abc[1], 0x13);
  assert.equal(new DataView(abc.buffer).getUint16(2, true), 32 + 4, 'ESP32 ROM: four status bytes');
  assert.equal(new TextDecoder().decode(abc.subarray(8, 40)), '900150983cd24fb0d6963f7d28e17f72');
  const empty = reply(rom.receive(request(0x13, u32s(0, 0, 0, 0))));
  assert.equal(new TextDecoder().decode(empty.subarray(8, 40)), 'd41d8cd98f00b204e9800998ecf8427e');
  // A stub-only command in the ROM: status 1, error 0x05, repeated.
  const un = rom.receive(request(0xd0, new Uint8Array(0)));
  assert.equal(un.out.length, 8);
  const f = reply(un);
  assert.deepEqual([...f.subarray(8, 10)], [1, 0x05]);
  // A MEM_DATA block with a wrong checksum: 0x07.
  rom.receive(request(0x05, u32s(4, 1, 0x1800, 0x40080000)));
  const bad = reply(rom.receive(request(0x07, Uint8Array.from([...u32s(4, 0, 0, 0), 1, 2, 3, 4]), 0x00)));
  assert.deepEqual([...bad.subarray(8, 10)], [1, 0x07]);
});

/** Run `work` under mock timers, advancing 1 ms at a time until it settles. */
async function underMockTime(work: () => Promise<void>): Promise<void> {
  let done = false;
  const p = work().finally(() => {
    done = true;
  });
  for (let i = 0; i < 5000 && !done; i++) {
    for (let k = 0; k < 20; k++) await Promise.resolve();
    mock.timers.tick(1);
  }
  await p;
}

async function signalLog(run: (t: Transport) => Promise<void>, identity = {}): Promise<string[]> {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  try {
    const line = new MemoryLineDriver(() => Date.now());
    const adapter = new WebSerialAdapter(line, identity);
    await adapter.open({ baudRate: 115200 });
    const t = new Transport(adapter as unknown as ConstructorParameters<typeof Transport>[0]);
    t.trace = () => {};
    await underMockTime(() => run(t));
    await adapter.close();
    // Consecutive equal states collapse; each step: "DTR RTS @ms".
    const out: string[] = [];
    for (const s of line.signals()) {
      const text = `${s.dtr ? 'D1' : 'D0'} ${s.rts ? 'R1' : 'R0'}`;
      const last = out.at(-1);
      if (last?.startsWith(text)) continue;
      out.push(`${text} @${s.at}`);
    }
    return out;
  } finally {
    mock.timers.reset();
  }
}

test('classic reset, step by step (§4.2): both lines set together, 100 ms, then the reset delay', async () => {
  const log = await signalLog((t) => new ClassicReset(t, 50).reset());
  assert.deepEqual(log, ['D0 R0 @0', 'D0 R1 @0', 'D1 R0 @100', 'D0 R0 @150']);
});

test('USB-JTAG-serial reset (§4.2): idle, IO0 low, reset through (1,1), release', async () => {
  const log = await signalLog((t) => new UsbJtagSerialReset(t).reset());
  assert.deepEqual(log, ['D0 R0 @0', 'D1 R0 @100', 'D1 R1 @200', 'D0 R1 @200', 'D0 R0 @300']);
});

test('a custom sequence runs its steps in order; a bad one is refused (esptool-js would ignore it)', async () => {
  const log = await signalLog((t) => new CustomReset(t, checkCustomReset('D0|R1|W100|D1|R0|W50|D0')).reset());
  assert.deepEqual(log, ['D0 R0 @0', 'D0 R1 @0', 'D1 R1 @100', 'D1 R0 @100', 'D0 R0 @150']);
  assert.throws(
    () => checkCustomReset('D0|X1'),
    (e) => isAirflashError(e, 'BAD_ARGUMENT'),
  );
  assert.throws(
    () => checkCustomReset('D2'),
    (e) => isAirflashError(e, 'BAD_ARGUMENT'),
  );
});

test('hard reset after flashing: an RTS pulse of 100 ms (200 ms around it on USB-OTG)', async () => {
  assert.deepEqual(await signalLog((t) => new PulseHardReset(t).reset()), [
    'D0 R0 @0',
    'D0 R1 @0',
    'D0 R0 @100',
  ]);
  assert.deepEqual(await signalLog((t) => new PulseHardReset(t, true).reset()), [
    'D0 R0 @0',
    'D0 R1 @0',
    'D0 R0 @200',
  ]);
});

test('the adapter: getInfo numbers, baud change in place, listeners removed on close', async () => {
  const line = new MemoryLineDriver();
  const adapter = new WebSerialAdapter(line, { usbVendorId: 0x303a, usbProductId: 0x1001 });
  assert.deepEqual(adapter.getInfo(), { usbVendorId: 0x303a, usbProductId: 0x1001 });
  await adapter.open({ baudRate: 115200 });
  await adapter.setBaudRate(921600);
  const reader = adapter.readable?.getReader();
  line.receive(Uint8Array.of(1, 2));
  assert.deepEqual([...((await reader?.read())?.value ?? [])], [1, 2]);
  reader?.releaseLock();
  await adapter.close();
  assert.deepEqual(
    line.log.map((e) => Object.keys(e).filter((k) => k !== 'at')[0]),
    ['open', 'dtr', 'baud', 'close'],
  );
  line.receive(Uint8Array.of(3)); // after close: nobody listens
  assert.equal(adapter.witness.bytesReceived, 2);
});

test('port listing: USB ids parsed from hex and named; --port auto with one, none, several', () => {
  const ports = describePorts([
    { path: '/dev/ttyS0' },
    { path: '/dev/ttyUSB0', vendorId: '10c4', productId: 'ea60', manufacturer: 'Silicon Labs' },
    { path: '/dev/ttyACM0', vendorId: '303A', productId: '1001' },
    { path: '/dev/ttyUSB1', vendorId: '1a86', productId: '7523' },
    { path: '/dev/ttyUSB2', vendorId: '1a86', productId: '55d4' },
    { path: '/dev/ttyUSB3', vendorId: '0403', productId: '6001' },
  ]);
  assert.deepEqual(
    ports.map((p) => p.kind ?? '-'),
    ['-', 'CP210x', 'Espressif USB-JTAG-serial', 'CH340', 'CH9102', 'FTDI'],
  );
  assert.equal(ports[2]?.vendorId, 0x303a);
  assert.equal(pickPort('auto', ports.slice(0, 2)).path, '/dev/ttyUSB0');
  assert.throws(
    () => pickPort('auto', ports.slice(0, 1)),
    (e) => isAirflashError(e, 'SERIAL_NO_PORT') && /ttyS0/.test(String((e as { hint?: string }).hint)),
  );
  assert.throws(
    () => pickPort('auto', ports),
    (e) =>
      isAirflashError(e, 'SERIAL_PORT_AMBIGUOUS') &&
      /ttyACM0 \(Espressif USB-JTAG-serial\)/.test(String((e as { hint?: string }).hint)),
  );
  assert.equal(pickPort('/dev/ttyXYZ', ports).path, '/dev/ttyXYZ');
});

test('the serial diagnosis ranks causes from the code and what the line saw', async () => {
  const { AirflashError } = await import('../src/core/errors.ts');
  const { diagnoseSerial } = await import('../src/protocols/serial/diagnose/rules.ts');
  const seen = (usb: boolean) => ({
    serial: {
      stage: 'connect',
      port: '/dev/ttyX',
      ...(usb ? { usbVendorId: 0x10c4, usbProductId: 0xea60 } : {}),
      reset: 'auto',
      bytesReceived: 0,
      lastText: '',
      loaderLog: [],
    },
  });
  const noData = (usb: boolean) =>
    diagnoseSerial(
      new AirflashError('SERIAL_NO_DATA', 'No data from the board: is this a charge-only cable?', {
        data: seen(usb),
      }),
    );
  assert.deepEqual(
    noData(false).causes.map((c) => c.id),
    ['WRONG_PORT', 'CHARGE_ONLY_CABLE', 'ADAPTER_TX_RX'],
  );
  assert.deepEqual(
    noData(true).causes.map((c) => c.id),
    ['CHARGE_ONLY_CABLE', 'ADAPTER_TX_RX'],
  );
  assert.match(noData(true).causes[0]?.evidence[0] ?? '', /\/dev\/ttyX is USB 10c4:ea60/);
  const jtag = diagnoseSerial(
    new AirflashError('SERIAL_NOT_IN_DOWNLOAD_MODE', 'not in download mode', {
      data: { serial: { ...seen(false).serial, usbVendorId: 0x303a, usbProductId: 0x1001 } },
    }),
  );
  assert.equal(jtag.causes[1]?.id, 'RESET_SEQUENCE');
  assert.equal(jtag.causes[1]?.likelihood, 'medium');
  assert.match(jtag.causes[1]?.next[0] ?? '', /--reset usb-jtag/);
  assert.equal(diagnoseSerial(new AirflashError('SERIAL_BOARD_RESET', 'reset')).causes[0]?.id, 'BROWNOUT');
});
