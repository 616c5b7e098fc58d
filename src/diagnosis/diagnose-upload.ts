/**
 * `diagnoseUpload()`: the one diagnosis of a failed upload, the same in the CLI, the fleet and the
 * dashboard. When no invitation was answered it first runs the active follow-up (the port given,
 * 3232, 8266, the mDNS port, ICMP and a TCP check) and then `diagnose()`.
 */

import { followUp } from '../protocols/arduino-ota/host/probe-follow-up.ts';
import type { FollowUpResult, MdnsBrowse } from '../protocols/arduino-ota/host/probe-types.ts';
import { observationOf } from '../protocols/arduino-ota/model/observation-of.ts';
import type { UploadObservation } from '../protocols/arduino-ota/model/options.ts';
import { diagnose, needsFollowUp } from './diagnose.ts';
import type { Diagnosis } from './types.ts';

/** How long the follow-up waits for an answer (× time scale): a loop() period of 30 s plus margin. */
export const FOLLOW_UP_WAIT_MS = 35_000;

export interface DiagnoseUploadOptions {
  /** The observation, when the error does not carry it (`error.data.observation`). */
  observation?: UploadObservation;
  /** Skip the follow-up (no packets are sent): the diagnosis from the observation alone. */
  followUp?: boolean;
  /**
   * How to browse mDNS for the device's advertised port during the follow-up (not for loopback
   * devices). The composition root passes discovery's `discoverAll`; without it, no mDNS.
   */
  browse?: MdnsBrowse;
  /** Told what the follow-up does and how long it may wait, before it starts. */
  onNote?: (text: string) => void;
  signal?: AbortSignal;
}

export async function diagnoseUpload(
  error: unknown,
  options: DiagnoseUploadOptions = {},
): Promise<Diagnosis> {
  const observation = options.observation ?? observationOf(error);
  let result: FollowUpResult | undefined;
  if (
    options.followUp !== false &&
    observation &&
    needsFollowUp(observation, error) &&
    options.signal?.aborted !== true
  ) {
    const address = observation.target.address ?? '';
    const loopback = address.startsWith('127.') || address === '::1';
    const mdns = !loopback && options.browse !== undefined;
    const waitMs = Math.round(FOLLOW_UP_WAIT_MS * observation.options.timeScale);
    options.onNote?.(
      `No answer on port ${observation.target.port}: asking ${address} on ports 3232 and 8266${mdns ? ' and the port it advertises over mDNS' : ''}, waiting up to ${(waitMs / 1000).toFixed(1)} s (a loop() with delay(30000) answers that late)…`,
    );
    try {
      result = await followUp(observation, {
        waitMs,
        ...(mdns && options.browse ? { mdns: true, browse: options.browse } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch {
      // the diagnosis works without it
    }
  }
  return diagnose(observation, error, result ? { followUp: result } : {});
}
