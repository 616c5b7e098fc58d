/**
 * The Noise state objects (Noise spec rev. 34 §5: CipherState, SymmetricState, HandshakeState)
 * for the one pattern ESPHome uses, NNpsk0 (§7.5, §9: `-> psk, e` / `<- e, ee`; with a PSK in the
 * pattern every `e` token also runs MixKey(e.public_key)). Pure: messages in, messages out.
 */
import { AirflashError } from '../../../core/errors.ts';
import {
  aeadDecrypt,
  aeadEncrypt,
  concat,
  DH_LEN,
  dh,
  generateKeyPair,
  HASH_LEN,
  hkdf,
  type KeyPair,
  keyPairFromPrivate,
  sha256,
  TAG_LEN,
} from './primitives.ts';

export const NOISE_PROTOCOL_NAME = 'Noise_NNpsk0_25519_ChaChaPoly_SHA256';
/** 2^64 − 1 is reserved (§5.1): a CipherState refuses to use it. */
const MAX_NONCE = 0xffff_ffff_ffff_ffffn;

/** One direction's key and counter after the handshake (or during it, under SymmetricState). */
export class CipherState {
  private k: Uint8Array | undefined;
  private n = 0n;

  constructor(key?: Uint8Array) {
    if (key) this.initializeKey(key);
  }

  initializeKey(key: Uint8Array): void {
    this.k = Uint8Array.from(key.subarray(0, 32));
    this.n = 0n;
  }

  hasKey(): boolean {
    return this.k !== undefined;
  }

  /** Messages sent (or received) so far under this key. */
  get nonce(): bigint {
    return this.n;
  }

  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (!this.k) return Uint8Array.from(plaintext);
    if (this.n >= MAX_NONCE)
      throw new AirflashError('NOISE_HANDSHAKE_FAILED', 'The Noise nonce is exhausted.');
    const out = aeadEncrypt(this.k, this.n, ad, plaintext);
    this.n++;
    return out;
  }

  /** The plaintext; undefined when the tag fails (the counter then stays, §5.1). */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | undefined {
    if (!this.k) return Uint8Array.from(ciphertext);
    if (this.n >= MAX_NONCE)
      throw new AirflashError('NOISE_HANDSHAKE_FAILED', 'The Noise nonce is exhausted.');
    const out = aeadDecrypt(this.k, this.n, ad, ciphertext);
    if (out !== undefined) this.n++;
    return out;
  }
}

class SymmetricState {
  readonly cipher = new CipherState();
  ck: Uint8Array;
  h: Uint8Array;

  constructor(protocolName: string) {
    const name = new TextEncoder().encode(protocolName);
    if (name.length <= HASH_LEN) {
      this.h = new Uint8Array(HASH_LEN);
      this.h.set(name);
    } else this.h = sha256(name);
    this.ck = Uint8Array.from(this.h);
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, k] = hkdf(this.ck, ikm, 2) as [Uint8Array, Uint8Array];
    this.ck = ck;
    this.cipher.initializeKey(k);
  }

  mixHash(data: Uint8Array): void {
    this.h = sha256(this.h, data);
  }

  mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, th, k] = hkdf(this.ck, ikm, 3) as [Uint8Array, Uint8Array, Uint8Array];
    this.ck = ck;
    this.mixHash(th);
    this.cipher.initializeKey(k);
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const c = this.cipher.encryptWithAd(this.h, plaintext);
    this.mixHash(c);
    return c;
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array | undefined {
    const p = this.cipher.decryptWithAd(this.h, ciphertext);
    if (p !== undefined) this.mixHash(ciphertext);
    return p;
  }

  split(): [CipherState, CipherState] {
    const [k1, k2] = hkdf(this.ck, new Uint8Array(0), 2) as [Uint8Array, Uint8Array];
    return [new CipherState(k1), new CipherState(k2)];
  }
}

export type NoiseRole = 'initiator' | 'responder';

