/** What a firmware's routes (tasmota.ts, wled.ts) use of the web shell (shell.ts). */
import type { IncomingMessage } from 'node:http';
import type { Esp32Board } from '../../../emulator/board/esp32-board.ts';
import type { FileGate, Received } from './receive.ts';
import type { WebShellConfig, WebShellHost } from './shell.ts';

export interface Reply {
  status: number;
  body: string;
  type?: string;
  headers?: Record<string, string>;
  gzip?: boolean;
}

export interface ShellApi {
  readonly host: WebShellHost;
  readonly board: Esp32Board;
  readonly config: WebShellConfig;
  /** Server state that a reboot clears. */
  readonly state: { uploadTypeFirmware: boolean };
  authorized(req: IncomingMessage, method: string): boolean;
  unauthorized(): Reply;
  drain(req: IncomingMessage): Promise<void>;
  receive(
    req: IncomingMessage,
    signal: AbortSignal,
    gate: (name: string, filename: string, fields: Map<string, string>) => FileGate,
    checkHead?: (head: Uint8Array, size: number) => { errno: number; text: string } | undefined,
  ): Promise<Received>;
  succeeded(r: Extract<Received, { kind: 'ok' }>, afterMs: number): void;
  failed(text: string): void;
}
