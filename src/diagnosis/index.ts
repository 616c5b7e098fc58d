/**
 * airflash diagnosis: why an upload failed (`diagnose`, `diagnoseUpload`: the one `Diagnosis`),
 * and what a device runs (`probe`, `detectCore`). Doctor is `airflash/doctor`.
 */

export { firewallCommands } from '../protocols/arduino-ota/diagnose/connect.ts';
export { probe } from '../protocols/arduino-ota/host/probe.ts';
export { detectCore } from '../protocols/arduino-ota/host/probe-core.ts';
export { type FollowUpOptions, followUp } from '../protocols/arduino-ota/host/probe-follow-up.ts';
export type {
  AdvertisedService,
  CoreClues,
  CoreDetection,
  FollowUpResult,
  MdnsBrowse,
  MdnsChoice,
  MdnsSeen,
  PortCheck,
  ProbeLoop,
  ProbeOptions,
  ProbeResult,
  TcpCheck,
} from '../protocols/arduino-ota/host/probe-types.ts';
export { type DiagnoseOptions, diagnose, needsFollowUp, renderDiagnosis } from './diagnose.ts';
export { type DiagnoseUploadOptions, diagnoseUpload, FOLLOW_UP_WAIT_MS } from './diagnose-upload.ts';
export type { CauseCandidate, Diagnosis, DiagnosisCause, Likelihood, ProtocolRules } from './types.ts';
