/** The TCP connect under its named budget (ESPHOME_TIMEOUTS.connectMs; espota2.py `settimeout(20.0)`). */
import { abortError } from '../../../core/abort.ts';
import { AirflashError } from '../../../core/errors.ts';
import type { Stream, Transport } from '../../../transport/types.ts';

export async function connectWithin(
  transport: Transport,
  to: { address: string; port: number },
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Stream> {
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, timeoutMs);
  const onAbort = (): void => ac.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // TCP_NODELAY: the blocks of the window go out at once, not held back by Nagle until the
    // previous segment is acknowledged (which hid the window's gain: docs/esphome.md "Speed").
    return await transport.connect(to, { signal: ac.signal, noDelay: true });
  } catch (error) {
    if (signal?.aborted) throw abortError(signal);
    if (timedOut)
      throw new AirflashError(
        'TIMEOUT',
        `No TCP connection to ${to.address}:${to.port} within ${timeoutMs / 1000} s.`,
        {
          hint: 'Is the device on, on this network, and running ESPHome with `ota: platform: esphome`?',
        },
      );
    const code = (error as NodeJS.ErrnoException).code;
    throw new AirflashError(
      'NETWORK_ERROR',
      `Cannot connect to ${to.address}:${to.port}${code ? ` (${code})` : ''}: ${(error as Error).message}`,
      {
        hint:
          code === 'ECONNREFUSED'
            ? 'Nothing listens for ESPHome OTA on that port: check the port (ESPHome: 3232 on ESP32, 8266 on ESP8266), or whether another upload holds the device (it takes one client at a time).'
            : 'Check the address and the network.',
        cause: error,
      },
    );
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}
