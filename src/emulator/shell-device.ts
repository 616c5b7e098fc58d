/**
 * What the emulated devices of the TCP families (ESPHome native OTA, web OTA) answer alike: their
 * life on the shared ESP32 board, waiting for an event, and the board's state (running partition,
 * image, otadata, table, flash, log). Each family's device adds its listener and its shell.
 */
import { AirflashError } from '../core/errors.ts';
import type { PartitionTable } from '../formats/index.ts';
import type { Esp32Board } from './board/esp32-board.ts';
import type { DeviceEvents } from './device-events.ts';
import type { DeviceEvent, DeviceEventName, DeviceState } from './types.ts';

export type ShellLife = 'running' | 'rebooting' | 'closed';

export abstract class ShellDevice {
  abstract readonly address: string;
  protected abstract readonly hub: DeviceEvents;
  protected abstract readonly board: Esp32Board;
  protected life: ShellLife = 'running';

  abstract state(): DeviceState;

  waitFor(
    event: DeviceEventName,
    predicate?: (e: DeviceEvent) => boolean,
    timeoutMs = 30_000,
  ): Promise<DeviceEvent> {
    if (this.life === 'closed')
      return Promise.reject(new AirflashError('INTERRUPTED', `Device ${this.address} is closed.`));
    return this.hub.waitFor(this.address, () => this.state(), event, predicate, timeoutMs);
  }

  runningPartition(): string {
    return this.board.runningPartition();
  }
  runningImageMd5(): string {
    return this.board.runningImageMd5();
  }
  otadata(): Uint8Array {
    return this.board.otadata();
  }
  partitionTable(): PartitionTable | undefined {
    return this.board.partitionTable();
  }
  readFlash(offset: number, length: number): Uint8Array {
    return this.board.flash.read(offset, length);
  }
  log(): string[] {
    return this.hub.logLines();
  }
}
