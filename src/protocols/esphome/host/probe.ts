/**
 * The safe probe (protocols-next.md "What airflash should build": connect, magic, version, the
 * feature byte `07`, the flags and the auth byte, then close): it learns the OTA version,
 * compression, partition access, whether encryption is offered and whether a password is needed,
 * and closes before the size, so the device never begins an update (it calls `backend.begin` only
 * after the size, §1.2 step 10).
 */
import { toAirflashError } from '../../../core/errors.ts';
import type { Transport } from '../../../transport/types.ts';
import { FEATURE, hexByte, MAGIC, RESPONSE, responseError, SERVER_FLAG } from '../wire/index.ts';
import { connectWithin } from './connect.ts';
import { ByteReader } from './reader.ts';

export interface EsphomeProbe {
  /** Something accepted the TCP connection. */
  online: boolean;
  /** It answered as an ESPHome native OTA device (`00 VV`). */
  esphome: boolean;
  latencyMs?: number;
  otaVersion?: number;
  extended?: boolean;
  compression?: boolean;
  partitionAccess?: boolean;
  encryptionOffered?: boolean;
  /** The device answered `94`: it takes encrypted sessions only. */
  encryptionRequired?: boolean;
  authRequired?: boolean;
  auth?: 'none' | 'sha256' | 'md5';
  /** An error byte or a failure after the connect, in words. */
  error?: string;
}

export async function probeEsphome(
  transport: Transport,
  to: { address: string; port: number },
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<EsphomeProbe> {
  const started = transport.now();
  let stream: Awaited<ReturnType<typeof connectWithin>>;
  try {
    stream = await connectWithin(transport, to, timeoutMs, signal);
  } catch (error) {
    return { online: false, esphome: false, error: toAirflashError(error).message };
  }
  const reader = new ByteReader(stream);
  const out: EsphomeProbe = { online: true, esphome: false };
  const read1 = async (): Promise<number> =>
    (await reader.take(1, timeoutMs, 'to the probe', signal))[0] as number;
  const stop = (b: number): boolean => {
    const e = responseError(b);
    if (e === undefined) return false;
    if (b === 0x94) out.encryptionRequired = true;
    out.error = `${hexByte(b)} ${e.name}: ${e.message}`;
    return true;
  };
  try {
    stream.write(MAGIC);
    const head = await read1();
    if (stop(head) || head !== RESPONSE.ok) return out;
    out.otaVersion = await read1();
    out.esphome = true;
    out.latencyMs = Math.round(transport.now() - started);
    stream.write(Uint8Array.of(FEATURE.compression | FEATURE.sha256Auth | FEATURE.extended));
    const answer = await read1();
    if (stop(answer)) return out;
    out.extended = answer === RESPONSE.featureFlags;
    out.compression = answer === RESPONSE.supportsCompression;
    if (out.extended) {
      const flags = await read1();
      out.compression = (flags & SERVER_FLAG.compression) !== 0;
      out.partitionAccess = (flags & SERVER_FLAG.partitionAccess) !== 0;
      out.encryptionOffered = (flags & SERVER_FLAG.noiseOffered) !== 0;
    }
    const ask = await read1();
    if (stop(ask)) return out;
    out.auth = ask === RESPONSE.requestSha256Auth ? 'sha256' : ask === RESPONSE.requestAuth ? 'md5' : 'none';
    out.authRequired = out.auth !== 'none';
    return out;
  } catch (error) {
    out.error = toAirflashError(error).message;
    return out;
  } finally {
    reader.dispose();
    stream.destroy();
  }
}
