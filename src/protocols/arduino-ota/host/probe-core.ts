/**
 * Which core answered a probe: `detectCore()`, `familyEvidence()` for the upload's and the
 * fleet's chip-family check (refuse an image for the other family before any byte is sent), and
 * the range text `probe()` reports.
 *
 * What each core does with a size-0 invitation (protocol.md §2.4, docs/emulator.md):
 * - ESP32 without a password answers `OK` at once (from handle()); its Update.begin(0) then fails
 *   silently at the next handle().
 * - ESP8266 without a password answers nothing at once; at the next handle() Update.begin(0)
 *   fails and it answers `ERR: ERROR[5]: Bad Size Given` (or another Updater text).
 * - Any device with a password answers `AUTH <nonce>`: a 64-hex nonce is the SHA-256/PBKDF2
 *   exchange of arduino-esp32 ≥ 3.3.1; a 32-hex nonce (MD5) is every ESP8266 core and
 *   arduino-esp32 ≤ 3.3.0, so it does not tell the family.
 * - mDNS TXT `board` names the board (discovery infers the core from it).
 * - The port that answered is a weak hint only: 3232 and 8266 are defaults, setPort() changes them.
 */
import { DEFAULT_PORT } from '../../../devices/family.ts';
import type { FamilyEvidence } from '../../types.ts';
import type { CoreClues, CoreDetection, MdnsSeen, ProbeResult, ReplyKind } from './probe-types.ts';

type Family = 'esp32' | 'esp8266';
const NAME: Record<Family, string> = { esp32: 'ESP32', esp8266: 'ESP8266' };
const isFamily = (v: string | undefined): v is Family => v === 'esp32' || v === 'esp8266';

/** What the device's own answer says about its family (undefined: nothing). */
function fromReply(c: CoreClues): { core: Family; why: string } | undefined {
  if (c.reply === 'error')
    return {
      core: 'esp8266',
      why: 'it answered "ERR: …" to an invitation it cannot begin: only ESP8266 cores do that (an ESP32 answers OK and fails silently)',
    };
  if (c.reply === 'ok')
    return {
      core: 'esp32',
      why: 'it answered OK at once to an invitation it cannot begin: ESP32 cores do that (an ESP8266 answers "ERR: …" once its Update.begin() failed)',
    };
  if (c.reply === 'auth' && c.nonceLength === 64)
    return {
      core: 'esp32',
      why: 'its AUTH nonce has 64 hex characters: the SHA-256/PBKDF2 exchange of arduino-esp32 ≥ 3.3.1',
    };
  return undefined;
}

/**
 * The core family that answered, and every clue for it: the device's reply first (firm), then its
 * mDNS advertisement (firm), then the port that answered (weak). `unknown` when nothing tells.
 */
export function detectCore(clues: CoreClues): CoreDetection {
  const evidence: string[] = [];
  if (clues.reply === undefined) return { core: 'unknown', evidence: ['nothing answered'] };
  if (clues.reply === 'other')
    return { core: 'unknown', evidence: ['the answer is not an ArduinoOTA reply'] };
  const reply = fromReply(clues);
  if (reply) evidence.push(reply.why);
  else if (clues.nonceLength === 32)
    evidence.push(
      'its AUTH nonce has 32 hex characters: the MD5 exchange of every ESP8266 core and of arduino-esp32 ≤ 3.3.0 (either family)',
    );
  const ad = clues.mdns?.find((m) => isFamily(m.core));
  const advertised = ad !== undefined && isFamily(ad.core) ? ad.core : undefined;
  if (ad && advertised)
    evidence.push(
      `its mDNS advertisement${ad.board ? ` (TXT board=${ad.board})` : ''} points to ${NAME[advertised]}`,
    );
  const port = clues.port;
  const byPort: Family | undefined =
    port === DEFAULT_PORT.esp32 ? 'esp32' : port === DEFAULT_PORT.esp8266 ? 'esp8266' : undefined;
  if (byPort)
    evidence.push(
      `it answered on ${port}, the ${NAME[byPort]} default (a weak hint: ArduinoOTA.setPort() changes it)`,
    );
  const firm = reply?.core ?? advertised;
  if (reply && advertised && advertised !== reply.core)
    evidence.push(
      `the advertisement and the reply disagree; the reply is what the running core does, so ${NAME[reply.core]}`,
    );
  if (firm) return { core: firm, strength: 'firm', evidence };
  if (byPort) return { core: byPort, strength: 'weak', evidence };
  return { core: 'unknown', evidence };
}

