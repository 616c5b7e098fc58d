/** The dashboard: a local web app to see and update every device (`airflash dashboard`). */
export { ENDPOINTS } from './api.ts';
export { type DemoFleet, type DemoOptions, startDemoFleet } from './demo.ts';
export type { DeviceInfo, DeviceSource, DeviceView } from './devices.ts';
export type { JobDevice, UpdateJob } from './jobs.ts';
export type { DashboardLibrary, DeviceTarget, FitVerdict, ImageSummary } from './lib.ts';
export { browseInto } from './mdns.ts';
export {
  type Dashboard,
  type DashboardOptions,
  defaultStateDir,
  isDefaultBind,
  randomToken,
  startDashboard,
} from './server.ts';
export { type SourceOptions, setupSources } from './sources.ts';
export type { FirmwareRecord, HistoryEntry, HistoryLine } from './store.ts';
