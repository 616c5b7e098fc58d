import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os';
import { AirflashError } from '../core/errors.ts';

/** An IPv4 interface chosen for mDNS. */
export interface MdnsInterface {
  name: string;
  /** The address multicast is sent from and the group is joined on. */
  address: string;
  netmask: string;
}

export interface InterfaceSelection {
  selected: MdnsInterface[];
  /** Interfaces left out, and why (for diagnostics). */
  skipped: Array<{ name: string; reason: string }>;
}

/**
 * Virtual adapters whose mDNS traffic never reaches a real board, and which on Windows even
 * swallow replies meant for the real adapter (field-notes §2.6, arduino/mdns-discovery PR #93).
 */
const VIRTUAL_NAME =
  /^(docker|veth|br-|virbr|vboxnet|vmnet|utun|tun|tap|wg|zt|tailscale|lxcbr|lxdbr|cni|flannel|cali|kube|podman|awdl|llw|anpi|bridge|gif|stf|ipsec|ppp)|vEthernet|VirtualBox|VMware|Hyper-V|WSL|Loopback Pseudo|Npcap/i;

const IFF_UP = 0x1;
const IFF_MULTICAST = 0x1000;

/** Linux interface flags from /sys, or undefined where that is not available. */
export function linuxInterfaceFlags(name: string): number | undefined {
  if (process.platform !== 'linux' || !/^[\w.:-]+$/.test(name)) return undefined;
  try {
    const text = readFileSync(`/sys/class/net/${name}/flags`, 'utf8').trim();
    const value = Number.parseInt(text, 16);
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function ipv4ToNumber(address: string): number {
  const parts = address.split('.').map(Number);
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

export function inSubnet(address: string, network: string, netmask: string): boolean {
  if (!isIPv4(address) || !isIPv4(network) || !isIPv4(netmask)) return false;
  const mask = ipv4ToNumber(netmask);
  return (ipv4ToNumber(address) & mask) >>> 0 === (ipv4ToNumber(network) & mask) >>> 0;
}

export function isLinkLocalV4(address: string): boolean {
  return address.startsWith('169.254.');
}

function v4(infos: readonly NetworkInterfaceInfo[] | undefined): NetworkInterfaceInfo[] {
  return (infos ?? []).filter((i) => i.family === 'IPv4');
}

function available(table: NodeJS.Dict<NetworkInterfaceInfo[]>): string {
  const names = Object.keys(table).filter((n) => v4(table[n]).length > 0);
  return names.length === 0 ? '(none with an IPv4 address)' : names.join(', ');
}

/**
 * Choose the IPv4 interfaces to browse on. With `name` (an interface name such as `eth0` or
 * `lo`, or an IPv4 address on one of them) exactly that one, loopback included; otherwise every
 * interface that is up, multicast-capable (where the OS tells), not internal, not a virtual
 * adapter, and has an address that is not link-local (169.254/16).
 */
export function selectInterfaces(
  options: {
    name?: string;
    table?: NodeJS.Dict<NetworkInterfaceInfo[]>;
    flags?: (name: string) => number | undefined;
  } = {},
): InterfaceSelection {
  const table = options.table ?? networkInterfaces();
  const flagsOf = options.flags ?? linuxInterfaceFlags;
  const wanted = options.name;
  if (wanted !== undefined) {
    if (isIPv4(wanted)) {
      for (const [name, infos] of Object.entries(table)) {
        for (const info of v4(infos)) {
          if (info.address === wanted || inSubnet(wanted, info.address, info.netmask)) {
            return { selected: [{ name, address: wanted, netmask: info.netmask }], skipped: [] };
          }
        }
      }
      throw new AirflashError('BAD_ARGUMENT', `No network interface has the address ${wanted}.`, {
        hint: `Pass an interface name or one of its IPv4 addresses; available: ${available(table)}.`,
      });
    }
    const infos = table[wanted];
    if (infos === undefined) {
      throw new AirflashError('BAD_ARGUMENT', `There is no network interface named "${wanted}".`, {
        hint: `Available: ${available(table)}.`,
      });
    }
    const addresses = v4(infos);
    const first = addresses.find((i) => !isLinkLocalV4(i.address)) ?? addresses[0];
    if (first === undefined) {
      throw new AirflashError('BAD_ARGUMENT', `Interface "${wanted}" has no IPv4 address.`, {
        hint: 'airflash browses mDNS over IPv4; pick an interface with an IPv4 address.',
      });
    }
    return { selected: [{ name: wanted, address: first.address, netmask: first.netmask }], skipped: [] };
  }
  const selected: MdnsInterface[] = [];
  const skipped: Array<{ name: string; reason: string }> = [];
  for (const [name, infos] of Object.entries(table)) {
    const addresses = v4(infos);
    if (addresses.length === 0) {
      skipped.push({ name, reason: 'no IPv4 address' });
      continue;
    }
    if (addresses.every((i) => i.internal)) {
      skipped.push({ name, reason: 'loopback' });
      continue;
    }
    if (VIRTUAL_NAME.test(name)) {
      skipped.push({ name, reason: 'virtual adapter' });
      continue;
    }
    const usable = addresses.find((i) => !i.internal && !isLinkLocalV4(i.address));
    if (usable === undefined) {
      skipped.push({ name, reason: 'link-local address only' });
      continue;
    }
    const flags = flagsOf(name);
    if (flags !== undefined && (flags & IFF_UP) === 0) {
      skipped.push({ name, reason: 'down' });
      continue;
    }
    if (flags !== undefined && (flags & IFF_MULTICAST) === 0) {
      skipped.push({ name, reason: 'not multicast-capable' });
      continue;
    }
    selected.push({ name, address: usable.address, netmask: usable.netmask });
  }
  return { selected, skipped };
}
