/**
 * doctor's checks of one PlatformIO environment's upload settings and of the project sources.
 * Pure: facts in, findings out.
 */

import { defaultPort as defaultOtaPort } from '../devices/family.ts';
import { isAirflashCommand } from './airflash.ts';
import { type EspotaCore, type EspotaParse, espotaPort, espotaSpecs, parseEspotaArgs } from './espota.ts';
import type { ResolvedOption } from './platformio-ini.ts';
import type { SourceScan } from './source-scan.ts';
import type { DoctorFinding } from './types.ts';

export interface EnvFacts {
  name: string;
  /** platformio.ini path shown in findings (relative to the project). */
  file: string;
  platform?: ResolvedOption;
  board?: ResolvedOption;
  framework?: ResolvedOption;
  uploadProtocol?: ResolvedOption;
  uploadPort?: ResolvedOption;
  uploadFlags?: ResolvedOption;
  /** upload_command (runs with upload_protocol = custom). */
  uploadCommand?: ResolvedOption;
  /** upload_flags split the PlatformIO way. */
  flags: string[];
  core?: EspotaCore;
}

const IPV4_RE = /^(?:\d{1,3}\.){3}\d{1,3}$/;

/** PlatformIO switches to espota when upload_port looks like an IPv4 address or a .local name. */
export function looksLikeNetworkPort(port: string): boolean {
  const bare = port.replace(/^"|"$/g, '');
  return IPV4_RE.test(bare) || /^[^\\/]+\.local$/i.test(bare);
}

function looksLikeSerialPort(port: string): boolean {
  return /^(COM\d+|\/dev\/|\/dev$)/i.test(port) || /tty|usbserial|usbmodem|wchusbserial/i.test(port);
}

export function isOtaEnv(env: EnvFacts): boolean {
  const protocol = env.uploadProtocol?.value.trim().toLowerCase();
  if (protocol === 'espota') return true;
  if (protocol === 'custom' && isAirflashCommand(env.uploadCommand?.value)) return true;
  const port = env.uploadPort?.value.trim();
  return port !== undefined && looksLikeNetworkPort(port);
}

/** ESP32 or ESP8266 from `platform` (and, failing that, `board`). */
export function coreOf(platform: string | undefined, board: string | undefined): EspotaCore | undefined {
  const p = (platform ?? '').toLowerCase();
  if (p.includes('espressif8266') || p.includes('esp8266')) return 'esp8266';
  if (p.includes('espressif32') || p.includes('esp32') || p.includes('pioarduino')) return 'esp32';
  const b = (board ?? '').toLowerCase();
  if (b === '') return undefined;
  if (
    /esp32|lolin32|nodemcu-32|ttgo|heltec|m5stack|featheresp32|lilygo|pico32|wrover|wroom|t-beam|xiao_esp32/.test(
      b,
    )
  )
    return 'esp32';
  if (
    /8266|8285|nodemcu|d1_mini|^d1$|esp01|esp07|esp12|wemos|huzzah|thing|wio_link|espino|espduino|oak/.test(b)
  )
    return 'esp8266';
  return undefined;
}

function coreLabel(core: EspotaCore): string {
  return core === 'esp32' ? 'ESP32' : 'ESP8266';
}

function otherCore(core: EspotaCore): EspotaCore {
  return core === 'esp32' ? 'esp8266' : 'esp32';
}

/** Split an argv element on whitespace outside quotes. */
function tokenize(element: string): string[] {
  return element.match(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g) ?? [];
}

const VALUE_OPTIONS = new Set([
  '-i',
  '--ip',
  '-I',
  '--host_ip',
  '-p',
  '--port',
  '-P',
  '--host_port',
  '-a',
  '--auth',
  '-f',
  '--file',
  '-t',
  '--timeout',
]);

