/**
 * `doctor()`: read a PlatformIO project and say what would break an OTA upload, why, and the
 * snippet that fixes it. Reads files only; talks to the network only through an injected `probe`.
 */

import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { throwIfAborted } from '../core/abort.ts';
import { AirflashError } from '../core/errors.ts';
import { defaultPort as defaultOtaPort } from '../devices/family.ts';
import { MAX_CSV_CHARS } from '../formats/partitions/csv.ts';
import { airflashFindings, uploadCommandFor } from './airflash.ts';
import { checkSources } from './check-sources.ts';
import { checkUploadSettings } from './check-upload.ts';
import { coreOf, type EnvFacts, isOtaEnv } from './env-facts.ts';
import type { EspotaCore } from './espota.ts';
import { checkPartitionsAndFirmware } from './partitions.ts';
import { buildDirOf, readHead, readPioProject, requireEnv } from './pio-project.ts';
import type { PlatformioConfig } from './platformio-ini.ts';
import { collectSources, isFile, libraryOtaCalls, toPosix } from './project-files.ts';
import { type SourceScan, scanSources } from './source-scan.ts';
import type { DoctorEnvSummary, DoctorFinding, DoctorProbe, DoctorReport } from './types.ts';

export type {
  DoctorEnvSummary,
  DoctorFinding,
  DoctorProbe,
  DoctorProbeResult,
  DoctorReport,
  DoctorSeverity,
} from './types.ts';

export interface DoctorOptions {
  /** The PlatformIO project directory (holds platformio.ini). */
  projectDir: string;
  /** Check only this environment (name after `env:`). Default: every environment. */
  env?: string;
  /** When given, each OTA env's upload_port is probed with it (network traffic!). */
  probe?: DoctorProbe;
  signal?: AbortSignal;
  /** Environment variables for `${sysenv.X}` and PLATFORMIO_UPLOAD_FLAGS etc. Default process.env. */
  sysenv?: Readonly<Record<string, string | undefined>>;
}

function envFacts(config: PlatformioConfig, name: string, file: string): EnvFacts {
  const section = `env:${name}`;
  const opt = (o: string) => config.lookup(section, o);
  const facts: EnvFacts = { name, file, flags: config.getList(section, 'upload_flags') };
  const set = <K extends keyof EnvFacts>(key: K, value: EnvFacts[K] | undefined): void => {
    if (value !== undefined) facts[key] = value;
  };
  set('platform', opt('platform'));
  set('board', opt('board'));
  set('framework', opt('framework'));
  set('uploadProtocol', opt('upload_protocol'));
  set('uploadPort', opt('upload_port'));
  set('uploadFlags', opt('upload_flags'));
  set('uploadCommand', opt('upload_command'));
  set('core', coreOf(facts.platform?.value, facts.board?.value));
  return facts;
}

