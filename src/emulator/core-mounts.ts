import { AirflashError } from '../core/errors.ts';
import { esp8266Layout } from '../devices/esp8266-layouts.ts';
import type { PartitionTable } from '../formats/index.ts';
import {
  deviceSecretFromHash,
  deviceSecretFromPassword,
} from '../protocols/arduino-ota/device/auth-verify.ts';
import { Esp32ArduinoOta } from '../protocols/arduino-ota/device/esp32.ts';
import { Esp8266ArduinoOta } from '../protocols/arduino-ota/device/esp8266.ts';
import type { ArduinoOtaShell, ShellHost } from '../protocols/arduino-ota/device/session.ts';
import type { CoreKind } from '../protocols/arduino-ota/wire/index.ts';
import type { Board } from './board/board.ts';
import { Esp32Board } from './board/esp32-board.ts';
import type { Esp32UpdaterRevision } from './board/esp32-target.ts';
import { Esp8266Board } from './board/esp8266-board.ts';
import { loadTable, toFlashSize } from './device-options.ts';
import type { DeviceOptions } from './types.ts';

/**
 * Which board each emulated core runs on and which ArduinoOTA shell mounts on it: the one place
 * the emulator tells the cores apart (docs/emulator.md "Per-core behaviour").
 */

const MB = 1024 * 1024;

/** What startDevice() loads before the device exists (files, tables). */
export interface PreparedBoard {
  flashSize: number;
  table?: PartitionTable;
}

export interface MountSettings {
  seed: number;
  updater: Esp32UpdaterRevision;
  receiveTimeoutMs: number;
}

export interface CoreMount {
  defaultHostname(macHex: string): string;
  /** mDNS TXT `board` default. */
  defaultBoard: string;
  prepare(options: DeviceOptions): Promise<PreparedBoard>;
  /** The secret ArduinoOTA stores (setPassword / setPasswordHash), undefined without one. */
  secret(options: DeviceOptions): string | undefined;
  /** Build the board; the shell is built once the device (its host) exists. */
  mount(
    options: DeviceOptions,
    prepared: PreparedBoard,
    settings: MountSettings,
    secret: string | undefined,
  ): { board: Board; shell(host: ShellHost): ArduinoOtaShell };
}

function secretFor(core: CoreKind, options: DeviceOptions): string | undefined {
  if (options.passwordHash !== undefined) return deviceSecretFromHash(core, options.passwordHash);
  if (options.password !== undefined) return deviceSecretFromPassword(core, options.password);
  return undefined;
}

function esp32Mount(core: 'esp32' | 'esp32-legacy'): CoreMount {
  return {
    defaultHostname: (macHex) => `esp32-${macHex}`,
    defaultBoard: 'esp32',
    async prepare(options) {
      const loaded = await loadTable(options.partitions);
      const flashSize =
        options.flashSize === undefined
          ? (loaded.schemeFlash ?? 4 * MB)
          : toFlashSize(options.flashSize, 'esp32');
      return { flashSize, table: loaded.table };
    },
    secret: (options) => secretFor(core, options),
    mount(options, prepared, settings, secret) {
      // 180–240 KB, deterministic per device
      const firmwareSize = 180_000 + (settings.seed % 60_000);
      const board = new Esp32Board(prepared.flashSize, prepared.table as PartitionTable, firmwareSize);
      return {
        board,
        shell: (host) =>
          new Esp32ArduinoOta(host, board, secret, {
            updater: settings.updater,
            decryptSupport: options.decryptSupport ?? true,
            receiveTimeoutMs: settings.receiveTimeoutMs,
          }),
      };
    },
  };
}

const ESP8266_MOUNT: CoreMount = {
  defaultHostname: (macHex) => `esp8266-${macHex.slice(6)}`,
  defaultBoard: 'generic',
  async prepare(options) {
    const layout = esp8266Layout(options.flashLayout ?? '4M2M');
    const flashSize =
      options.flashSize === undefined ? layout.flashSize : toFlashSize(options.flashSize, 'esp8266');
    return { flashSize };
  },
  secret: (options) => secretFor('esp8266', options),
  mount(options, prepared, _settings, secret) {
    const layout = esp8266Layout(options.flashLayout ?? '4M2M');
    const sketchSize = options.sketchSize ?? 400_000;
    if (!Number.isInteger(sketchSize) || sketchSize < 16) {
      throw new AirflashError('BAD_ARGUMENT', `sketchSize ${sketchSize} is not a sketch size.`);
    }
    const board = new Esp8266Board(prepared.flashSize, layout, sketchSize, options.uartBoot === true);
    return {
      board,
      shell: (host) => new Esp8266ArduinoOta(host, board, secret),
    };
  },
};

export const CORE_MOUNTS: Record<CoreKind, CoreMount> = {
  esp32: esp32Mount('esp32'),
  'esp32-legacy': esp32Mount('esp32-legacy'),
  esp8266: ESP8266_MOUNT,
};
