/** airflash doctor: check a PlatformIO project (platformio.ini, sources, espota flags) for OTA problems. */

export {
  type DoctorEnvSummary,
  type DoctorFinding,
  type DoctorOptions,
  type DoctorProbe,
  type DoctorProbeResult,
  type DoctorReport,
  type DoctorSeverity,
  doctor,
} from './doctor.ts';
export { type PlatformioConfig, parsePlatformioIni } from './platformio-ini.ts';
