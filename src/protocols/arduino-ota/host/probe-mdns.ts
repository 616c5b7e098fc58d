/**
 * The mDNS part of a probe: the device's `_arduino._tcp` advertisements, through the browse the
 * caller injected (the probe imports no discovery; docs/diagnosis.md).
 */
import { AirflashError } from '../../../core/errors.ts';
import { normaliseAddress } from '../../../transport/node.ts';
import type { MdnsBrowse, MdnsChoice, MdnsSeen } from './probe-types.ts';

/** Browse time when the caller does not say, ms. */
export const MDNS_BROWSE_MS = 2500;

/** Throws BAD_ARGUMENT when mDNS is asked for without a browse (before any traffic). */
export function checkMdns(choice: MdnsChoice | undefined, browse: MdnsBrowse | undefined): void {
  if (choice !== undefined && choice !== false && browse === undefined)
    throw new AirflashError('BAD_ARGUMENT', 'mDNS was asked for, but no browse function was given.', {
      hint: "Pass `browse` (e.g. discovery's discoverAll) with `mdns`.",
    });
}

/** The advertisements that match `host` / `address`; undefined when mDNS was not asked. */
export async function lookupMdns(
  choice: MdnsChoice | undefined,
  browse: MdnsBrowse | undefined,
  host: string,
  address: string,
  signal: AbortSignal | undefined,
): Promise<{ seen: MdnsSeen[]; waitedMs: number } | undefined> {
  if (choice === undefined || choice === false) return undefined;
  checkMdns(choice, browse);
  if (browse === undefined) return undefined;
  const timeoutMs = (typeof choice === 'object' ? choice.timeoutMs : undefined) ?? MDNS_BROWSE_MS;
  const started = performance.now();
  let devices: Awaited<ReturnType<MdnsBrowse>>;
  try {
    devices = await browse({ timeoutMs, ...(signal ? { signal } : {}) });
  } catch (error) {
    if (signal?.aborted) throw error;
    return { seen: [], waitedMs: Math.round(performance.now() - started) };
  }
  const name = host.toLowerCase().replace(/\.$/, '');
  const short = name.replace(/\.local$/, '');
  const seen = devices
    .filter(
      (d) =>
        d.addresses.map(normaliseAddress).includes(address) ||
        d.host.toLowerCase().replace(/\.$/, '') === name ||
        d.host.toLowerCase().replace(/\.local\.?$/, '') === short ||
        d.name.toLowerCase() === short,
    )
    .map(
      (d): MdnsSeen => ({
        name: d.name,
        host: d.host,
        addresses: [...d.addresses],
        port: d.port,
        ...(d.board === undefined ? {} : { board: d.board }),
        ...(d.authUpload === undefined ? {} : { authUpload: d.authUpload }),
        txt: { ...d.txt },
        ...(d.core === undefined ? {} : { core: d.core }),
      }),
    );
  return { seen, waitedMs: Math.round(performance.now() - started) };
}
