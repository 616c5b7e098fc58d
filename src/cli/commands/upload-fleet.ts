/**
 * `airflash upload` for several devices: `--target` (repeatable), `--devices FILE`, or a
 * discovery filter (`--all`, `--board`, `--name`). `airflash upload` hands the whole argv here
 * when one of those options is present; `-i` keeps espota's single-device meaning. Parses
 * (fleet-options.ts), picks the targets (fleet-targets.ts), calls `uploadFleet()` and renders
 * (render/fleet.ts).
 */
import { chmod, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AirflashError, EXIT, exitCodeFor, exitCodeForCode, toAirflashError } from '../../core/errors.ts';
import {
  type FleetOptions,
  type FleetSummary,
  type FleetUploadOptions,
  uploadFleet,
} from '../../fleet/fleet.ts';
import { FLEET_HELP, FLEET_OPTIONS, type FleetValues, usage } from '../fleet-options.ts';
import { applyTargetDefaults, resolveFleetTargets } from '../fleet-targets.ts';
import { hostResolver, mdnsSettings } from '../mdns.ts';
import { readOptions } from '../options.ts';
import { FleetRenderer, type FleetRenderMode, summaryText } from '../render/fleet.ts';
import { safeBlock, safeJson } from '../render/safe-text.ts';
import { cliHint, renderError } from '../render-error.ts';
import type { CliIO } from '../types.ts';

/**
 * 0 all updated, 4 some failed or skipped, 3 none updated because every device was refused by
 * the pre-flight, 1 none updated otherwise or the rollout stopped, 130 interrupted.
 */
export function fleetExitCode(s: FleetSummary): number {
  if (s.stopped?.reason === 'interrupted') return EXIT.interrupted;
  if (s.stopped) return EXIT.failed;
  const good = s.dryRun ? s.devices.planned.length : s.ok;
  if (good === s.results.length) return EXIT.ok;
  if (good > 0) return EXIT.partial;
  const refused = s.results.every(
    (r) => typeof r.code === 'string' && exitCodeForCode(r.code) === EXIT.preflight,
  );
  return s.results.length > 0 && refused ? EXIT.preflight : EXIT.failed;
}

/** `airflash upload` with several devices. */
export async function runFleetUpload(argv: string[], io: CliIO): Promise<number> {
  const wantsJson = argv.includes('--json');
  const fail = (error: unknown): number => {
    const e = toAirflashError(error);
    if (wantsJson)
      io.stdout.write(
        `${safeJson({ type: 'error', device: null, code: e.code, message: e.message, ...(cliHint(e) === undefined ? {} : { hint: cliHint(e) }) })}\n`,
      );
    io.stderr.write(renderError(e));
    return exitCodeFor(e);
  };
  let values: FleetValues;
  try {
    const parsed = readOptions(argv, FLEET_OPTIONS, { command: 'upload' });
    values = parsed.values;
    if (values.help === true) {
      io.stdout.write(FLEET_HELP);
      return EXIT.ok;
    }
    if (parsed.positionals.length > 0) throw usage(`Unexpected argument "${parsed.positionals[0]}".`);
    if (values.ip !== undefined)
      throw usage(
        '-i names one device (espota meaning) and cannot be combined with --target, --devices or a discovery filter.',
        'Use --target HOST[:PORT] once per device, or drop the fleet options to upload to one device with -i.',
      );
    if (values.file === undefined) throw usage('No image given: -f FILE is missing.');
  } catch (error) {
    if (error instanceof AirflashError) return fail(error);
    return fail(usage((error as Error).message));
  }

  const json = values.json === true;
  const mode: FleetRenderMode = json ? 'json' : values.progress === true || io.isTTY ? 'live' : 'plain';
  const warnings: string[] = [];
  let options: FleetOptions;
  try {
    const targets = await resolveFleetTargets(values, io, (m) => warnings.push(m));
    applyTargetDefaults(targets, values, io.env, values.port);
    const v = values;
    const upload: FleetUploadOptions = {
      ...(v.attemptTimeoutMs === undefined ? {} : { attemptTimeoutMs: v.attemptTimeoutMs }),
      ...(v.inviteAttempts === undefined ? {} : { inviteAttempts: v.inviteAttempts }),
      ...(v.authTimeoutMs === undefined ? {} : { authTimeoutMs: v.authTimeoutMs }),
      ...(v.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: v.connectTimeoutMs }),
      ...(v.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: v.stallTimeoutMs }),
      ...(v.resultTimeoutMs === undefined ? {} : { resultTimeoutMs: v.resultTimeoutMs }),
      ...(v.host_ip === undefined ? {} : { hostIp: v.host_ip }),
      ...(v['md5-target'] === true ? { md5Target: true } : {}),
      ...(v.compress === true ? { compress: true } : {}),
      ...(v['no-signed'] === true ? { signed: false } : {}),
      resolve: hostResolver(mdnsSettings(v.interface, io.env)),
    };
    options = {
      targets,
      image: resolve(io.cwd, v.file as string),
      filesystem: v.spiffs === true,
      upload,
      // The follow-up of a failed device browses mDNS like `airflash upload` does.
      browse: async (o) => (await import('../../discovery/index.ts')).discoverAll(o),
      signal: io.signal,
      ...(v.parallel === undefined ? {} : { parallel: v.parallel }),
      ...(v.retries === undefined ? {} : { retries: v.retries }),
      ...(v.canary === undefined ? {} : { canary: v.canary }),
      ...(v.maxFailures === undefined ? {} : { maxFailures: v.maxFailures }),
      ...(v.probeTimeoutMs === undefined ? {} : { probeTimeoutMs: v.probeTimeoutMs }),
      ...(v.canaryTimeoutMs === undefined ? {} : { canaryTimeoutMs: v.canaryTimeoutMs }),
      ...(v.timeScale === undefined ? {} : { timeScale: v.timeScale }),
      ...(v['dry-run'] === true ? { dryRun: true } : {}),
      ...(v['no-probe'] === true ? { probe: false } : {}),
      ...(v.force === true ? { force: true } : {}),
    };
  } catch (error) {
    return fail(error);
  }

  const renderer = new FleetRenderer(
    io,
    mode,
    values.report !== undefined,
    options.targets.map((t) => t.name),
  );
  for (const message of warnings)
    renderer.event({ type: 'warning', device: null, code: 'DEVICES_FILE', message });
  let summary: FleetSummary;
  try {
    summary = await uploadFleet({ ...options, onEvent: (e) => renderer.event(e) });
  } catch (error) {
    return fail(error);
  }
  if (mode !== 'json') io.stdout.write(safeBlock(summaryText(summary)));
  if (values.report !== undefined) {
    const report = {
      type: 'airflash-fleet-report',
      version: 1,
      image: values.file,
      events: renderer.events,
      summary: { ...summary, results: undefined },
      results: summary.results,
    };
    try {
      // Owner-only: the report names devices, addresses and errors (0600 also over an existing file).
      const path = resolve(io.cwd, values.report);
      await chmod(path, 0o600).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      await writeFile(path, `${safeJson(report, 2)}\n`, { mode: 0o600 });
    } catch (error) {
      io.stderr.write(
        safeBlock(`airflash: cannot write the report ${values.report}: ${(error as Error).message}\n`),
      );
      return EXIT.failed;
    }
  }
  return fleetExitCode(summary);
}
