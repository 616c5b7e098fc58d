/** airflash emulator: faithful ArduinoOTA devices (ESP32 ≥ 3.3.1, ESP32 3.0–3.3.0, ESP8266) on loopback. */

export { ESP8266_LAYOUT_NAMES, type Esp8266FlashLayout, esp8266Layout } from '../devices/esp8266-layouts.ts';
export { type CoreProfile, coreProfile } from '../protocols/arduino-ota/device/core-profile.ts';
export { type Esp32UpdaterRevision, nextUpdatePartition } from './board/esp32-target.ts';
export { esp8266StagedImage } from './board/esp8266-updater.ts';
export { parseFault } from './board/faults.ts';
export { SparseFlash } from './board/flash.ts';
export { esp32ImageInfo } from './board/image-check.ts';
export { esp32EndMs, TIMING_MODEL, type TimingModel } from './board/timing.ts';
export { startDevice } from './device.ts';
export { nextAddress, startFleet } from './fleet.ts';
export { DEFAULT_LINK, type LinkModel } from './link.ts';
export type {
  DeviceAdvertiser,
  DeviceCounters,
  DeviceEvent,
  DeviceEventName,
  DeviceOptions,
  DeviceState,
  EmulatedDevice,
  EmulatedFleet,
  Fault,
  FaultKind,
} from './types.ts';
export { FAULT_KINDS } from './types.ts';