/** Check a PlatformIO project for OTA problems. Throws FILE_NOT_FOUND / CONFIG_INVALID / BAD_ARGUMENT. */
export async function doctor(options: DoctorOptions): Promise<DoctorReport> {
  const { signal } = options;
  throwIfAborted(signal);
  const project = await readPioProject(options.projectDir, {
    ...(options.sysenv ? { sysenv: options.sysenv } : {}),
  });
  const { projectDir, configPath, config } = project;
  const file = 'platformio.ini';
  const findings: DoctorFinding[] = [];
  const allEnvs = config.envs();
  if (options.env !== undefined) requireEnv(project, options.env);
  if (allEnvs.length === 0) {
    findings.push({
      severity: 'error',
      code: 'NO_ENVS',
      what: 'platformio.ini defines no [env:NAME] section.',
      why: 'PlatformIO builds and uploads environments; without one there is nothing to upload.',
      fix: '[env:esp32dev_ota]\nplatform = espressif32\nboard = esp32dev\nframework = arduino\nupload_protocol = espota\nupload_port = 192.168.1.50',
      file,
    });
  }

  const defaults = config.defaultEnvs();
  const defaultsAt = config.lookup('platformio', 'default_envs');
  for (const name of defaults) {
    if (!allEnvs.includes(name)) {
      findings.push({
        severity: 'error',
        code: 'DEFAULT_ENV_UNKNOWN',
        what: `default_envs names "${name}", but there is no [env:${name}].`,
        why: 'PlatformIO stops with "Unknown environment names" before building anything.',
        fix: `[platformio]\ndefault_envs = ${defaults.filter((d) => allEnvs.includes(d)).join(', ') || allEnvs[0] || 'ENV_NAME'}`,
        file,
        ...(defaultsAt && defaultsAt.line > 0 ? { line: defaultsAt.line } : {}),
      });
    }
  }

  const selected = options.env !== undefined ? [options.env] : allEnvs;
  const facts = allEnvs.map((name) => envFacts(config, name, file));
  const otaEnvs = facts.filter((f) => selected.includes(f.name) && isOtaEnv(f));
  const serialEnvFor = (env: EnvFacts): string | undefined =>
    facts.find((f) => !isOtaEnv(f) && f.core === env.core && f.board?.value === env.board?.value)?.name;

  // Sources: read them when they matter (an OTA env exists, or the sketch uses ArduinoOTA).
  const srcDir = config.get('platformio', 'src_dir') ?? 'src';
  const sourceFiles = await collectSources(
    projectDir,
    [
      srcDir,
      config.get('platformio', 'lib_dir') ?? 'lib',
      config.get('platformio', 'include_dir') ?? 'include',
    ],
    signal,
  );
  const scan: SourceScan | undefined = sourceFiles.length > 0 ? scanSources(sourceFiles) : undefined;
  const scanForChecks = scan ?? scanSources([]);

  const buildDir = buildDirOf(config);
  const summaries: DoctorEnvSummary[] = [];

  for (const env of facts) {
    if (!selected.includes(env.name)) continue;
    throwIfAborted(signal);
    const ota = isOtaEnv(env);
    const summary: DoctorEnvSummary = { name: env.name, ota, uploadFlags: env.flags };
    if (env.core) summary.core = env.core;
    if (env.platform) summary.platform = env.platform.value;
    if (env.board) summary.board = env.board.value;
    if (env.uploadProtocol) summary.uploadProtocol = env.uploadProtocol.value;
    if (env.uploadPort) summary.uploadPort = env.uploadPort.value;
    summaries.push(summary);

    if (!ota) {
      findings.push({
        severity: 'info',
        env: env.name,
        code: 'NOT_OTA_ENV',
        what: `[env:${env.name}] uploads over ${env.uploadProtocol?.value ?? 'serial'}, not over the air: not checked.`,
        why: 'doctor checks environments that upload with espota (upload_protocol = espota, or an upload_port that is an IP address or a .local name).',
        fix: `[env:${env.name}_ota]\nextends = env:${env.name}\nupload_protocol = espota\nupload_port = 192.168.1.50`,
        file,
        line: config.document.sections.get(`env:${env.name}`)?.line ?? 0,
      });
      continue;
    }

    const firmwarePath = toPosix(join(buildDir, env.name, 'firmware.bin'));
    const upload = checkUploadSettings(env, scan, firmwarePath);
    findings.push(...upload.findings);
    if (upload.analysis) {
      summary.espotaArgs = upload.analysis.argv;
      if (upload.analysis.actualPort !== undefined) summary.espotaPort = upload.analysis.actualPort;
    }

    if (env.core) {
      const partitions = config.lookup(`env:${env.name}`, 'board_build.partitions');
      let projectCsv: { path: string; text: string } | undefined;
      if (partitions && env.core === 'esp32') {
        const csvPath = resolve(projectDir, partitions.value.trim());
        const csvSize = await isFile(csvPath);
        if (csvSize !== undefined) {
          projectCsv = {
            path: toPosix(relative(projectDir, csvPath)),
            // An oversized file is read only far enough for the parser to refuse it (PARTITION_CSV).
            text:
              csvSize > MAX_CSV_CHARS
                ? await readHead(csvPath, MAX_CSV_CHARS + 1)
                : await readFile(csvPath, 'utf8'),
          };
        }
      }
      const firmwareSize = await isFile(resolve(projectDir, firmwarePath));
      const flashSize = config.lookup(`env:${env.name}`, 'board_upload.flash_size');
      const ldscript = config.lookup(`env:${env.name}`, 'board_build.ldscript');
      const serialEnv = serialEnvFor(env);
      const result = checkPartitionsAndFirmware({
        env: env.name,
        core: env.core,
        configFile: file,
        firmwarePath,
        ...(partitions ? { partitions } : {}),
        ...(flashSize ? { flashSize } : {}),
        ...(ldscript ? { ldscript } : {}),
        ...(projectCsv ? { projectCsv } : {}),
        ...(firmwareSize === undefined ? {} : { firmwareSize }),
        ...(serialEnv === undefined ? {} : { serialEnv }),
      });
      findings.push(...result.findings);
      if (result.partitions !== undefined) summary.partitions = result.partitions;
      if (result.maxAppSize !== undefined) summary.maxAppSize = result.maxAppSize;
      if (firmwareSize !== undefined) summary.firmwareSize = firmwareSize;
    }

    if (defaults.length > 0 && !defaults.includes(env.name)) {
      findings.push({
        severity: 'info',
        env: env.name,
        code: 'NOT_DEFAULT_ENV',
        what: `[env:${env.name}] is not in default_envs, so "pio run -t upload" does not upload it.`,
        why: 'Without -e, PlatformIO runs only the environments named in [platformio] default_envs.',
        fix: `pio run -e ${env.name} -t upload`,
      });
    }
  }

  if (selected.length > 0 && otaEnvs.length === 0 && options.env === undefined) {
    findings.push({
      severity: 'warning',
      code: 'NO_OTA_ENV',
      what: 'No environment uploads over the air (none has upload_protocol = espota or a network upload_port).',
      why: 'PlatformIO uploads over serial unless an environment says espota.',
      fix: `[env:${allEnvs[0] ?? 'esp32dev'}_ota]\nextends = env:${allEnvs[0] ?? 'esp32dev'}\nupload_protocol = espota\nupload_port = 192.168.1.50`,
      file,
    });
  }

  // Project-wide source findings, for the cores of the OTA envs.
  if (otaEnvs.length > 0 || scanForChecks.mentionsArduinoOTA) {
    const cores = [...new Set(otaEnvs.map((e) => e.core).filter((c): c is EspotaCore => c !== undefined))];
    const libdeps = resolve(projectDir, config.get('platformio', 'libdeps_dir') ?? '.pio/libdeps');
    const library =
      scanForChecks.begin.length === 0 || scanForChecks.handle.length === 0
        ? await libraryOtaCalls(
            projectDir,
            otaEnvs.map((e) => join(libdeps, e.name)),
            signal,
          )
        : {};
    findings.push(...checkSources(scanForChecks, cores, library));
  }

  // --probe: ask each OTA env's device, on the port espota would use.
  if (options.probe) {
    for (const env of otaEnvs) {
      const summary = summaries.find((s) => s.name === env.name);
      const host = env.uploadPort?.value.trim();
      if (!host || !env.core) continue;
      throwIfAborted(signal);
      const port = summary?.espotaPort ?? defaultOtaPort(env.core);
      const hasPassword = (summary?.espotaArgs ?? env.flags).some((a) => /^(-a|--auth)(=.|$)/.test(a));
      const firmwarePath = toPosix(join(buildDir, env.name, 'firmware.bin'));
      findings.push(
        ...(await probeEnv(
          options.probe,
          { env: env.name, core: env.core, host, port, firmwarePath, hasPassword },
          signal,
        )),
      );
    }
  }

  // The airflash integration: recognise it, or recommend it where espota is the problem.
  const slowLoopEverywhere = findings.some((f) => f.code === 'BLOCKING_DELAY' && f.severity === 'error');
  let adjusted = findings;
  for (const env of otaEnvs) {
    const slow =
      slowLoopEverywhere ||
      adjusted.some((f) => f.env === env.name && f.code === 'PROBE_ANSWERED' && f.severity === 'warning');
    adjusted = airflashFindings(env, adjusted, slow);
  }

  return {
    projectDir,
    configFile: configPath,
    envs: summaries,
    findings: adjusted,
    sources: scan?.files ?? [],
  };
}

