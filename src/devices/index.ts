/**
 * airflash devices: chip-family facts, one home each (issue 15).
 * - family.ts: the family of a device or image, the default OTA ports (3232 ESP32, 8266
 *   ESP8266), the signed-image rule;
 * - ports.ts: the wrong-port warning and the ports to try instead;
 * - partition-spec.ts + partitions.ts: the one partition precedence — a table object, then a file
 *   at that path (binary AA 50, else CSV), then a built-in scheme name, else FILE_NOT_FOUND;
 * - esp8266-layouts.ts: the ESP8266 flash layouts (boards.txt `eesz`).
 * ESP8266_MAX_SKETCH is defined once in formats/image/chips.ts (an image fact: the code window)
 * and re-exported here. The auth generations (MD5 before arduino-esp32 3.3.1, SHA-256 after) are
 * ArduinoOTA facts and stay in protocols/arduino-ota/wire.
 * Layer: devices imports core and formats only (partitions.ts also node:fs); wire does not import
 * devices, so the default ports left airflash/protocol (DEFAULT_PORT is exported here).
 */
export { ESP8266_MAX_SKETCH } from '../formats/image/chips.ts';
export {
  ESP8266_LAYOUT_NAMES,
  type Esp8266FlashLayout,
  esp8266Layout,
} from './esp8266-layouts.ts';
export {
  type ChipFamily,
  DEFAULT_PORT,
  defaultPort,
  type FamilyHints,
  familyOfPort,
  imageFamily,
  sendsSignedImage,
} from './family.ts';
export { choosePartitions, type ResolvedPartitions } from './partition-spec.ts';
export { type ResolvePartitionsOptions, resolvePartitions, resolvePartitionsSync } from './partitions.ts';
export { alternatePorts, portFamilyMismatch, uploadFlagsFix } from './ports.ts';
