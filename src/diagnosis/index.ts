/** airflash diagnosis: why an upload failed (`diagnose`), what a device runs (`probe`), and `doctor`. */

export {
  type DoctorEnvSummary,
  type DoctorFinding,
  type DoctorOptions,
  type DoctorProbe,
  type DoctorProbeResult,
  type DoctorReport,
  type DoctorSeverity,
  doctor,
} from '../doctor/doctor.ts';
export { type PlatformioConfig, parsePlatformioIni } from '../doctor/platformio-ini.ts';
export { loadDoctorProbe, toDoctorProbeResult } from '../doctor/probe.ts';
export {
  type FollowUpOptions,
  followUp,
  type MdnsChoice,
  type ProbeLoop,
  type ProbeOptions,
  type ProbeResult,
  probe,
} from '../protocols/arduino-ota/host/probe.ts';
export {
  type DiagnoseOptions,
  type Diagnosis,
  type DiagnosisCause,
  diagnose,
  type FollowUpResult,
  firewallCommands,
  type Likelihood,
  type MdnsSeen,
  needsFollowUp,
  type PortCheck,
  renderDiagnosis,
  type TcpCheck,
} from './diagnose.ts';
export { type DiagnoseUploadOptions, diagnoseUpload, FOLLOW_UP_WAIT_MS } from './diagnose-upload.ts';
