import { resolve } from 'node:path';
import { AirflashError, EXIT, exitCodeFor, toAirflashError } from '../../core/errors.ts';
import { DEFAULT_PORT } from '../../devices/family.ts';
import { rebootMarkDir } from '../../protocols/arduino-ota/host/reboot-marks.ts';
import { observationOf } from '../../protocols/arduino-ota/model/observation-of.ts';
import { PROFILE_IDS } from '../../protocols/web-ota/index.ts';
import {
  createPreflight,
  DEFAULTS,
  isUploadError,
  parseTarget,
  pickProtocol,
  type UploadOptions,
  upload,
} from '../../upload/index.ts';
import { optionsHelp, type ParsedArgs, parseUploadArgs, UPLOAD_OPTIONS } from '../espota-args.ts';
import { FLEET_HELP, FLEET_OPTIONS, isFleetInvocation } from '../fleet-options.ts';
import { hostResolver, mdnsSettings } from '../mdns.ts';
import { expandPioEnv, wantsPioEnv } from '../pio-env.ts';
import { chooseMode, createRenderer, formatBytes } from '../render/progress.ts';
import { safeJson } from '../render/safe-text.ts';
import { renderError } from '../render-error.ts';
import type { CliIO, Command } from '../types.ts';

const HELP = `airflash upload — upload a firmware or filesystem image over the air (ArduinoOTA / espota)

Usage: airflash upload -i DEVICE -f FILE [options]
       airflash upload --env NAME [PROJECT_DIR] [options]   (port, flags, password, partitions
                      from platformio.ini's [env:NAME], image .pio/build/NAME/firmware.bin)
       airflash -i DEVICE -f FILE [espota.py options]      (drop-in for espota.py)
       airflash upload -f FILE http://HOST[:PORT]          (web OTA: HTTPUpdateServer, ElegantOTA,
                      ESPHome web_server, Tasmota, WLED; also -i HOST --protocol http)

Examples:
  airflash upload -i 192.168.1.50 -f .pio/build/esp32dev/firmware.bin
  airflash upload -i kitchen.local -p 8266 -a secret -f sketch.ino.bin
  airflash upload -i 192.168.1.50 -s -f .pio/build/esp32dev/littlefs.bin
  AIRFLASH_PASSWORD=secret airflash upload -i 192.168.1.50 -f firmware.bin --json

Options (the ones marked by espota.py letters keep espota's meaning and defaults):
${optionsHelp(UPLOAD_OPTIONS)}

The password may also come from the environment variable AIRFLASH_PASSWORD (then it does not
appear in the process list); an ESPHome device's encryption key likewise from AIRFLASH_ESPHOME_KEY. Waits adapt to a device whose loop() calls ArduinoOTA.handle()
rarely; see docs/upload.md for the default timeouts.

Exit codes: 0 updated, 1 failed, 2 usage or input to fix (nothing was tried: unknown option, missing
file), 3 refused by the pre-flight check (nothing sent), 4 some devices of a fleet failed,
130 interrupted.
`;

const seconds = (s: number | undefined): number | undefined =>
  s === undefined ? undefined : Math.round(s * 1000);

function str(v: ParsedArgs['values'][keyof ParsedArgs['values']]): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function num(v: ParsedArgs['values'][keyof ParsedArgs['values']]): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The web-OTA user and firmware profile (read by the http protocol; others ignore them). */
function webOptions(
  v: ParsedArgs['values'],
  env: NodeJS.ProcessEnv,
): { user?: string; httpProfile?: string } {
  const user = str(v.user) ?? env['AIRFLASH_HTTP_USER'];
  const profile = str(v.profile);
  if (profile !== undefined && !PROFILE_IDS.includes(profile as never))
    throw new AirflashError('BAD_ARGUMENT', `Unknown --profile "${profile}".`, {
      hint: `Use one of: ${PROFILE_IDS.join(', ')}.`,
    });
  return {
    ...(user === undefined || user === '' ? {} : { user }),
    ...(profile === undefined ? {} : { httpProfile: profile }),
  };
}

