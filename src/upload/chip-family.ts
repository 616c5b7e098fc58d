/**
 * Wrong chip family, refused before any byte is sent (issue 11): when what the upload knows of the
 * device contradicts the image, the upload stops with PREFLIGHT_WRONG_CHIP (exit 3 "refused")
 * naming what was seen and the fix. `--force` skips it. The evidence, strongest first:
 * - what is known before sending (`deviceFamily()`): `--chip`, the mDNS TXT `board` of the record
 *   the target came from, its core from the devices file or discovery;
 * - else, when the port contradicts the image (it is the other family's default), the device's
 *   own answer to the one probe's size-0 invitation, asked by the protocol before its first image
 *   byte (`familyCheck()`; the fleet's probe does the same for every device);
 * - on the wire, a PBKDF2 nonce (ESP32 ≥ 3.3.1 only: handshake-replies.ts).
 * The image family's default port and a port that is neither default are not asked about: no cost
 * on the default path or for a custom port, at the price that a core moved there with
 * ArduinoOTA.setPort() is not seen (docs/upload.md).
 */

import { AirflashError } from '../core/errors.ts';
import { type ChipFamily, familyOfBoard, imageFamily } from '../devices/family.ts';
// The modules themselves, not the formats barrel (which also loads the image builders).
import { chipById, chipByName, chipLabel } from '../formats/image/chips.ts';
import { readImageHeader } from '../formats/image/walk.ts';
import type { FamilyCheck, FamilyEvidence } from '../protocols/types.ts';

/** What is known of the device before anything is sent. */
export interface DeviceFamily {
  family: 'esp32' | 'esp8266';
  /** The exact ESP32-family chip (`esp32`, `esp32s3` ...), when known. */
  chip?: string;
  /** How it is known, for the message ("mDNS TXT board=d1_mini"). */
  how: string;
  /** Known from the device's answer to a size-0 invitation (which left it idle), not context. */
  asked?: boolean;
}

export interface KnownDevice {
  /** mDNS TXT `board` of the record the target came from. */
  board?: string;
  core?: string;
  chip?: string;
}

/** The device's family from what is known, strongest first; undefined when nothing says. */
export function deviceFamily(known: KnownDevice): DeviceFamily | undefined {
  if (known.chip !== undefined && known.chip !== '') {
    if (/^esp8266$/i.test(known.chip)) return { family: 'esp8266', how: `--chip ${known.chip}` };
    const chip = chipByName(known.chip);
    if (chip) return { family: 'esp32', chip: chip.chip, how: `--chip ${known.chip}` };
  }
  if (known.board !== undefined && known.board !== '') {
    const how = `its mDNS TXT board=${known.board}`;
    const chip = chipByName(known.board);
    if (chip) return { family: 'esp32', chip: chip.chip, how };
    const family = familyOfBoard(known.board);
    if (family !== undefined) return { family, how };
  }
  if (known.core === 'esp8266') return { family: 'esp8266', how: 'its core (esp8266)' };
  if (known.core === 'esp32' || known.core === 'esp32-legacy')
    return { family: 'esp32', how: `its core (${known.core})` };
  return undefined;
}

/** The ESP32-family chip of an app image, from its extended header. */
function imageChip(head: Uint8Array): string | undefined {
  try {
    const id = readImageHeader(head, 'esp32').extended?.chipId;
    return id === undefined ? undefined : chipById(id)?.chip;
  } catch {
    return undefined;
  }
}

const label = (d: DeviceFamily): string =>
  d.chip ? chipLabel(d.chip) : d.family === 'esp8266' ? 'ESP8266' : 'ESP32';

function refuse(
  message: string,
  hint: string,
  data: Record<string, unknown>,
  asked: boolean | undefined,
): AirflashError {
  const sent = asked
    ? 'No image byte was sent (the size-0 invitation that asked left the device idle).'
    : 'Nothing was sent.';
  return new AirflashError('PREFLIGHT_WRONG_CHIP', `${message} ${sent}`, {
    phase: 'preflight',
    hint: `${hint} If you are sure, pass --force.`,
    data,
  });
}

/**
 * The refusal when the image (as it will be sent: `compressed` = gzip) cannot work on the
 * device; undefined when it fits or nothing is known.
 */
export function chipFamilyRefusal(
  image: { head: Uint8Array; command: 0 | 100; compressed: boolean },
  device: DeviceFamily | undefined,
): AirflashError | undefined {
  if (device === undefined) return undefined;
  const seen = `the device is an ${label(device)} (${device.how})`;
  if (device.family === 'esp32' && image.compressed)
    return refuse(
      `--compress sends a gzip image, but ${seen}: the ESP32 updater does not decompress (it would fail with "Wrong Magic Byte").`,
      'Upload without --compress (gzip is for ESP8266 devices).',
      { deviceFamily: device.family },
      device.asked,
    );
  const family = imageFamily(image.head, image.command);
  if (family === undefined) return undefined;
  if (family !== device.family)
    return refuse(
      `The image is ${family === 'esp32' ? 'an ESP32-family app' : 'an ESP8266 sketch'}, but ${seen}: ${family === 'esp32' ? 'the ESP8266 would take it and not boot (a serial reflash fixes it)' : 'its updater refuses it ("Wrong Magic Byte")'}.`,
      `Build the firmware for the ${device.family === 'esp32' ? 'ESP32' : 'ESP8266'} board of this device, or upload to the right device.`,
      { imageFamily: family, deviceFamily: device.family, how: device.how },
      device.asked,
    );
  const chip = family === 'esp32' ? imageChip(image.head) : undefined;
  if (chip !== undefined && device.chip !== undefined && chip !== device.chip)
    return refuse(
      `The image is built for ${chipLabel(chip)}, but ${seen}: its bootloader would refuse it ("mismatch chip ID").`,
      `Build for the ${chipLabel(device.chip)} board (PlatformIO: the board of the env; Arduino IDE: Tools › Board), or upload to the right device.`,
      { imageChip: chip, deviceChip: device.chip },
      device.asked,
    );
  return undefined;
}

/** What a device's answer to the size-0 invitation showed, as a DeviceFamily for the refusal. */
export function askedFamily(found: FamilyEvidence): DeviceFamily {
  return { family: found.family, how: found.how, asked: true };
}

/**
 * The check the protocol owes when context did not tell the device's family (issue 11): undefined
 * when the image's family is unknown (a filesystem image, not an app) or the family is known.
 */
export function familyCheck(
  image: { head: Uint8Array; command: 0 | 100; compressed: boolean },
  known: DeviceFamily | undefined,
): FamilyCheck | undefined {
  if (known !== undefined) return undefined;
  const family: ChipFamily | undefined = imageFamily(image.head, image.command);
  if (family === undefined) return undefined;
  return { imageFamily: family, verdict: (found) => chipFamilyRefusal(image, askedFamily(found)) };
}
