/** airflash uploader: the host side of ArduinoOTA (espota). */
export { DEFAULTS, resolveTimeouts, type Timeouts } from './defaults.ts';
export { type ClosableImageSource, closableBytes, inspectImageFile, openImageFile } from './image-file.ts';
export { createPreflight, loadPartitions, type PreflightChoice } from './preflight.ts';
export { deviceErrorHint } from './transfer.ts';
export type * from './types.ts';
export { isRetryable, upload } from './upload.ts';
