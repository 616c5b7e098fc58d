/** airflash emulator: faithful ArduinoOTA devices (ESP32 ≥ 3.3.1, ESP32 3.0–3.3.0, ESP8266) on loopback. */

export { type CoreProfile, coreProfile } from './core-profile.ts';
export { parseFault, startDevice } from './device.ts';
export { type Esp32UpdaterRevision, nextUpdatePartition } from './esp32-target.ts';
export { SparseFlash } from './flash.ts';
export { nextAddress, startFleet } from './fleet.ts';
export { esp32ImageInfo } from './image-check.ts';
export { ESP8266_LAYOUT_NAMES, type Esp8266FlashLayout, esp8266Layout } from './layout.ts';
export { DEFAULT_LINK, type LinkModel } from './link.ts';
export { esp32EndMs, TIMING_MODEL, type TimingModel } from './timing.ts';
export type {
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
export { esp8266StagedImage } from './updater.ts';
