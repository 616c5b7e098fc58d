/** airflash upload: the protocol-agnostic front (`upload()`), its options and results, and the
 * protocol registry (`registerProtocol()`). ArduinoOTA (espota) is the family default. */

export type * from '../protocols/arduino-ota/model/options.ts';
export { DEFAULTS, resolveTimeouts, type Timeouts } from '../protocols/arduino-ota/model/timeouts.ts';
export { basicJournal } from '../protocols/journal.ts';
export { type PickHints, parseTarget, pickProtocol, registerProtocol } from '../protocols/registry.ts';
export type {
  AttemptJournal,
  FamilyCheck,
  FamilyEvidence,
  ImageKind,
  OtaProtocol,
  PreparedImage,
  ProtocolProbe,
  ProtocolProbeOptions,
  ResolvedAddress,
  Target,
  UploadEnvelope,
  UploadSession,
} from '../protocols/types.ts';
export { isUploadError, UploadError } from '../protocols/upload-error.ts';
export { type DeviceFamily, deviceFamily, type KnownDevice } from './chip-family.ts';
export { type ClosableImageSource, closableBytes, inspectImageFile, openImageFile } from './image-file.ts';
export { createPreflight, loadPartitions, type PreflightChoice } from './preflight.ts';
export { isRetryable, upload } from './upload.ts';