export interface HandshakeOptions {
  role: NoiseRole;
  /** The 32-byte pre-shared key (ESPHome: the base64-decoded API / OTA key). */
  psk: Uint8Array;
  prologue: Uint8Array;
  /** A fixed ephemeral private key (test vectors only; default: a fresh random one). */
  ephemeral?: Uint8Array;
}

/** The outcome of a finished handshake: this side's send and receive ciphers. */
export interface NoiseTransport {
  send: CipherState;
  receive: CipherState;
  /** The handshake hash (channel binding; the vectors check it). */
  handshakeHash: Uint8Array;
}

/**
 * NNpsk0 as initiator or responder: message 1 (initiator → responder) is `psk, e` + payload,
 * message 2 is `e, ee` + payload; after message 2 both sides split.
 */
export class NnPsk0Handshake {
  private readonly ss = new SymmetricState(NOISE_PROTOCOL_NAME);
  private readonly role: NoiseRole;
  private readonly psk: Uint8Array;
  private readonly e: KeyPair;
  private re: Uint8Array | undefined;
  private step = 0;
  private done: NoiseTransport | undefined;

  constructor(o: HandshakeOptions) {
    if (o.psk.length !== 32) throw new AirflashError('BAD_ARGUMENT', 'The Noise PSK must be 32 bytes.');
    this.role = o.role;
    this.psk = Uint8Array.from(o.psk);
    this.e = o.ephemeral ? keyPairFromPrivate(o.ephemeral) : generateKeyPair();
    this.ss.mixHash(o.prologue);
  }

  /** The finished transport, once both messages went through. */
  get transport(): NoiseTransport | undefined {
    return this.done;
  }

  /** Write the next message of this side (1 for the initiator, 2 for the responder). */
  writeMessage(payload: Uint8Array = new Uint8Array(0)): Uint8Array {
    const mine = this.role === 'initiator' ? 0 : 1;
    if (this.step !== mine)
      throw new Error(`NNpsk0: not this side's turn to write (${this.role}, step ${this.step})`);
    if (this.step === 0) this.ss.mixKeyAndHash(this.psk);
    this.ss.mixHash(this.e.publicKey);
    this.ss.mixKey(this.e.publicKey);
    if (this.step === 1) this.ss.mixKey(dh(this.e, this.re as Uint8Array));
    const out = concat(this.e.publicKey, this.ss.encryptAndHash(payload));
    this.advance();
    return out;
  }

  /** Read the peer's message; the payload, or a HANDSHAKE_MAC_FAILURE when its tag fails (wrong PSK). */
  readMessage(message: Uint8Array): Uint8Array {
    const theirs = this.role === 'initiator' ? 1 : 0;
    if (this.step !== theirs)
      throw new Error(`NNpsk0: not this side's turn to read (${this.role}, step ${this.step})`);
    if (message.length < DH_LEN + TAG_LEN)
      throw new AirflashError(
        'NOISE_HANDSHAKE_FAILED',
        `A Noise handshake message of ${message.length} bytes is too short.`,
      );
    if (this.step === 0) this.ss.mixKeyAndHash(this.psk);
    this.re = Uint8Array.from(message.subarray(0, DH_LEN));
    this.ss.mixHash(this.re);
    this.ss.mixKey(this.re);
    if (this.step === 1) this.ss.mixKey(dh(this.e, this.re));
    const payload = this.ss.decryptAndHash(message.subarray(DH_LEN));
    if (payload === undefined)
      throw new AirflashError('HANDSHAKE_MAC_FAILURE', 'Handshake MAC failure: the Noise keys differ.', {
        hint: 'The encryption key (--key / AIRFLASH_ESPHOME_KEY) is not the one of the device.',
      });
    this.advance();
    return payload;
  }

  private advance(): void {
    this.step++;
    if (this.step < 2) return;
    const [c1, c2] = this.ss.split();
    this.done =
      this.role === 'initiator'
        ? { send: c1, receive: c2, handshakeHash: Uint8Array.from(this.ss.h) }
        : { send: c2, receive: c1, handshakeHash: Uint8Array.from(this.ss.h) };
  }
}