/** The argv elements a user meant when one element holds several flags (or `--opt value`). */
function intendedPieces(element: string): string[] | undefined {
  if (!element.startsWith('-')) return undefined;
  // "--auth=x,--port=3232": a comma without the space PlatformIO splits on.
  const commaParts = element.split(/\s*,\s*(?=-)/);
  const tokens = commaParts.flatMap((part) => tokenize(part));
  if (tokens.length < 2) return undefined;
  const first = tokens[0] as string;
  const laterFlag = tokens.slice(1).some((t) => t.startsWith('-'));
  const spacedValue = tokens.length === 2 && !first.includes('=') && VALUE_OPTIONS.has(first);
  return laterFlag || spacedValue || commaParts.length > 1 ? tokens : undefined;
}

const AUTH_LIKE_RE =
  /^-{1,2}(?:ota[-_]?)?(?:auth(?:entication|[-_]?key|[-_]?pass(?:word)?)?|pass(?:word|wd|phrase)?|pwd|pw|secret)$/i;

/** `--password` and friends: a name that was meant to be espota's `--auth`. */
function misspelledAuthName(name: string): boolean {
  if (name === '--auth' || name === '-a') return false;
  if (name.startsWith('--') && name.length > 3 && '--auth'.startsWith(name)) return false; // --au, --aut
  return AUTH_LIKE_RE.test(name) || /^--auth[^=]/i.test(name) || name === '-auth';
}

/** Canonical espota spelling of a setting, for fix snippets. */
function canonical(dest: string, value: string | undefined): string {
  const spec = espotaSpecs('esp32').find((s) => s.dest === dest);
  const long = spec?.long ?? `--${dest}`;
  return value === undefined ? long : `${long}=${value.trim()}`;
}

function flagsBlock(lines: string[]): string {
  if (lines.length === 0) return '; no upload_flags needed';
  return ['upload_flags =', ...lines.map((l) => `    ${l}`)].join('\n');
}

/** Same settings (ints compared as numbers): "-p 8266" as one element works, "-a pw" does not. */
function sameMeaning(a: EspotaParse, b: EspotaParse): boolean {
  if (a.errors.length > 0 || b.errors.length > 0 || a.settings.length !== b.settings.length) return false;
  return a.settings.every((s, i) => {
    const t = b.settings[i];
    if (!t || t.dest !== s.dest) return false;
    const intLike = s.dest === 'port' || s.dest === 'host_port' || s.dest === 'timeout';
    return intLike ? espotaPort(s.value) === espotaPort(t.value) : s.value === t.value;
  });
}

export interface FlagAnalysis {
  /** argv espota receives (user flags first, then what PlatformIO adds). */
  argv: string[];
  actual: EspotaParse;
  intended: EspotaParse;
  /** The port espota would really use. */
  actualPort: number | undefined;
}

/** PlatformIO's own espota flags, appended after upload_flags (docs/protocol.md §7.2). */
export function pioEspotaTail(uploadPort: string, firmware: string): string[] {
  return ['--debug', '--progress', '-i', uploadPort, '-f', firmware];
}

/**
 * Check upload_protocol / upload_port / upload_flags of an OTA env. `scan` (when sources were
 * read) lets the port and password be compared with the sketch.
 */