/** Map parsed arguments to upload() options (without callbacks). */
export function uploadOptionsFromArgs(
  parsed: ParsedArgs,
  env: NodeJS.ProcessEnv,
): UploadOptions & { passwordSource?: 'option' | 'env' } {
  const v = parsed.values;
  // A device written as a URL may come without -i (`airflash upload -f FILE http://HOST`).
  const url = parsed.positionals.length === 1 && str(v.ip) === undefined ? parsed.positionals[0] : undefined;
  if (parsed.positionals.length > 0 && (url === undefined || !SCHEME.test(url)))
    throw new AirflashError('BAD_ARGUMENT', `Unexpected argument "${parsed.positionals[0]}".`, {
      hint: 'Give the device with -i (or as a URL: http://HOST) and the image with -f (airflash upload --help).',
    });
  const protocol = str(v.protocol);
  const named = url ?? str(v.ip);
  const host =
    protocol === undefined || named === undefined || SCHEME.test(named)
      ? named
      : `${protocol}://${named.includes(':') && !named.startsWith('[') ? `[${named}]` : named}`;
  const file = str(v.file);
  if (host === undefined || file === undefined)
    throw new AirflashError(
      'BAD_ARGUMENT',
      `Not enough arguments: ${host === undefined ? '-i DEVICE' : '-f FILE'} is missing.`,
      {
        hint: 'Example: airflash upload -i 192.168.1.50 -f firmware.bin',
      },
    );
  // Number ranges (ports, waits above 0, whole counts) are the option table's rules, checked as read.
  const given = str(v.auth);
  const fromEnv = env['AIRFLASH_PASSWORD'];
  const password =
    given !== undefined && given !== ''
      ? given
      : fromEnv !== undefined && fromEnv !== ''
        ? fromEnv
        : undefined;
  const passwordSource: 'option' | 'env' = password === given ? 'option' : 'env';
  // ESPHome's encryption key: --key, else AIRFLASH_ESPHOME_KEY; never printed (masked in -d).
  const keyGiven = str(v.key);
  const esphomeKey =
    keyGiven !== undefined && keyGiven !== '' ? keyGiven : env['AIRFLASH_ESPHOME_KEY'] || undefined;
  const timeScale = num(v.time_scale);
  const attemptMs = seconds(num(v.timeout)) ?? Math.round(DEFAULTS.attemptTimeoutMs * (timeScale ?? 1));
  const inviteTotal = seconds(num(v.invite_timeout));
  const attempts =
    num(v.attempts) ??
    (inviteTotal === undefined ? undefined : Math.max(1, Math.ceil(inviteTotal / attemptMs)));
  const opt = <K extends keyof UploadOptions>(
    k: K,
    value: UploadOptions[K] | undefined,
  ): Partial<UploadOptions> => (value === undefined ? {} : ({ [k]: value } as Partial<UploadOptions>));
  return {
    host,
    file,
    // A URL's scheme brings its own default port (http: 80); a bare host keeps espota's 3232.
    ...(num(v.port) !== undefined
      ? { port: num(v.port) as number }
      : SCHEME.test(host)
        ? {}
        : { port: DEFAULT_PORT.esp32 }),
    ...(password === undefined ? {} : { password, passwordSource }),
    ...opt('esphomeKey', esphomeKey),
    ...opt('filesystem', v.spiffs === true ? true : undefined),
    ...opt('md5Target', v.md5_target === true ? true : undefined),
    ...opt('hostIp', str(v.host_ip)),
    ...opt('hostPort', num(v.host_port)),
    ...opt('compress', v.compress === true ? true : undefined),
    ...opt('signed', v.no_signed === true ? false : undefined),
    ...opt('attemptTimeoutMs', seconds(num(v.timeout))),
    ...opt('inviteAttempts', attempts),
    ...opt('authTimeoutMs', seconds(num(v.auth_timeout))),
    ...opt('connectTimeoutMs', seconds(num(v.connect_timeout))),
    ...opt('stallTimeoutMs', seconds(num(v.stall_timeout))),
    ...opt('resultTimeoutMs', seconds(num(v.result_timeout))),
    ...opt('retries', num(v.retries)),
    ...opt('timeScale', timeScale),
    ...webOptions(v, env),
    context: {
      ...(str(v.chip) === undefined ? {} : { chip: str(v.chip) as string }),
      ...(str(v.partitions) === undefined ? {} : { partitions: str(v.partitions) as string }),
      ...(v.force === true ? { force: true } : {}),
    },
  };
}

/** Web OTA: what the board reports after its reboot ("runs 2.0.0, confirmed" / "not confirmed"). */
function versionNote(observation: unknown): string {
  const o = observation as { protocol?: string; version?: { state: string; after?: string } } | undefined;
  if (o?.protocol !== 'http' || o.version === undefined) return '';
  const v = o.version;
  if (v.state === 'confirmed') return `; it runs ${v.after} (the image's version, confirmed)`;
  if (v.state === 'changed') return `; it now reports ${v.after}`;
  if (v.state === 'mismatch') return `; it reports ${v.after}: the new firmware is NOT confirmed`;
  return '; the new firmware is not confirmed (the device reports no version)';
}

/** A target of an addressless protocol (`serial:///dev/ttyUSB0`): no `:PORT` in its label. */
function addressless(host: string): boolean {
  try {
    return pickProtocol(parseTarget(host)).addressless === true;
  } catch {
    return false; // upload() reports the bad target
  }
}

