export * from './auth.ts';
export * from './constants.ts';
export * from './invitation.ts';
export * from './text.ts';
export * from './tokenizer.ts';
export { type DeviceErrorCode, type DeviceErrorEntry, DEVICE_ERRORS, lookupDeviceError } from './device-errors.ts';
export { AUTH_FAILED_TEXT, classifyReply, type Reply, replyAnswer } from './replies.ts';