export function checkUploadSettings(
  env: EnvFacts,
  scan: SourceScan | undefined,
  firmwarePath: string,
): { findings: DoctorFinding[]; analysis?: FlagAnalysis } {
  const findings: DoctorFinding[] = [];
  const at = (o: ResolvedOption | undefined): { file?: string; line?: number } =>
    o && o.line > 0 ? { file: env.file, line: o.line } : {};
  const add = (f: Omit<DoctorFinding, 'env'>): void => {
    const { severity, ...rest } = f;
    findings.push({ severity, env: env.name, ...rest });
  };

  const protocol = env.uploadProtocol?.value.trim();
  const port = env.uploadPort?.value.trim();

  if (env.core === undefined) {
    add({
      severity: 'warning',
      code: 'UNKNOWN_CORE',
      what: `Cannot tell whether [env:${env.name}] builds for an ESP32 or an ESP8266 (platform = ${env.platform?.value ?? '(not set)'}, board = ${env.board?.value ?? '(not set)'}).`,
      why: 'The OTA port and the espota script differ between the two cores (3232 for ESP32, 8266 for ESP8266), so the port checks were skipped.',
      fix: 'platform = espressif32      ; or espressif8266',
      ...at(env.platform),
    });
  }
  const framework = env.framework?.value.toLowerCase();
  if (framework !== undefined && !framework.includes('arduino')) {
    add({
      severity: 'warning',
      code: 'FRAMEWORK_NOT_ARDUINO',
      what: `[env:${env.name}] uses framework = ${env.framework?.value}, but espota talks to the Arduino ArduinoOTA service.`,
      why: 'Without the Arduino framework (or Arduino as an ESP-IDF component) the firmware has no ArduinoOTA service to answer the invitation.',
      fix: 'framework = arduino',
      ...at(env.framework),
    });
  }

  if (protocol === undefined && port !== undefined) {
    add({
      severity: 'warning',
      code: 'UPLOAD_PROTOCOL_MISSING',
      what: `upload_protocol is not set, but upload_port = ${port} is a network address.`,
      why: 'PlatformIO switches to espota on its own when upload_port looks like an IP address or a .local name, with a warning; saying it makes the env explicit and keeps it OTA if the port changes.',
      fix: 'upload_protocol = espota',
      ...at(env.uploadPort),
    });
  } else if (protocol !== undefined && protocol.toLowerCase() !== 'espota' && port !== undefined) {
    add({
      severity: 'warning',
      code: 'UPLOAD_PROTOCOL_MISMATCH',
      what: `upload_protocol = ${protocol}, but upload_port = ${port} is a network address.`,
      why: 'PlatformIO uploads over the network with espota whenever upload_port looks like an IP address or a .local name; the protocol named here is not what runs.',
      fix: 'upload_protocol = espota',
      ...at(env.uploadProtocol),
    });
  }

  if (port === undefined || port === '') {
    add({
      severity: 'error',
      code: 'UPLOAD_PORT_MISSING',
      what: `[env:${env.name}] uploads with espota but has no upload_port.`,
      why: 'espota needs the device address (-i); PlatformIO passes upload_port. Without it PlatformIO looks for a serial port instead.',
      fix: 'upload_port = 192.168.1.50          ; the device IP, or esp32-aabbccddeeff.local',
      ...at(env.uploadProtocol),
    });
  } else if (looksLikeSerialPort(port)) {
    add({
      severity: 'error',
      code: 'UPLOAD_PORT_NOT_NETWORK',
      what: `upload_port = ${port} is a serial port, but upload_protocol = espota uploads over the network.`,
      why: 'espota sends a UDP invitation to upload_port; a serial device name is not a network address.',
      fix: 'upload_port = 192.168.1.50          ; the device IP, or <hostname>.local',
      ...at(env.uploadPort),
    });
  }

  if (env.core === undefined) return { findings };
  const core = env.core;
  const defaultPort = defaultOtaPort(core);
  const otherPort = defaultOtaPort(otherCore(core));

  // --- upload_flags: one argv element per item -------------------------------------------------
  const flags = env.flags;
  const tail = pioEspotaTail(port !== undefined && port !== '' ? port : '<upload_port>', firmwarePath);
  const argv = [...flags, ...tail];
  const actual = parseEspotaArgs(argv, core);
  const intendedUser: string[] = [];
  const joined: { element: string; pieces: string[] }[] = [];
  for (const element of flags) {
    const pieces = intendedPieces(element);
    if (pieces && !sameMeaning(parseEspotaArgs([element], core), parseEspotaArgs(pieces, core))) {
      joined.push({ element, pieces });
      intendedUser.push(...pieces);
    } else intendedUser.push(element);
  }

  // Misspelled auth flags: rewrite them to --auth for the intended reading.
  const misspelled: { token: string; value: string | undefined; espotaSays: string }[] = [];
  const repaired: string[] = [];
  for (let i = 0; i < intendedUser.length; i += 1) {
    const token = intendedUser[i] as string;
    const eq = token.search(/[=:]/);
    const name = token.startsWith('-') ? (eq === -1 ? token : token.slice(0, eq)) : '';
    if (name !== '' && misspelledAuthName(name)) {
      let value = eq === -1 ? undefined : token.slice(eq + 1);
      const next = intendedUser[i + 1];
      if (value === undefined && next !== undefined && !next.startsWith('-')) {
        value = next;
        i += 1;
      }
      const alone = parseEspotaArgs([token], core);
      const setting = alone.settings[0];
      const espotaSays =
        alone.errors.length > 0
          ? `espota stops before sending anything: "${alone.errors[0]}"`
          : setting
            ? `espota reads it as ${setting.option} with the value "${setting.value ?? ''}"`
            : 'espota ignores it';
      misspelled.push({ token, value, espotaSays });
      repaired.push(value === undefined ? '--auth' : `--auth=${value}`);
    } else repaired.push(token);
  }
  const intended = parseEspotaArgs([...repaired, ...tail], core);
  const intendedPortValue = intended.settings
    .filter((s) => s.dest === 'port' && s.index < repaired.length)
    .pop();
  const intendedPort = espotaPort(intendedPortValue?.value);
  const intendedAuth = intended.settings.filter((s) => s.dest === 'auth' && s.index < repaired.length).pop();
  const actualPort =
    espotaPort(actual.values.port) ?? (actual.values.port === undefined ? defaultPort : undefined);

  // The port the device listens on, according to the sketch.
  const setPorts = scan?.setPort ?? [];
  const sketchPorts = [...new Set(setPorts.map((c) => c.number).filter((n): n is number => n !== undefined))];
  const sketchPort = sketchPorts.length === 1 ? sketchPorts[0] : undefined;
  const sketchPortUnknown = setPorts.length > 0 && sketchPort === undefined;
  const sourcesKnown = scan !== undefined && scan.begin.length > 0;
  const devicePort = sketchPort ?? (sketchPortUnknown ? undefined : defaultPort);

  // Build the corrected upload_flags block shared by every flag finding.
  let portFixed = false;
  const correctedLines: string[] = [];
  for (const s of intended.settings) {
    if (s.index >= repaired.length) continue;
    if (s.dest === 'ip' || s.dest === 'file') continue; // PlatformIO passes these itself
    if (s.dest === 'spiffs') continue; // never in upload_flags
    if (s.dest === 'debug' || s.dest === 'progress') continue; // PlatformIO adds them
    if (s.dest === 'port' && devicePort !== undefined && espotaPort(s.value) !== devicePort) {
      correctedLines.push(canonical('port', String(devicePort)));
      portFixed = true;
      continue;
    }
    correctedLines.push(canonical(s.dest, s.value));
  }
  if (intendedPort === undefined && devicePort !== undefined && devicePort !== defaultPort) {
    correctedLines.push(canonical('port', String(devicePort)));
  }
  const sketchPassword = scan?.setPassword.find((c) => c.literal !== undefined)?.literal;
  const sketchHasPassword = (scan?.setPassword.length ?? 0) + (scan?.setPasswordHash.length ?? 0) > 0;
  if (intendedAuth === undefined && sketchHasPassword) {
    correctedLines.unshift(canonical('auth', sketchPassword ?? 'YOUR_OTA_PASSWORD'));
  } else if (intendedAuth && sketchPassword !== undefined && intendedAuth.value !== sketchPassword) {
    const idx = correctedLines.findIndex((l) => l.startsWith('--auth'));
    if (idx !== -1) correctedLines[idx] = canonical('auth', sketchPassword);
  }
  const fixBlock = flagsBlock(correctedLines);
  const flagsAt = at(env.uploadFlags);

  for (const { element, pieces } of joined) {
    const index = flags.indexOf(element);
    const fromElement = actual.settings.filter((s) => s.index === index);
    const effects: string[] = [];
    for (const s of fromElement) {
      effects.push(
        `${s.option} gets the value "${s.value ?? ''}"${s.dest === 'auth' ? ' (the device gets a wrong password)' : ''}`,
      );
    }
    const missing = pieces
      .filter((p, k) => k > 0 && p.startsWith('-'))
      .map((p) => p.split('=')[0] as string)
      .filter((name) => !fromElement.some((s) => s.option === name));
    if (missing.length > 0) {
      effects.push(
        missing.length === 1
          ? `${missing[0]} never reaches espota as an option`
          : `${missing.join(', ')} never reach espota as options`,
      );
    }
    if (fromElement.some((s) => s.dest === 'port') || missing.some((m) => m === '--port' || m === '-p')) {
      effects.push(
        actualPort === undefined ? 'the port is not a number' : `the invitation goes to port ${actualPort}`,
      );
    }
    const ownErrors = parseEspotaArgs([element], core).errors;
    const stopped = ownErrors.length > 0 ? ` espota stops at once: "${ownErrors[0]}".` : '';
    add({
      severity: 'error',
      code: 'ONE_LINE_FLAGS',
      what: `upload_flags item ${JSON.stringify(element)} reaches espota as ONE argument, not ${pieces.length}.`,
      why:
        'PlatformIO splits upload_flags on new lines (or on ", " when there is no new line) and passes each item as a single argv element, spaces included. ' +
        (effects.length > 0 ? `So ${effects.join('; ')}.` : '') +
        stopped,
      fix: `Put one flag per line:\n${fixBlock}`,
      ...flagsAt,
    });
  }

  for (const m of misspelled) {
    add({
      severity: 'error',
      code: 'AUTH_FLAG_MISSPELLED',
      what: `${JSON.stringify(m.token)} is not an espota option; the password flag is --auth (or -a).`,
      why: `${m.espotaSays}, so the device never gets the password and answers "Authentication Failed" (or the upload does not start).`,
      fix: fixBlock,
      ...flagsAt,
    });
  }

  // Unknown options (besides the auth ones reported above).
  const knownAuthTokens = new Set(misspelled.map((m) => m.token));
  for (const token of intendedUser) {
    if (!token.startsWith('-') || knownAuthTokens.has(token)) continue;
    const alone = parseEspotaArgs([token, ...(VALUE_OPTIONS.has(token) ? ['x'] : [])], core);
    const unknown = alone.errors.find((e) => e.startsWith('unrecognized') || e.startsWith('ambiguous'));
    if (!unknown) continue;
    const name = token.split('=')[0] as string;
    const normalized = name.replace(/-/g, '_').replace(/^__/, '--');
    const suggestion = espotaSpecs(core).find((s) => s.long === normalized || s.long === name.toLowerCase());
    const esp32Only =
      core === 'esp8266' && espotaSpecs('esp32').some((s) => s.long === name || s.short === name);
    add({
      severity: 'error',
      code: 'UNKNOWN_FLAG',
      what: `espota has no option ${JSON.stringify(name)}${esp32Only ? ' in the ESP8266 script' : ''}.`,
      why: `espota stops with "${unknown}" before sending anything.${esp32Only ? ' --timeout and --md5-target exist only in the ESP32 espota.' : ''}`,
      fix: suggestion ? `Did you mean ${suggestion.long}?\n${fixBlock}` : `Remove it:\n${fixBlock}`,
      ...flagsAt,
    });
  }

  for (const s of intended.settings) {
    if (s.index >= repaired.length) continue;
    if (s.dest === 'ip' || s.dest === 'file') {
      add({
        severity: 'warning',
        code: 'FLAG_OVERRIDDEN',
        what: `upload_flags sets ${s.option}, which PlatformIO sets itself.`,
        why:
          s.dest === 'ip'
            ? 'PlatformIO appends "-i <upload_port>" after upload_flags and espota keeps the last value, so this one is ignored.'
            : 'PlatformIO appends "-f <firmware.bin>" after upload_flags, so this one is ignored.',
        fix:
          s.dest === 'ip'
            ? `upload_port = ${s.value ?? '192.168.1.50'}`
            : `Remove ${s.option} from upload_flags.`,
        ...flagsAt,
      });
    }
    if (s.dest === 'spiffs') {
      add({
        severity: 'error',
        code: 'SPIFFS_FLAG',
        what: `upload_flags contains ${s.option}: every "pio run -t upload" sends the firmware as a filesystem image.`,
        why: 'With --spiffs the device writes the image into its filesystem partition instead of the app slot. PlatformIO adds the flag itself for "uploadfs".',
        fix: `Remove ${s.option} from upload_flags and upload the filesystem with:\npio run -e ${env.name} -t uploadfs`,
        ...flagsAt,
      });
    }
  }

  // --- the port --------------------------------------------------------------------------------
  const setPortAt = setPorts[0] ? { file: setPorts[0].path, line: setPorts[0].line } : {};
  if (intendedPort !== undefined) {
    if (sketchPort === undefined && !sketchPortUnknown && intendedPort === otherPort) {
      add({
        severity: 'error',
        code: 'PORT_CORE_MISMATCH',
        what: `upload_flags asks for port ${intendedPort}, the ${coreLabel(otherCore(core))} OTA port, but [env:${env.name}] builds for an ${coreLabel(core)} (${env.platform?.value ?? env.board?.value ?? ''}).`,
        why: `ArduinoOTA on an ${coreLabel(core)} listens on ${defaultPort} unless the sketch calls ArduinoOTA.setPort()${scan ? ', and this sketch does not' : ''}. An invitation sent to ${intendedPort} is never answered: espota reports "No response from the ESP".`,
        fix: `Use the ${coreLabel(core)} port (or leave --port out: ${defaultPort} is espota's default here):\n${portFixed ? fixBlock : flagsBlock([canonical('port', String(defaultPort))])}`,
        ...flagsAt,
      });
    } else if (
      devicePort !== undefined &&
      intendedPort !== devicePort &&
      (sketchPort !== undefined || sourcesKnown)
    ) {
      add({
        severity: 'error',
        code: 'PORT_SKETCH_MISMATCH',
        what: `upload_flags sends the invitation to port ${intendedPort}, but the sketch's OTA service listens on ${devicePort}${sketchPort === undefined ? ` (no ArduinoOTA.setPort() call: the ${coreLabel(core)} default)` : ''}.`,
        why: 'An invitation to a port nothing listens on is never answered: espota reports "No response from the ESP".',
        fix: fixBlock,
        ...(sketchPort !== undefined ? setPortAt : flagsAt),
      });
    }
  } else if (sketchPort !== undefined && sketchPort !== defaultPort) {
    add({
      severity: 'error',
      code: 'PORT_FLAG_MISSING',
      what: `The sketch calls ArduinoOTA.setPort(${sketchPort}), but upload_flags has no --port, so espota uses ${defaultPort}.`,
      why: `The invitation goes to ${defaultPort}, where nothing listens: espota reports "No response from the ESP".`,
      fix: fixBlock,
      ...setPortAt,
    });
  }

  // --- the password ----------------------------------------------------------------------------
  if (scan && sketchHasPassword && intendedAuth === undefined) {
    const where = scan.setPassword[0] ?? scan.setPasswordHash[0];
    add({
      severity: 'error',
      code: 'AUTH_MISSING',
      what: 'The sketch sets an OTA password, but upload_flags has no --auth.',
      why: 'The device answers the invitation with AUTH and a nonce; without a password espota cannot answer and the upload fails ("Authentication Failed" / no password given).',
      fix: fixBlock,
      ...(where ? { file: where.path, line: where.line } : {}),
    });
  } else if (intendedAuth && sketchPassword !== undefined && intendedAuth.value !== sketchPassword) {
    const where = scan?.setPassword.find((c) => c.literal !== undefined);
    add({
      severity: 'error',
      code: 'AUTH_MISMATCH',
      what: `The --auth password in upload_flags differs from the one in ArduinoOTA.setPassword()${where ? ` (${where.path}:${where.line})` : ''}.`,
      why: 'The device refuses the answer to its challenge: espota reports "Authentication Failed".',
      fix: fixBlock,
      ...flagsAt,
    });
  }

  const analysis: FlagAnalysis = { argv, actual, intended, actualPort };
  return { findings, analysis };
}

