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
export { type EsphomeResponseError, hexByte, RESPONSE_ERRORS, responseError } from './responses.ts';
