import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isAirflashError } from '../src/core/errors.ts';
import { upload } from '../src/upload/index.ts';
import { type FakeDeviceOptions, startFakeDevice } from './helpers/fake-ota-device.ts';

const SIZE = 24_000;
const image = new Uint8Array(randomBytes(SIZE));
image[0] = 0xe9;
const md5 = createHash('md5').update(image).digest('hex');
const fast = {
  attemptTimeoutMs: 150,
  inviteAttempts: 3,
  connectTimeoutMs: 500,
  connectMaxMs: 500,
  stallTimeoutMs: 400,
  resultTimeoutMs: 400,
};

async function run(options: FakeDeviceOptions) {
  const dev = await startFakeDevice({ address: '127.0.0.61', ...options });
  try {
    const outcome = await upload({
      host: dev.address,
      port: dev.port,
      data: image,
      preflight: false,
      ...fast,
    }).then(
      (r) => ({ ok: true as const, r }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    return { outcome, dev };
  } finally {
    await dev.close();
  }
}

describe('upload: a connection cut anywhere never reports success', () => {
  it('succeeds with the full reply, the device got every byte (control)', async () => {
    const { outcome, dev } = await run({});
    assert.equal(outcome.ok, true);
    assert.equal(dev.receivedMd5(), md5);
    assert.equal(dev.finalWritten, 2);
  });

  it('OK split over two reads is still success', async () => {
    const { outcome } = await run({ replyPiece: 1 });
    assert.equal(outcome.ok, true);
  });

  it('a cut while receiving the image (any offset) fails with INCOMPLETE', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: SIZE - 1 }), async (cut) => {
        const { outcome } = await run({ cutAfterBytes: cut });
        assert.equal(outcome.ok, false);
        if (!outcome.ok) {
          assert.ok(isAirflashError(outcome.e), String(outcome.e));
          assert.ok(['INCOMPLETE', 'NO_CONNECT_BACK'].includes(outcome.e.code), outcome.e.code);
        }
      }),
      { numRuns: 25 },
    );
  });

  it('a cut anywhere in the reply stream, including inside OK, is success only when OK arrived whole', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 120 }),
        fc.integer({ min: 1, max: 2 }),
        async (cut, piece) => {
          const { outcome, dev } = await run({ replyCutAt: cut, replyPiece: piece });
          if (outcome.ok) {
            assert.equal(
              dev.finalWritten,
              2,
              `success after only ${dev.finalWritten} chars of OK (cut ${cut})`,
            );
            assert.equal(dev.receivedMd5(), md5);
          } else {
            assert.ok(dev.finalWritten < 2, `failure although OK was sent (cut ${cut})`);
            assert.ok(isAirflashError(outcome.e));
            assert.ok(
              ['INCOMPLETE', 'DEVICE_ERROR', 'TRANSFER_STALLED'].includes(outcome.e.code),
              outcome.e.code,
            );
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it('a lone "O" then EOF is an error, not success', async () => {
    const { outcome } = await run({ finalReply: 'O' });
    assert.equal(outcome.ok, false);
    if (!outcome.ok) assert.ok(isAirflashError(outcome.e, 'DEVICE_ERROR'), String(outcome.e));
  });

  it('error text after the counts reaches the caller verbatim', async () => {
    const { outcome } = await run({ finalReply: 'ERROR[10]: Magic byte is not 0xE9\n', replyPiece: 3 });
    assert.equal(outcome.ok, false);
    if (!outcome.ok) {
      assert.ok(isAirflashError(outcome.e, 'DEVICE_ERROR'));
      assert.equal(outcome.e.deviceText, 'ERROR[10]: Magic byte is not 0xE9');
    }
  });

  it('a device that stops reading gives TRANSFER_STALLED, not success', async () => {
    const { outcome } = await run({ stallAfterBytes: 5000 });
    assert.equal(outcome.ok, false);
    if (!outcome.ok) assert.ok(isAirflashError(outcome.e, 'TRANSFER_STALLED'), String(outcome.e));
  });

  it('an answer to the last invitation is taken; one attempt fewer is NO_INVITATION_REPLY (no off-by-one)', async () => {
    const ok = await run({ answerFrom: 3 });
    assert.equal(
      ok.outcome.ok,
      true,
      ok.outcome.ok
        ? ''
        : String(ok.outcome.e) +
            JSON.stringify(
              (ok.outcome.e as { data: { observation: { timeline: unknown } } }).data.observation.timeline,
            ),
    );
    assert.equal(ok.dev.invitations, 2 + 1);
    const late = await run({ answerFrom: 4 });
    assert.equal(late.outcome.ok, false);
    if (!late.outcome.ok) assert.ok(isAirflashError(late.outcome.e, 'NO_INVITATION_REPLY'));
  });
});
