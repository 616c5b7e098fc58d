/** airflash uploader: the host side of ArduinoOTA (espota). */

export { deviceErrorHint } from '../protocols/arduino-ota/host/transfer.ts';
export { DEFAULTS, resolveTimeouts, type Timeouts } from './defaults.ts';
export { type ClosableImageSource, closableBytes, inspectImageFile, openImageFile } from './image-file.ts';
export { createPreflight, loadPartitions, type PreflightChoice } from './preflight.ts';
export type * from './types.ts';
export { isRetryable, upload } from './upload.ts';