/**
 * What the device's own answer to the size-0 invitation firmly shows of its family, worded for a
 * refusal ("the device is an ESP8266 (it answered "ERR: …" to a size-0 invitation)"): `ERR:` is an
 * ESP8266, an immediate `OK` an ESP32, a 64-hex nonce an ESP32 with arduino-esp32 ≥ 3.3.1.
 * Undefined when it does not tell (no answer, a 32-hex MD5 nonce, something else); the port that
 * answered is never taken (ArduinoOTA.setPort() moves either core).
 */
export function familyEvidence(answer: {
  reply?: ReplyKind | undefined;
  text?: string | undefined;
  nonceLength?: number | undefined;
}): FamilyEvidence | undefined {
  if (answer.reply === 'error')
    return {
      family: 'esp8266',
      how: `it answered "${(answer.text ?? 'ERR: …').trim()}" to a size-0 invitation, as only ESP8266 cores do`,
    };
  if (answer.reply === 'ok')
    return {
      family: 'esp32',
      how: 'it answered OK at once to a size-0 invitation, as only ESP32 cores do',
    };
  if (answer.reply === 'auth' && answer.nonceLength === 64)
    return {
      family: 'esp32',
      how: 'it asked for its password with a 64-hex PBKDF2 nonce (SHA-256), which only arduino-esp32 ≥ 3.3.1 sends',
    };
  return undefined;
}

/** Why `familyEvidence()` found nothing, for the "could not tell" note. */
export function familyUnknownWhy(answer: {
  reply?: ReplyKind | undefined;
  nonceLength?: number | undefined;
}): string {
  if (answer.reply === undefined) return 'it did not answer the size-0 invitation';
  if (answer.reply === 'auth' && answer.nonceLength === 32)
    return 'its AUTH nonce has 32 hex characters (MD5), which every ESP8266 core and arduino-esp32 ≤ 3.3.0 send';
  return 'its answer is not one that tells the family';
}

export function coreFrom(
  reply: ReplyKind | undefined,
  nonceLength: number | undefined,
  port: number,
  mdns: readonly MdnsSeen[] | undefined,
): ProbeResult['core'] {
  const why: string[] = [];
  const advertised = mdns?.[0]?.core;
  if (reply === 'error') {
    why.push(
      'it answered "ERR: …" to an invitation it cannot begin: only ESP8266 cores do that (ESP32 says OK and fails silently)',
    );
    return { family: 'esp8266', range: 'ESP8266 (esp8266/Arduino core)', why };
  }
  if (nonceLength === 64) {
    why.push(
      'its AUTH nonce has 64 hex characters: the SHA-256/PBKDF2 exchange added in arduino-esp32 3.3.1',
    );
    return { family: 'esp32', range: 'ESP32, arduino-esp32 core ≥ 3.3.1', why };
  }
  if (nonceLength === 32) {
    why.push(
      'its AUTH nonce has 32 hex characters: the MD5 exchange of every ESP8266 core and of arduino-esp32 ≤ 3.3.0',
    );
    if (advertised === 'esp8266' || (advertised === undefined && port === DEFAULT_PORT.esp8266)) {
      why.push(
        advertised ? 'its mDNS advertisement points to ESP8266' : 'it listens on 8266, the ESP8266 default',
      );
      return { family: 'esp8266', range: 'ESP8266 (most likely), or arduino-esp32 ≤ 3.3.0', why };
    }
    if (advertised === 'esp32' || port === DEFAULT_PORT.esp32) {
      why.push(
        advertised ? 'its mDNS advertisement points to ESP32' : 'it listens on 3232, the ESP32 default',
      );
      return { family: 'esp32', range: 'ESP32, arduino-esp32 core ≤ 3.3.0 (most likely), or ESP8266', why };
    }
    return { range: 'ESP8266, or ESP32 with arduino-esp32 ≤ 3.3.0', why };
  }
  if (reply === 'ok') {
    why.push(
      'it answered OK at once to an invitation it cannot begin: ESP32 cores do that (ESP8266 answers only after begin())',
    );
    why.push('without a password the auth generation (core ≤ 3.3.0 or ≥ 3.3.1) cannot be seen');
    return { family: 'esp32', range: 'ESP32 (arduino-esp32, any version)', why };
  }
  return { range: 'unknown', why };
}