/** Findings about the sketch itself (ArduinoOTA.begin/handle, blocking loop). */
export function checkSources(
  scan: SourceScan,
  cores: readonly EspotaCore[],
  library: { begin?: string; handle?: string } = {},
): DoctorFinding[] {
  const findings: DoctorFinding[] = [];
  const libraryCalls = [
    scan.begin.length === 0 ? library.begin : undefined,
    scan.handle.length === 0 ? library.handle : undefined,
  ].filter((p): p is string => p !== undefined);
  if (libraryCalls.length > 0) {
    findings.push({
      severity: 'info',
      code: 'LIBRARY_RUNS_OTA',
      what: `ArduinoOTA is started or served by a library, not by the project sources: ${[...new Set(libraryCalls)].join(', ')}.`,
      why: 'doctor found ArduinoOTA.begin()/handle() only in .pio/libdeps; it cannot check how often that library calls handle().',
      fix: 'Make sure the library is set up with OTA enabled and that its loop function is called from loop() on every pass.',
      file: libraryCalls[0] as string,
    });
  }
  const esp32 = cores.length === 0 || cores.includes('esp32');
  const esp8266 = cores.includes('esp8266');
  const where = scan.files.length > 0 ? scan.files.join(', ') : '(no source files found)';

  if (scan.begin.length === 0 && library.begin === undefined) {
    findings.push({
      severity: 'error',
      code: 'OTA_NOT_BEGUN',
      what: `No source file calls ArduinoOTA.begin() (looked at: ${where}).`,
      why: 'espota talks to the ArduinoOTA service of the running firmware. Without ArduinoOTA.begin() nothing listens on the OTA port and espota reports "No response from the ESP". The first firmware with OTA must be flashed over USB.',
      fix: [
        '#include <WiFi.h>            // <ESP8266WiFi.h> on ESP8266',
        '#include <ArduinoOTA.h>',
        '',
        'void setup() {',
        '  WiFi.begin(SSID, PASSWORD);',
        '  while (WiFi.status() != WL_CONNECTED) delay(100);',
        '  ArduinoOTA.begin();         // after Wi-Fi is up',
        '}',
        '',
        'void loop() {',
        '  ArduinoOTA.handle();',
        '}',
      ].join('\n'),
    });
    return findings;
  }

  if (scan.handle.length === 0 && library.handle === undefined) {
    const begin = scan.begin[0];
    findings.push({
      severity: 'error',
      code: 'HANDLE_NOT_CALLED',
      what: 'ArduinoOTA.begin() is called, but no source file calls ArduinoOTA.handle().',
      why: esp32
        ? 'On the ESP32 the OTA service reads invitations only inside ArduinoOTA.handle(); without it every invitation stays unanswered ("No response from the ESP").'
        : 'On the ESP8266 the invitation is answered, but the update itself runs inside ArduinoOTA.handle(); without it espota waits in vain ("No response from the ESP").',
      fix: 'void loop() {\n  ArduinoOTA.handle();   // first thing, every pass\n  // ...\n}',
      ...(begin ? { file: begin.path, line: begin.line } : {}),
    });
  } else if (!scan.handleReachableFromLoop && scan.loop !== undefined) {
    findings.push({
      severity: 'info',
      code: 'HANDLE_OUTSIDE_LOOP',
      what: `ArduinoOTA.handle() is not called from loop() but from ${scan.handleOutsideLoop.length > 0 ? scan.handleOutsideLoop.map((f) => `${f}()`).join(', ') : 'elsewhere'}.`,
      why: 'That works when the function runs often (e.g. a FreeRTOS task looping every few milliseconds). If it runs once (e.g. from setup()), invitations go unanswered.',
      fix: 'void loop() {\n  ArduinoOTA.handle();\n  // ...\n}',
      ...(scan.handle[0] ? { file: scan.handle[0].path, line: scan.handle[0].line } : {}),
    });
  }

  // Blocking delays on loop()'s path matter only when handle() runs from loop().
  if (scan.handleReachableFromLoop || scan.handle.length === 0) {
    const total = scan.loopDelayTotalMs;
    const counted = scan.loopDelays.filter((d) => d.ms !== undefined && d.ms >= 100);
    if (total >= 1000 && counted.length > 0) {
      const biggest = [...counted].sort((a, b) => (b.ms ?? 0) - (a.ms ?? 0))[0] as (typeof counted)[number];
      const list = counted
        .map(
          (d) => `${d.call} at ${d.path}:${d.line}${d.via.length > 1 ? ` (via ${d.via.join(' → ')})` : ''}`,
        )
        .join(', ');
      const seconds = (total / 1000).toFixed(total % 1000 === 0 ? 0 : 1);
      const why: string[] = [`ArduinoOTA.handle() runs about once every ${seconds} s.`];
      if (esp32) {
        why.push(
          'An ESP32 reads an invitation only inside handle(), so it answers up to that late; each handshake step (answer, password check, connect-back) waits for another handle().',
        );
      }
      if (esp8266) {
        why.push(
          'An ESP8266 answers the invitation during delay(), but sends OK and connects back only from handle().',
        );
      }
      why.push(
        total >= 10000
          ? 'espota waits 10 s per step, so the upload fails with "No response from the ESP" or "No response from device". airflash adapts its waits to the answer time, espota does not.'
          : 'espota still succeeds (it waits 10 s per step), but slowly; a longer blocking pass breaks it.',
      );
      findings.push({
        severity: total >= 10000 ? 'error' : 'warning',
        code: 'BLOCKING_DELAY',
        what: `loop() blocks for about ${seconds} s per pass: ${list}.`,
        why: why.join(' '),
        fix: [
          'void loop() {',
          '  ArduinoOTA.handle();',
          '  static uint32_t last = 0;',
          `  if (millis() - last >= ${biggest.ms ?? total}) {   // instead of ${biggest.call}`,
          '    last = millis();',
          '    // ... the periodic work ...',
          '  }',
          '}',
        ].join('\n'),
        file: biggest.path,
        line: biggest.line,
      });
    }
  }

  if (scan.deepSleep.length > 0) {
    const first = scan.deepSleep[0] as (typeof scan.deepSleep)[number];
    findings.push({
      severity: 'warning',
      code: 'DEEP_SLEEP',
      what: 'loop() puts the chip into deep sleep.',
      why: 'A sleeping device has no Wi-Fi: it can take an update only in the short time it is awake, and espota gives up after 10 s.',
      fix: 'Keep the device awake while an update is wanted, e.g. skip deep sleep when a GPIO/NVS flag is set, then upload right after it wakes.',
      file: first.path,
      line: first.line,
    });
  }
  return findings;
}
