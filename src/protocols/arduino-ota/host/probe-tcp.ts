/** The follow-up's TCP reachability test: a closed port answers with a reset, so a host is there. */
import { connect as tcpConnect } from 'node:net';
import type { TcpCheck } from './probe-types.ts';

export async function tcpCheck(
  address: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<TcpCheck> {
  const started = performance.now();
  return new Promise<TcpCheck>((resolve) => {
    const socket = tcpConnect({ host: address, port });
    const done = (outcome: TcpCheck['outcome'], error?: string): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve({
        port,
        outcome,
        latencyMs: Math.round(performance.now() - started),
        ...(error ? { error } : {}),
      });
    };
    const onAbort = (): void => done('error', 'aborted');
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done('open'));
    socket.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') done('refused');
      else if (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH') done('unreachable', e.code);
      else done('error', e.code ?? e.message);
    });
  });
}
