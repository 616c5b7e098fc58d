/**
 * airflash — updates for ESP32 and ESP8266 boards: ArduinoOTA (espota) today, one upload front for
 * every protocol family (`registerProtocol`).
 *
 * The public Node API, listed name by name (test/exports.test.ts holds it to its snapshot). The
 * subpaths `airflash/protocol` (ArduinoOTA's wire codec), `airflash/formats` (images, partition
 * tables, otadata), `airflash/diagnosis` and `airflash/doctor` are narrower entries to the same
 * code. What runs in a browser: docs/api.md "Browser".
 */

// Errors and exit codes: match on `error.code`.
export {
  AirflashError,
  type AirflashErrorDetails,
  ERROR_CODES,
  type ErrorCode,
  EXIT,
  exitCodeFor,
  exitCodeForCode,
  isAirflashError,
  toAirflashError,
} from './core/errors.ts';
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
// Chip-family facts: default ports, partition schemes (one precedence), ESP8266 flash layouts.
export {
  type ChipFamily,
  DEFAULT_PORT,
  defaultPort,
  ESP8266_LAYOUT_NAMES,
  ESP8266_MAX_SKETCH,
  type Esp8266FlashLayout,
  esp8266Layout,
  familyOfPort,
  type ResolvedPartitions,
  type ResolvePartitionsOptions,
  resolvePartitions,
} from './devices/index.ts';
// Explaining failures (`diagnoseUpload`: the one Diagnosis) and probing devices.
export {
  type AdvertisedService,
  type CoreDetection,
  type DiagnoseOptions,
  type DiagnoseUploadOptions,
  type Diagnosis,
  type DiagnosisCause,
  detectCore,
  diagnose,
  diagnoseUpload,
  FOLLOW_UP_WAIT_MS,
  type FollowUpOptions,
  type FollowUpResult,
  firewallCommands,
  followUp,
  type Likelihood,
  type MdnsBrowse,
  type MdnsChoice,
  type MdnsSeen,
  needsFollowUp,
  type PortCheck,
  type ProbeLoop,
  type ProbeOptions,
  type ProbeResult,
  probe,
  renderDiagnosis,
  type TcpCheck,
} from './diagnosis/index.ts';
// mDNS discovery, `.local` resolution and the devices file.
export {
  type Advertisement,
  type AdvertiseOptions,
  ARDUINO_SERVICE,
  advertise,
  arduinoTxt,
  createMdnsBus,
  createMdnsTransport,
  DEVICES_FILE_NAME,
  type DeviceRecord,
  type DiscoveredCore,
  type DiscoveredDevice,
  type DiscoverOptions,
  type DiscoveryEvent,
  devicePassword,
  discover,
  discoverAll,
  type InterfaceSelection,
  inferCore,
  type LoadDevicesOptions,
  loadDevicesFile,
  type MdnsInterface,
  type MdnsTransport,
  type MdnsTransportOptions,
  type ParsedDevicesFile,
  parseDevicesFile,
  type ResolveHostOptions,
  type ResolveLocalOptions,
  resolveHost,
  resolveLocalName,
  selectInterfaces,
} from './discovery/index.ts';
// Checking a PlatformIO project (`airflash doctor`).
export {
  type DoctorEnvSummary,
  type DoctorFinding,
  type DoctorOptions,
  type DoctorReport,
  type DoctorSeverity,
  doctor,
  type PlatformioConfig,
  parsePlatformioIni,
} from './doctor/index.ts';
// The device emulator: `startDevice`, `startFleet`.
export {
  type DeviceCounters,
  type DeviceEvent,
  type DeviceEventName,
  type DeviceOptions,
  type DeviceState,
  type EmulatedDevice,
  type EmulatedFleet,
  type Esp32UpdaterRevision,
  FAULT_KINDS,
  type Fault,
  type FaultKind,
  type LinkModel,
  parseFault,
  startDevice,
  startFleet,
  TIMING_MODEL,
  type TimingModel,
} from './emulator/index.ts';
// Many devices at once: `uploadFleet`.
export {
  type DeviceResult,
  type DeviceStatus,
  FLEET_DEFAULTS,
  type FleetEvent,
  type FleetOptions,
  type FleetPhase,
  type FleetStopReason,
  type FleetSummary,
  type FleetTarget,
  type FleetTotals,
  type FleetUploadOptions,
  isTransientFailure,
  uploadFleet,
} from './fleet/fleet.ts';
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
export {
  type ProbeDeviceOptions,
  type ProbeOutcome,
  probeDevice,
  waitUntilBack,
} from './protocols/arduino-ota/host/probe-device.ts';
// ArduinoOTA's own pieces: the short "is it there" probe the fleet uses, a device text's advice.
// The directory of the reboot marks (`rebootMarks` upload option) from an environment.
export { rebootMarkDir } from './protocols/arduino-ota/host/reboot-marks.ts';
export { deviceErrorHint } from './protocols/arduino-ota/host/transfer.ts';
export * as protocol from './protocols/arduino-ota/wire/index.ts';
// USB serial: first flash, erase, chip info, the board's partitions (loaded when called).
export {
  type BoardPartitions,
  type ChipInfo as SerialChipInfo,
  chipInfo,
  type EraseSerialOptions,
  eraseSerial,
  type FlashSerialOptions,
  type FlashSerialResult,
  flashSerial,
  listSerialPorts,
  type ResetMode,
  readPartitionsSerial,
  type SerialEvent,
  type SerialOptions,
  type SerialPortEntry,
} from './protocols/serial/index.ts';
// Web OTA over HTTP (issue 18): the protocol object (its probe names the firmware), its options
// beside UploadOptions (`user`, `httpProfile`, `httpTimeouts`) and its observation.
export {
  HTTP_TIMEOUTS,
  type HttpObservation,
  type HttpOptions,
  type HttpProbe,
  type HttpTimeouts,
  httpOta,
  PROFILE_IDS,
  type ProfileId,
  type VersionCheck,
  type WebIdentity,
} from './protocols/web-ota/index.ts';
// One device: `upload()`, the protocol registry and the contract a protocol family implements.
export {
  type AttemptJournal,
  basicJournal,
  type ClosableImageSource,
  closableBytes,
  createPreflight,
  DEFAULTS,
  type ImageKind,
  inspectImageFile,
  isRetryable,
  isUploadError,
  loadPartitions,
  type OtaProtocol,
  openImageFile,
  type PreflightChoice,
  type PreflightOutcome,
  type PreparedImage,
  type PreparedImageInfo,
  type ProtocolProbe,
  type ProtocolProbeOptions,
  parseTarget,
  pickProtocol,
  type ResolvedAddress,
  registerProtocol,
  resolveTimeouts,
  type Target,
  type Timeouts,
  type UploadContext,
  type UploadEnvelope,
  UploadError,
  type UploadEvent,
  type UploadObservation,
  type UploadOptions,
  type UploadPhase,
  type UploadResult,
  type UploadSession,
  upload,
} from './upload/index.ts';
