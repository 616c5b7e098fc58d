/**
 * Where the emulated ESPHome device answers an injected error byte (`esphomeError`): the step at
 * which the real device sends that code (esphome `components/esphome/ota/ota_esphome.cpp`,
 * protocols-next.md §1.2 steps 1, 4, 7, 10, 13a, 15). Anything else of 0x80–0x94 and 0xFF that
 * has no natural step here is answered at the prepare step.
 */
import { RESPONSE_ERRORS } from '../wire/index.ts';

export type ErrorStep = 'magic' | 'features' | 'auth' | 'prepare' | 'data' | 'end';

const STEP: Readonly<Record<number, ErrorStep>> = {
  128: 'magic', // the magic check (step 1)
  148: 'features', // encryption required, before the auth (§1.3)
  130: 'auth', // auth invalid (step 7)
  131: 'data', // writing flash (step 13a)
  132: 'end', // update end (step 15)
  139: 'end', // MD5 mismatch (step 15)
  141: 'end', // signature invalid (step 15)
  143: 'end',
  144: 'end',
  145: 'end',
  146: 'end',
  147: 'end', // version downgrade (step 15)
};

/** The step at which the device answers `code`. */
export function errorStep(code: number): ErrorStep {
  return STEP[code] ?? 'prepare';
}

/** Whether `code` is one of ESPHome's error bytes. */
export function isErrorByte(code: number): boolean {
  return RESPONSE_ERRORS.some((e) => e.byte === code);
}
