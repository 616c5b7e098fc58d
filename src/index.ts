/**
 * airflash — over-the-air updates for ESP32 and ESP8266 boards (ArduinoOTA / espota).
 *
 * The whole public Node API in one place. Browser-safe pure modules are also published as the
 * subpaths `airflash/protocol` and `airflash/formats`.
 */

// Errors and exit codes: match on `error.code`.
export * from './core/errors.ts';
export { VERSION } from './core/version.ts';
// The dashboard's server (what `airflash dashboard` runs) and its device sources.
export {
  type Dashboard,
  type DashboardOptions,
  type DemoFleet,
  type DemoOptions,
  type SourceOptions,
  setupSources,
  startDashboard,
  startDemoFleet,
} from './dashboard/index.ts';
// Explaining failures, probing devices, checking PlatformIO projects.
export * from './diagnosis/index.ts';
// mDNS discovery, `.local` resolution and the devices file.
export * from './discovery/index.ts';
// The device emulator: `startDevice`, `startFleet`.
export * from './emulator/index.ts';
export * from './fleet/fleet.ts';
// Pure modules, also available as subpaths.
export * as formats from './formats/index.ts';
export {
  buildEsp32App,
  buildEsp8266Sketch,
  builtinPartitionTable,
  inspectImage,
  judgeFirmware,
  otaVerdict,
  parsePartitionCsv,
  preflight,
} from './formats/index.ts';
export * as protocol from './protocols/arduino-ota/wire/index.ts';
// Uploading: one device (`upload`) or many (`uploadFleet`).
export * from './upload/index.ts';
