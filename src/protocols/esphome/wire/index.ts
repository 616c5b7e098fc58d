export { authResponse, makeCnonce } from './auth.ts';
export { ackCount, ascii, decodeSize, encodeSize, HOST_FEATURES, isMagic, textOf } from './codec.ts';
export {
  type AuthKind,
  BLOCK_SIZE,
  END_ACK,
  FEATURE,
  MAGIC,
  NONCE_LENGTH,
  OTA_TYPE,
  OTA_VERSIONS,
  type OtaVersion,
  RESPONSE,
  SERVER_FLAG,
} from './constants.ts';
export {
  encodeFrame,
  frameLength,
  NOISE_FRAME_HEADER,
  NOISE_FRAME_INDICATOR,
  NOISE_HANDSHAKE_OK,
  NOISE_MAC,
  NOISE_MAC_FAILURE_REASON,
  NOISE_MAX_HANDSHAKE_PAYLOAD,
  NOISE_MAX_PLAINTEXT,
  otaPrologue,
} from './noise-frames.ts';
export { type EsphomeResponseError, hexByte, RESPONSE_ERRORS, responseError } from './responses.ts';
