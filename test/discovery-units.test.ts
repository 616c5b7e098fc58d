import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { test } from 'node:test';
import { isAirflashError } from '../src/core/errors.ts';
import { arduinoTxt, inferCore, selectInterfaces } from '../src/discovery/index.ts';

function v4(address: string, netmask = '255.255.255.0', internal = false): NetworkInterfaceInfo {
  return { address, netmask, family: 'IPv4', mac: '00:00:00:00:00:00', internal, cidr: `${address}/24` };
}
function v6(address: string): NetworkInterfaceInfo {
  return {
    address,
    netmask: 'ffff:ffff:ffff:ffff::',
    family: 'IPv6',
    mac: '00:00:00:00:00:00',
    internal: false,
    cidr: `${address}/64`,
    scopeid: 0,
  };
}

const TABLE: NodeJS.Dict<NetworkInterfaceInfo[]> = {
  lo: [v4('127.0.0.1', '255.0.0.0', true)],
  eth0: [v4('192.168.1.10'), v6('fe80::1')],
  wlan0: [v4('10.0.0.7')],
  docker0: [v4('172.17.0.1', '255.255.0.0')],
  veth12ab: [v4('172.18.0.1')],
  'br-5f3a': [v4('172.19.0.1')],
  vboxnet0: [v4('192.168.56.1')],
  vmnet8: [v4('192.168.80.1')],
  utun3: [v4('10.8.0.2')],
  'vEthernet (WSL)': [v4('172.25.0.1')],
  eth1: [v4('169.254.3.4', '255.255.0.0')],
  eth2: [v4('192.168.7.2')],
  wg0: [v6('fd00::5')],
};

test('selectInterfaces keeps real LAN interfaces and skips loopback, virtual, link-local-only, down ones', () => {
  const flags = (name: string): number | undefined =>
    name === 'eth2' ? 0x1 /* up, no multicast */ : name === 'wlan0' ? 0x1003 : undefined;
  const { selected, skipped } = selectInterfaces({ table: TABLE, flags });
  assert.deepEqual(
    selected.map((i) => `${i.name} ${i.address}`),
    ['eth0 192.168.1.10', 'wlan0 10.0.0.7'],
  );
  const reasons = new Map(skipped.map((s) => [s.name, s.reason]));
  assert.equal(reasons.get('lo'), 'loopback');
  for (const name of ['docker0', 'veth12ab', 'br-5f3a', 'vboxnet0', 'vmnet8', 'utun3', 'vEthernet (WSL)']) {
    assert.equal(reasons.get(name), 'virtual adapter', name);
  }
  assert.equal(reasons.get('eth1'), 'link-local address only');
  assert.equal(reasons.get('eth2'), 'not multicast-capable');
  assert.equal(reasons.get('wg0'), 'no IPv4 address');
});

test('selectInterfaces with a name or an address pins exactly that interface, loopback included', () => {
  assert.deepEqual(selectInterfaces({ table: TABLE, name: 'lo' }).selected, [
    { name: 'lo', address: '127.0.0.1', netmask: '255.0.0.0' },
  ]);
  // Any address inside lo's 127.0.0.0/8 pins lo with that address (emulated devices use 127.0.0.x).
  assert.deepEqual(selectInterfaces({ table: TABLE, name: '127.0.0.9' }).selected, [
    { name: 'lo', address: '127.0.0.9', netmask: '255.0.0.0' },
  ]);
  assert.deepEqual(
    selectInterfaces({ table: TABLE, name: 'docker0' }).selected.map((i) => i.address),
    ['172.17.0.1'],
    'an explicitly named virtual adapter is used',
  );
  assert.throws(
    () => selectInterfaces({ table: TABLE, name: 'nope0' }),
    (e: unknown) => isAirflashError(e, 'BAD_ARGUMENT') && /eth0/.test(e.hint ?? ''),
  );
  assert.throws(
    () => selectInterfaces({ table: TABLE, name: '8.8.8.8' }),
    (e: unknown) => isAirflashError(e, 'BAD_ARGUMENT'),
  );
  assert.throws(() => selectInterfaces({ table: TABLE, name: 'wg0' }), /no IPv4 address/);
});

test('arduinoTxt gives each core its own TXT order (protocol.md §6)', () => {
  assert.deepEqual(arduinoTxt('esp32', 'esp32s3', false), [
    ['board', 'esp32s3'],
    ['tcp_check', 'no'],
    ['ssh_upload', 'no'],
    ['auth_upload', 'no'],
  ]);
  assert.deepEqual(arduinoTxt('esp32-legacy', 'esp32', true), [
    ['board', 'esp32'],
    ['tcp_check', 'no'],
    ['ssh_upload', 'no'],
    ['auth_upload', 'yes'],
  ]);
  assert.deepEqual(arduinoTxt('esp8266', 'nodemcuv2', true), [
    ['tcp_check', 'no'],
    ['ssh_upload', 'no'],
    ['board', 'nodemcuv2'],
    ['auth_upload', 'yes'],
  ]);
});

test('inferCore: TXT order first, then the board value, then the port', () => {
  const esp8266Order: Array<[string, string]> = [
    ['tcp_check', 'no'],
    ['ssh_upload', 'no'],
    ['board', 'x'],
    ['auth_upload', 'no'],
  ];
  const esp32Order: Array<[string, string]> = [
    ['board', 'x'],
    ['tcp_check', 'no'],
    ['ssh_upload', 'no'],
    ['auth_upload', 'no'],
  ];
  assert.equal(inferCore(esp8266Order, 3232), 'esp8266');
  assert.equal(inferCore(esp32Order, 8266), 'esp32');
  assert.equal(inferCore([...esp32Order].reverse(), 8266), 'esp32', 'ESP-IDF mdns keeps the list reversed');
  assert.equal(inferCore([['board', 'd1_mini']], 3232), 'esp8266');
  assert.equal(inferCore([['board', 'generic']], undefined), 'esp8266');
  assert.equal(inferCore([['board', 'lolin32']], 8266), 'esp32');
  assert.equal(inferCore([['board', 'myboard']], 8266), 'esp8266');
  assert.equal(inferCore([], 3232), 'esp32');
  assert.equal(inferCore([['board', 'myboard']], 4000), undefined);
});
