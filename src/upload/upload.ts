/**
 * The upload front, the same for every protocol: validate the options, resolve the target, pick
 * the protocol (registry.ts), prepare and check the image (pre-flight, wrong chip family), then
 * run the protocol's attempts with retries. What happens on the wire is the protocol's
 * (ArduinoOTA: src/protocols/arduino-ota/host/attempt.ts).
 */

import '../protocols/builtin.ts';
import { sleep, throwIfAborted } from '../core/abort.ts';
import { AirflashError, type ErrorCode } from '../core/errors.ts';
import { DEFAULT_PORT, sendsSignedImage } from '../devices/family.ts';
import type { UploadOptions, UploadResult } from '../protocols/arduino-ota/model/options.ts';
import { resolveTimeouts } from '../protocols/arduino-ota/model/timeouts.ts';
import { detectionOrder, parseTarget, pickProtocol, type RegisteredProtocol } from '../protocols/registry.ts';
import type { AttemptJournal, FamilyCheck, ResolvedAddress } from '../protocols/types.ts';
import { resolveTarget } from '../transport/node.ts';
import { chipFamilyRefusal, deviceFamily, familyCheck } from './chip-family.ts';
import { type PreparedImage, prepareImage } from './image.ts';
import { createPreflight } from './preflight.ts';
import { validate } from './validate.ts';

/** Codes that a new attempt cannot fix. */
const NOT_RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'BAD_ARGUMENT',
  'FILE_NOT_FOUND',
  'AUTH_REQUIRED',
  'AUTH_FAILED',
  'AUTH_UNSUPPORTED',
  'DEVICE_REFUSED',
  'HOST_NOT_FOUND',
  'INTERRUPTED',
]);

/** Each detection probe of a bare target (after the family default found nothing there). */
export const DETECT_PROBE_MS = 3000;

/** The first protocol in `detectionOrder` whose probe answers at the target, if any. */
async function detect(
  picked: RegisteredProtocol,
  target: ReturnType<typeof parseTarget>,
  code: ErrorCode,
  options: UploadOptions,
): Promise<RegisteredProtocol | undefined> {
  for (const p of detectionOrder(picked, target, code)) {
    // The port the user named, or the protocol's own first default (web OTA: 80).
    const port = target.port ?? p.ports?.[0] ?? DEFAULT_PORT.esp32;
    const r = await p
      .probe?.(
        { ...target, port },
        {
          timeoutMs: DETECT_PROBE_MS * (options.timeScale && options.timeScale > 0 ? options.timeScale : 1),
          ...(options.resolve ? { resolve: options.resolve } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        },
      )
      .catch(() => undefined);
    if (r?.online) return pickProtocol(target, { probed: p.id });
  }
  return undefined;
}

export function isRetryable(code: ErrorCode): boolean {
  return !NOT_RETRYABLE.has(code) && !code.startsWith('PREFLIGHT_');
}

/**
 * Upload a firmware (command 0) or filesystem (command 100) image. `host` is a bare host (the
 * family default, ArduinoOTA, as espota) or `scheme://host[:port]` for a registered protocol.
 * Resolves on the device's confirmation only. Every failure is an `UploadError` whose
 * `observation` (also `data.observation`) is the protocol's record of the (last) attempt.
 */
export async function upload(options: UploadOptions): Promise<UploadResult> {
  validate(options);
  const signal = options.signal;
  const retries = options.retries ?? 0;
  const target = parseTarget(options.host, options.port);
  let protocol = pickProtocol(target);
  const pauseMs = resolveTimeouts(options).retryPauseMs;

  let journal: AttemptJournal<unknown> = protocol.begin(options, target);
  let image: PreparedImage;
  let check: FamilyCheck | undefined;
  let address: ResolvedAddress;
  try {
    throwIfAborted(signal);
    journal.setPhase('resolve');
    // An addressless protocol (serial) names a device path, not a host: nothing to resolve.
    address = protocol.addressless
      ? { address: target.path ?? target.host, resolvedBy: 'none' }
      : await resolveTarget(target.host, options.resolve, signal);
    journal.resolved(address);
    journal.setPhase('prepare');
    const port = target.port ?? DEFAULT_PORT.esp32;
    const context = options.context ?? {};
    const useSigned = sendsSignedImage(options.signed, { port, chip: context.chip, core: context.core });
    image = await prepareImage({
      file: options.file,
      data: options.data,
      compress: options.compress,
      useSigned,
      signal,
    });
    journal.prepared(image);
    if (image.size === 0)
      throw new AirflashError(
        'PREFLIGHT_EMPTY',
        'The image is empty (0 bytes); there is nothing to upload.',
        {
          hint: 'Build the project again; the device cannot begin an update of size 0.',
        },
      );
    const command: 0 | 100 = options.filesystem ? 100 : 0;
    const preflight = options.preflight === undefined ? createPreflight() : options.preflight;
    if (preflight) {
      journal.setPhase('preflight');
      const original = image;
      journal.checked(
        await preflight({
          ...(original.path === undefined ? {} : { path: original.path }),
          size: original.size,
          md5: original.md5,
          command,
          head: original.head,
          read: () => original.readOriginal(),
          open: () => original.openOriginal(),
        }),
      );
    }
    if (context.force !== true) {
      const sent = { head: image.head, command, compressed: image.compressed };
      const known = deviceFamily(context);
      const refusal = chipFamilyRefusal(sent, known);
      if (refusal) {
        journal.setPhase('preflight');
        throw refusal;
      }
      // Not known from context: the protocol asks the device before its first image byte on a
      // port that is the other family's default (chip-family.ts). `preflight: false` skips it.
      if (options.preflight !== false) check = familyCheck(sent, known);
    }
  } catch (error) {
    throw journal.fail(error);
  }

  let detected = false; // once: a detected protocol that finds nothing does not detect again
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await protocol.upload({
        options,
        target,
        address,
        image,
        journal,
        attempt,
        // Asked once, before the first attempt's invitation.
        ...(attempt === 1 && check ? { familyCheck: check } : {}),
        ...(signal ? { signal } : {}),
      });
      // The envelope is the protocol's; `attempts` is the front's.
      return { ...(result as Omit<UploadResult, 'attempts'>), attempts: attempt };
    } catch (error) {
      const e = journal.fail(error);
      // A bare target with nobody of the picked protocol there: another protocol's probe may answer.
      const found =
        attempt === 1 && !detected && !signal?.aborted
          ? await detect(protocol, target, e.code, options)
          : undefined;
      if (found) {
        detected = true;
        const before = protocol;
        protocol = found;
        journal = found.begin(options, target);
        journal.emit({
          type: 'hint',
          message: `${target.host} does not answer ${before.title} but speaks ${found.title}: updating it as ${found.id}://.`,
        });
        attempt = 0;
        continue;
      }
      const again = protocol.isRetryable ? protocol.isRetryable(e.code) : isRetryable(e.code);
      if (attempt > retries || !again || signal?.aborted) throw e;
      journal.emit({ type: 'retry', attempt, of: retries + 1, code: e.code, message: e.message });
      await sleep(pauseMs * attempt, signal).catch((err: unknown) => {
        throw journal.fail(err);
      });
      journal = journal.next(e);
    }
  }
}