async function probeEnv(
  probe: DoctorProbe,
  target: {
    env: string;
    core: EspotaCore;
    host: string;
    port: number;
    firmwarePath: string;
    hasPassword: boolean;
  },
  signal: AbortSignal | undefined,
): Promise<DoctorFinding[]> {
  const { env, core, host, port, firmwarePath, hasPassword } = target;
  const opts = signal ? { signal } : {};
  try {
    const result = await probe(host, port, opts);
    if (result.answered) {
      const period = result.loopPeriodMs;
      const loopText =
        period !== undefined
          ? `handle() every ≈${(period / 1000).toFixed(1)} s`
          : result.loopKind === 'fast'
            ? 'handle() is called often'
            : result.loopKind === 'not-visible'
              ? 'loop period not visible'
              : undefined;
      const details = [
        result.authRequired === undefined
          ? undefined
          : result.authRequired
            ? 'asks for a password'
            : 'no password',
        result.authScheme,
        loopText,
      ].filter((d): d is string => d !== undefined);
      const slow = period !== undefined && period >= 10000;
      const needsPassword = result.authRequired === true || hasPassword;
      return [
        {
          severity: slow ? 'warning' : 'info',
          env,
          code: 'PROBE_ANSWERED',
          what: `${host}:${port} answered as an ArduinoOTA service${details.length > 0 ? ` (${details.join(', ')})` : ''}.`,
          why: slow
            ? `Each handshake step waits up to ${(period / 1000).toFixed(1)} s for the next handle() call, but espota waits only 10 s per step; airflash measures the answer time and waits accordingly.`
            : result.loopKind === 'not-visible' && result.loopWhy !== undefined
              ? `The device is reachable and its OTA service runs; the loop period cannot be seen: ${result.loopWhy}.`
              : 'The device is reachable and its OTA service runs.',
          fix: slow
            ? `${needsPassword ? 'AIRFLASH_PASSWORD must hold the OTA password. ' : ''}Upload with airflash, which waits for the loop:\n${uploadCommandFor({ host, port, firmware: firmwarePath, password: needsPassword })}`
            : 'Nothing to do.',
        },
      ];
    }
    const other = defaultOtaPort(core === 'esp32' ? 'esp8266' : 'esp32');
    if (other !== port) {
      const second = await probe(host, other, opts);
      if (second.answered) {
        return [
          {
            severity: 'error',
            env,
            code: 'PROBE_WRONG_PORT',
            what: `${host} does not answer on port ${port}, but an ArduinoOTA service answers on ${other}.`,
            why: 'espota sends the invitation to the port in upload_flags (or its default); the device listens elsewhere.',
            fix: `upload_flags =\n    --port=${other}`,
          },
        ];
      }
    }
    return [
      {
        severity: 'error',
        env,
        code: 'PROBE_NO_ANSWER',
        what: `No ArduinoOTA service answered on ${host}:${port}.`,
        why:
          result.summary ??
          'Either the address is wrong, the device is off or on another network, ArduinoOTA.begin() has not run, handle() is not called, or UDP is blocked.',
        fix: `ping ${host}\nairflash probe ${host} -p ${port}`,
      },
    ];
  } catch (error) {
    if (error instanceof AirflashError && error.code === 'INTERRUPTED') throw error;
    return [
      {
        severity: 'warning',
        env,
        code: 'PROBE_FAILED',
        what: `Probing ${host}:${port} failed: ${error instanceof Error ? error.message : String(error)}`,
        why: 'The device could not be asked; the file checks above still apply.',
        fix: `airflash probe ${host} -p ${port}`,
      },
    ];
  }
}
