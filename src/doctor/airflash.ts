/**
 * doctor and the airflash PlatformIO integration (docs/integration.md): recognise an env whose
 * `upload_command` runs airflash as correct, recommend it where espota is the problem (a slow
 * loop(), one-line upload_flags), and build upload commands that are safe to paste.
 * Pure: facts in, findings out.
 */

import type { EnvFacts } from './env-facts.ts';
import type { DoctorFinding } from './types.ts';

/** The upload_command of docs/integration.md's recipe. */
export const AIRFLASH_UPLOAD_COMMAND = 'airflash upload $UPLOAD_FLAGS -i $UPLOAD_PORT -f $SOURCE';

/** True when `upload_command` runs airflash (on the PATH, by path, or through npx). */
export function isAirflashCommand(command: string | undefined): boolean {
  if (command === undefined) return false;
  const words = command.trim().split(/\s+/);
  let first = (words[0] ?? '').replace(/^["']|["']$/g, '');
  if (/^(npx|pnpx)$/i.test(first) || /^(bunx|yarn)$/i.test(first)) first = words[1] ?? '';
  const base = first.split(/[\\/]/).pop() ?? '';
  return /^airflash(\.cmd|\.exe|\.js)?$/i.test(base);
}

/** The env uploads with `upload_protocol = custom` and an airflash upload_command. */
export function usesAirflash(env: EnvFacts): boolean {
  return (
    env.uploadProtocol?.value.trim().toLowerCase() === 'custom' && isAirflashCommand(env.uploadCommand?.value)
  );
}

/** The platformio.ini lines that switch an env from espota to airflash. */
export function airflashSnippet(envName: string): string {
  return `[env:${envName}]\nupload_protocol = custom\nupload_command = ${AIRFLASH_UPLOAD_COMMAND}`;
}

/** Quote one shell word for a POSIX shell (pasted commands must not run anything else). */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A complete `airflash upload` command for an env, safe to paste into a POSIX shell: every word
 * quoted, the password never written out (it comes from AIRFLASH_PASSWORD, which airflash reads).
 */
export function uploadCommandFor(o: {
  env?: string;
  host: string;
  port: number;
  firmware: string;
  password: boolean;
}): string {
  const words = ['airflash', 'upload', '-i', shellWord(o.host), '-p', String(o.port)];
  if (o.password) words.push('-a', '"$AIRFLASH_PASSWORD"');
  words.push('-f', shellWord(o.firmware));
  return words.join(' ');
}

/**
 * Adjust an OTA env's upload findings for airflash: an env that already uploads with airflash
 * gets AIRFLASH_INTEGRATION (and loses the warnings that hold for espota only); an espota env
 * whose flags are on one line, or whose loop() is too slow for espota, gets USE_AIRFLASH with
 * the snippet.
 */
export function airflashFindings(
  env: EnvFacts,
  findings: DoctorFinding[],
  slowLoop: boolean,
): DoctorFinding[] {
  if (usesAirflash(env)) {
    const kept = findings.filter(
      (f) =>
        f.env !== env.name || (f.code !== 'UPLOAD_PROTOCOL_MISMATCH' && f.code !== 'UPLOAD_PROTOCOL_MISSING'),
    );
    const out = kept.map((f) =>
      f.env === env.name && f.code === 'ONE_LINE_FLAGS'
        ? {
            ...f,
            severity: 'info' as const,
            why: `${f.why} airflash splits such an argument itself (with a warning), so this upload works; one flag per line keeps the env usable with espota too.`,
          }
        : f,
    );
    out.push({
      severity: 'info',
      env: env.name,
      code: 'AIRFLASH_INTEGRATION',
      what: `[env:${env.name}] uploads with airflash (upload_protocol = custom, upload_command = ${env.uploadCommand?.value.trim() ?? ''}).`,
      why: 'That is the documented integration (docs/integration.md): PlatformIO runs airflash instead of espota.py, with the same flags.',
      fix: 'Nothing to do.',
      ...(env.uploadCommand && env.uploadCommand.line > 0
        ? { file: env.file, line: env.uploadCommand.line }
        : {}),
    });
    return out;
  }
  const oneLine = findings.some((f) => f.env === env.name && f.code === 'ONE_LINE_FLAGS');
  if (!oneLine && !slowLoop) return findings;
  const reasons = [
    ...(oneLine ? ['airflash splits a one-line upload_flags item into its flags (with a warning)'] : []),
    ...(slowLoop
      ? [
          'airflash waits for a device whose loop() calls ArduinoOTA.handle() rarely; espota gives up after 10 s',
        ]
      : []),
  ];
  return [
    ...findings,
    {
      severity: 'info',
      env: env.name,
      code: 'USE_AIRFLASH',
      what: `[env:${env.name}] can upload with airflash instead of espota.py.`,
      why: `${reasons.join('; ')}. Fix the findings above either way.`,
      fix: airflashSnippet(env.name),
      ...(env.uploadProtocol && env.uploadProtocol.line > 0
        ? { file: env.file, line: env.uploadProtocol.line }
        : {}),
    },
  ];
}
