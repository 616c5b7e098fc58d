export * from './auth.ts';
export * from './constants.ts';
export {
  DEVICE_ERRORS,
  type DeviceErrorCode,
  type DeviceErrorEntry,
  lookupDeviceError,
} from './device-errors.ts';
export * from './invitation.ts';
export { AUTH_FAILED_TEXT, classifyReply, type Reply, replyAnswer } from './replies.ts';
export * from './text.ts';
export * from './tokenizer.ts';
