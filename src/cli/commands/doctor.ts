import { resolve } from 'node:path';
import { AirflashError, EXIT, exitCodeFor } from '../../core/errors.ts';
import type { DoctorEnvSummary, DoctorFinding, DoctorReport, DoctorSeverity } from '../../doctor/doctor.ts';
import { doctor } from '../../doctor/doctor.ts';
import { loadDoctorProbe } from '../../doctor/probe.ts';
import { type OptionSpec, parseCommandArgs } from '../options.ts';
import { safeBlock, safeJson, safeText } from '../render/safe-text.ts';
import { renderError } from '../render-error.ts';
import type { Command } from '../types.ts';

export const DOCTOR_OPTIONS = [
  { long: 'env', short: 'e', kind: 'string', arg: 'NAME', help: 'check only [env:NAME]' },
  { long: 'probe', kind: 'flag', help: "also ask each OTA env's upload_port whether a service answers" },
  { long: 'json', kind: 'flag', help: 'print one JSON document' },
  { long: 'help', short: 'h', kind: 'flag', help: 'show this help' },
] as const satisfies readonly OptionSpec[];

const HELP = `Usage: airflash doctor [PROJECT_DIR] [--env NAME] [--probe] [--json]

Check a PlatformIO project for what breaks OTA uploads, before you upload. Reads platformio.ini
the way PlatformIO does (sections, extends, \${...} interpolation, multi-line values,
default_envs) and, for every environment that uploads with espota:
  - upload_protocol / upload_port present and sensible
  - upload_flags that espota would receive as ONE argument (e.g. "--auth=x --port=8266" on one line)
  - a --port that contradicts the board's core (8266 for an ESP32, 3232 for an ESP8266) or the
    sketch's ArduinoOTA.setPort()
  - a misspelled password flag (--password, -auth=...) or a password that differs from the sketch
  - a partition scheme without two OTA slots (huge_app.csv, no_ota.csv, a project CSV)
  - .pio/build/ENV/firmware.bin against the OTA slot
Then it scans the sources (src/, lib/, include/, *.ino) for ArduinoOTA.begin() / handle() and
long delay() calls on loop()'s path.

Options:
  PROJECT_DIR   the folder holding platformio.ini (default: the current directory)
  --env NAME    check only [env:NAME]
  --probe       also ask each OTA env's upload_port whether an ArduinoOTA service answers
                (sends UDP to the device; without it doctor only reads files)
  --json        print one JSON document: {"findings": [...], "envs": [...], ...}

Each finding has a severity (error / warning / info), a stable code, what is wrong, why it
matters, and the fix as a snippet to paste.
Exit status: 0 no error-level finding, 1 at least one, 2 usage error or platformio.ini missing /
invalid.
`;

const SEVERITY_ORDER: Record<DoctorSeverity, number> = { error: 0, warning: 1, info: 2 };
const SOURCE_CODES = new Set([
  'OTA_NOT_BEGUN',
  'HANDLE_NOT_CALLED',
  'HANDLE_OUTSIDE_LOOP',
  'BLOCKING_DELAY',
  'DEEP_SLEEP',
]);
const WIDTH = 100;

function wrap(text: string, indent: string): string {
  const out: string[] = [];
  for (const paragraph of text.split('\n').map(safeText)) {
    let line = '';
    for (const word of paragraph.split(' ')) {
      if (line !== '' && indent.length + line.length + 1 + word.length > WIDTH) {
        out.push(indent + line);
        line = word;
      } else line = line === '' ? word : `${line} ${word}`;
    }
    out.push(indent + line);
  }
  return out.join('\n');
}

function groupOf(f: DoctorFinding): string {
  if (f.env !== undefined) return `env:${f.env}`;
  if (SOURCE_CODES.has(f.code) || (f.file !== undefined && f.file !== 'platformio.ini')) return 'sources';
  return 'project';
}

function envHeading(env: DoctorEnvSummary): string {
  const what: string[] = [];
  if (env.ota) {
    const port = env.espotaPort === undefined ? '' : `:${env.espotaPort}`;
    what.push(`espota → ${env.uploadPort ?? '(no upload_port)'}${port}`);
  } else what.push(env.uploadProtocol ? `uploads with ${env.uploadProtocol}` : 'serial upload');
  const board = [env.core === 'esp32' ? 'ESP32' : env.core === 'esp8266' ? 'ESP8266' : undefined, env.board]
    .filter((x) => x !== undefined)
    .join(' ');
  if (board !== '') what.push(board);
  if (env.partitions !== undefined) what.push(`partitions ${env.partitions}`);
  return `[env:${env.name}]  ${what.join(' · ')}`;
}