export async function runUpload(argv: string[], io: CliIO): Promise<number> {
  if (isFleetInvocation(argv)) return (await import('./upload-fleet.ts')).runFleetUpload(argv, io);
  const started = Date.now();
  const wantsJson = argv.includes('--json');
  let parsed: ParsedArgs;
  let options: ReturnType<typeof uploadOptionsFromArgs>;
  try {
    parsed = parseUploadArgs(wantsPioEnv(argv) ? await expandPioEnv(argv, io) : argv);
    if (parsed.values.help === true) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    options = uploadOptionsFromArgs(parsed, io.env);
    // Relative to the directory the command runs in (as every other command reads its files).
    if (options.file !== undefined) options.file = resolve(io.cwd, options.file);
  } catch (error) {
    const e = toAirflashError(error);
    if (wantsJson)
      io.stdout.write(
        `${safeJson({ type: 'result', ok: false, code: e.code, message: e.message, diagnosis: null, seconds: 0, bytes: 0 })}\n`,
      );
    io.stderr.write(renderError(e));
    return exitCodeFor(e);
  }
  const v = parsed.values;
  const mode = chooseMode({ json: v.json === true, progress: v.progress === true, isTTY: io.isTTY });
  // A URL names its own port (http://HOST:PORT); a device path has none (serial:///dev/ttyUSB0).
  const label =
    SCHEME.test(options.host) || addressless(options.host)
      ? options.host
      : `${options.host}:${options.port ?? DEFAULT_PORT.esp32}`;
  const renderer = createRenderer({ stdout: io.stdout, stderr: io.stderr, mode, label });
  for (const n of parsed.notes) renderer.event({ type: 'warning', code: n.code, message: n.message });
  if (v.debug === true)
    io.stderr.write(
      `Options: ${safeJson({
        ...options,
        password: options.password === undefined ? undefined : '***',
        esphomeKey: options.esphomeKey === undefined ? undefined : '***',
      })}\n`,
    );
  const context = options.context ?? {};
  try {
    const result = await upload({
      ...options,
      resolve: hostResolver(mdnsSettings(str(v.interface), io.env)),
      ...(context.force
        ? { preflight: false as const }
        : {
            preflight: createPreflight({
              ...(context.chip === undefined ? {} : { chip: context.chip }),
              ...(context.partitions === undefined ? {} : { partitions: context.partitions }),
            }),
          }),
      onEvent: (e) => renderer.event(e),
      ...(v.debug === true ? { debug: true } : {}),
      // The next airflash process knows the device is rebooting (docs/upload.md).
      rebootMarks: rebootMarkDir(io.env),
      signal: io.signal,
    });
    const secs = result.durationMs / 1000;
    const loop =
      result.loopPeriodMs === undefined
        ? ''
        : result.loopPeriodKind === 'at-least'
          ? `; its loop() calls ArduinoOTA.handle() at intervals of at least ${(result.loopPeriodMs / 1000).toFixed(1)} s`
          : `; its loop() calls ArduinoOTA.handle() about every ${(result.loopPeriodMs / 1000).toFixed(1)} s`;
    renderer.result({
      ok: true,
      code: null,
      message: `Updated ${options.host} with ${formatBytes(result.bytes)} in ${secs.toFixed(1)} s (${formatBytes(Math.round(result.bytes / Math.max(secs, 0.001)))}/s)${result.attempts > 1 ? ` after ${result.attempts} attempts` : ''}${loop}${versionNote(result.observation)}.`,
      diagnosis: null,
      seconds: Math.round(secs * 1000) / 1000,
      bytes: result.bytes,
      ...(result.loopPeriodMs === undefined ? {} : { loopPeriodMs: result.loopPeriodMs }),
      ...(result.protocol === 'arduino-ota' ? {} : { protocol: result.protocol }),
    });
    return EXIT.ok;
  } catch (error) {
    const e = toAirflashError(error);
    const obs = observationOf(e);
    // Loaded on failure only: a successful upload does not load the diagnosis and the probe.
    const { diagnosisFor, renderDiagnosis } = await import('../render/diagnosis.ts');
    const diagnosis = await diagnosisFor(e, { signal: io.signal, onNote: (text) => renderer.note(text) });
    const human = `${renderError(e)}${diagnosis ? renderDiagnosis(diagnosis) : ''}`;
    renderer.result(
      {
        ok: false,
        code: e.code,
        message: e.message,
        diagnosis,
        seconds: Math.round(Date.now() - started) / 1000,
        bytes: obs?.transfer?.bytesSent ?? 0,
        ...(obs?.loopPeriodMs !== undefined &&
        obs.loopPeriodMs >= DEFAULTS.lateAnswerMs * obs.options.timeScale
          ? { loopPeriodMs: obs.loopPeriodMs }
          : {}),
        ...(isUploadError(e) && e.protocol !== 'arduino-ota' ? { protocol: e.protocol } : {}),
      },
      human,
    );
    return exitCodeFor(e);
  }
}

export const command: Command = {
  name: 'upload',
  summary: 'Upload a firmware or filesystem image (espota.py compatible)',
  help: `${HELP}\n\n${FLEET_HELP}`,
  // One device and fleets: every option either accepts (for the completion and did-you-mean).
  options: [
    ...UPLOAD_OPTIONS,
    ...FLEET_OPTIONS.filter((f) => !UPLOAD_OPTIONS.some((u) => u.long === f.long)),
  ],
  run: runUpload,
};
