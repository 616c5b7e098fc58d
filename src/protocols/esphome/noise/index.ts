/** Noise_NNpsk0_25519_ChaChaPoly_SHA256 for ESPHome's encrypted OTA: pure state machine and framing. */
export { type KeyPair, keyPairFromPrivate, TAG_LEN } from './primitives.ts';
export {
  CipherState,
  type HandshakeOptions,
  NnPsk0Handshake,
  NOISE_PROTOCOL_NAME,
  type NoiseRole,
  type NoiseTransport,
} from './state.ts';
