/**
 * Type tests of the public API: this file is only type-checked (`npm run check`, tsc over test/),
 * never run. Each `@ts-expect-error` must stay an error, each assignment must stay valid, so a
 * change to the exported types that breaks a user's code fails the check.
 */

import type { doctor as doctorFromSubpath } from '../../src/doctor/index.ts';
import {
  AirflashError,
  type DEFAULT_PORT,
  type Diagnosis,
  diagnoseUpload,
  type FleetOptions,
  isUploadError,
  type OtaProtocol,
  registerProtocol,
  type Target,
  type UploadEvent,
  type UploadObservation,
  type UploadOptions,
  type UploadResult,
  upload,
  uploadFleet,
} from '../../src/index.ts';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_proof?: T): void {}

// upload(): options and result.
const options: UploadOptions = {
  host: '192.0.2.10',
  file: 'firmware.bin',
  password: 'pw',
  timeouts: { stall: 5000 },
};
// @ts-expect-error an unknown option is a type error
const wrong: UploadOptions = { host: 'x', file: 'f', passwrd: 'pw' };
void wrong;
export async function uses(): Promise<void> {
  const result: UploadResult = await upload(options);
  assertType<Equal<typeof result.ok, true>>();
  const protocol: string = result.protocol;
  const md5: string = result.md5;
  void protocol;
  void md5;
  try {
    await upload(options);
  } catch (error) {
    if (isUploadError(error)) {
      // The observation is typed unknown until the protocol is known: no cast out of `data`.
      assertType<Equal<typeof error.observation, unknown>>();
      const phase: string = error.phase;
      void phase;
    }
    if (error instanceof AirflashError) {
      const code: string = error.code;
      void code;
    }
    const d: Diagnosis = await diagnoseUpload(error);
    void d.causes[0]?.title;
  }
  const fleet: FleetOptions = { targets: [{ name: 'a', host: '192.0.2.11' }], image: 'firmware.bin' };
  // @ts-expect-error the fleet's diagnosis hook is gone: it calls diagnoseUpload() itself
  const hooked: FleetOptions = { ...fleet, diagnose: () => null };
  void hooked;
  const summary = await uploadFleet(fleet);
  void summary.devices.ok;
}

// Events are a closed union on `type`.
export function render(e: UploadEvent): string {
  switch (e.type) {
    case 'progress':
      return `${e.bytes}/${e.total}`;
    case 'phase':
      return e.phase;
    default:
      return e.type;
  }
}

// The contract a protocol family implements, registered through the public API.
declare const custom: OtaProtocol<UploadOptions, { protocol: 'custom'; bytes: number }>;
registerProtocol(custom);
const target: Target = { host: 'h', port: 1, scheme: 'custom' };
void target;

// Chip-family facts at the root; doctor on its own subpath.
assertType<Equal<typeof DEFAULT_PORT, { readonly esp32: 3232; readonly esp8266: 8266 }>>();
declare const runDoctor: typeof doctorFromSubpath;
void runDoctor;
declare const obs: UploadObservation;
void obs.version;