function renderFinding(f: DoctorFinding): string {
  const where = f.file === undefined ? '' : `  (${safeText(f.file)}${f.line ? `:${f.line}` : ''})`;
  const lines = [`  ${f.severity.toUpperCase().padEnd(7)} ${f.code}${where}`];
  lines.push(wrap(f.what, '      '));
  lines.push(wrap(`why: ${f.why}`, '      '));
  lines.push('      fix:');
  lines.push(
    f.fix
      .split('\n')
      .map((l) => `        ${safeText(l)}`.trimEnd())
      .join('\n'),
  );
  return lines.join('\n');
}

/** Human report: findings grouped by env (OTA envs first), then sources, project, other envs. */
export function renderDoctorReport(report: DoctorReport): string {
  const out: string[] = [`airflash doctor: ${safeText(report.configFile)}`, ''];
  const groups = new Map<string, DoctorFinding[]>();
  for (const f of report.findings) {
    const key = groupOf(f);
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const order: { key: string; heading: string }[] = [];
  for (const env of report.envs.filter((e) => e.ota))
    order.push({ key: `env:${env.name}`, heading: envHeading(env) });
  order.push({
    key: 'sources',
    heading: `project sources (${report.sources.length > 0 ? report.sources.join(', ') : 'none found'})`,
  });
  order.push({ key: 'project', heading: 'platformio.ini' });
  for (const env of report.envs.filter((e) => !e.ota))
    order.push({ key: `env:${env.name}`, heading: envHeading(env) });

  for (const { key, heading } of order) {
    const list = groups.get(key);
    const env = report.envs.find((e) => `env:${e.name}` === key);
    if (!list || list.length === 0) {
      if (env?.ota) out.push(safeText(heading), '  ok: no problem found', '');
      continue;
    }
    out.push(safeText(heading));
    const sorted = [...list].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
    for (const f of sorted) out.push(renderFinding(f), '');
  }
  const count = (s: DoctorSeverity): number => report.findings.filter((f) => f.severity === s).length;
  const errors = count('error');
  const warnings = count('warning');
  const infos = count('info');
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  out.push(
    `${plural(errors, 'error')}, ${plural(warnings, 'warning')}, ${plural(infos, 'note')}.` +
      (errors > 0
        ? ' Fix the errors above, then run airflash doctor again.'
        : ' Nothing blocks an OTA upload.'),
  );
  return `${out.join('\n')}\n`;
}

function jsonReport(report: DoctorReport): string {
  const count = (s: DoctorSeverity): number => report.findings.filter((f) => f.severity === s).length;
  return `${safeJson(
    {
      projectDir: report.projectDir,
      configFile: report.configFile,
      ok: count('error') === 0,
      summary: { errors: count('error'), warnings: count('warning'), infos: count('info') },
      findings: report.findings,
      envs: report.envs,
      sources: report.sources,
    },
    2,
  )}\n`;
}

export const command: Command = {
  name: 'doctor',
  summary: 'Check a PlatformIO project and its devices for OTA problems',
  help: HELP,
  options: DOCTOR_OPTIONS,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, DOCTOR_OPTIONS, 'doctor');
    if (positionals.length > 1) {
      throw new AirflashError(
        'BAD_ARGUMENT',
        `doctor takes one project directory, not ${positionals.length}.`,
        {
          hint: 'Usage: airflash doctor [PROJECT_DIR] [--env NAME] [--probe] [--json]',
        },
      );
    }
    if (values.env === '') throw new AirflashError('BAD_ARGUMENT', '--env needs an environment name.');
    const json = values.json === true;
    const projectDir = resolve(io.cwd, positionals[0] ?? '.');

    const probe = values.probe === true ? await loadDoctorProbe() : undefined;

    let report: DoctorReport;
    try {
      report = await doctor({
        projectDir,
        sysenv: io.env,
        signal: io.signal,
        ...(values.env === undefined ? {} : { env: values.env }),
        ...(probe ? { probe } : {}),
      });
    } catch (error) {
      if (!json) throw error;
      const err =
        error instanceof AirflashError ? error.toJSON() : { code: 'INTERNAL', message: String(error) };
      io.stdout.write(`${safeJson({ ok: false, error: err, findings: [], envs: [] }, 2)}\n`);
      io.stderr.write(renderError(error));
      return exitCodeFor(error);
    }
    // platformio.ini values, source texts and device answers are in there: printed escaped.
    io.stdout.write(json ? jsonReport(report) : safeBlock(renderDoctorReport(report)));
    return report.findings.some((f) => f.severity === 'error') ? EXIT.failed : EXIT.ok;
  },
};
