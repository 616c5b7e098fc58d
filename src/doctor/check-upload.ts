/** doctor's check of one OTA environment's upload_protocol, upload_port and upload_flags. Pure. */

import { defaultPort as defaultOtaPort } from '../devices/family.ts';
import { coreLabel, type EnvFacts, looksLikeSerialPort, otherCore } from './env-facts.ts';
import { espotaPort, espotaSpecs, parseEspotaArgs } from './espota.ts';
import {
  canonical,
  type FlagAnalysis,
  flagsBlock,
  intendedPieces,
  misspelledAuthName,
  pioEspotaTail,
  sameMeaning,
  VALUE_OPTIONS,
} from './espota-flags.ts';
import type { ResolvedOption } from './platformio-ini.ts';
import type { SourceScan } from './source-scan.ts';
import type { DoctorFinding } from './types.ts';

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
