/**
 * The TXT of an ESPHome device's `_esphomelib._tcp` advertisement (esphome
 * `components/mdns/mdns_component.cpp`: friendly_name, version, config_hash, mac, platform,
 * board, network, api_encryption, project_name, project_version) as typed fields. Any key may be
 * missing; `api_encryption` names the Noise pattern when the device's API (and so its OTA key)
 * is encrypted.
 */

export interface EsphomeTxt {
  friendlyName?: string;
  /** The ESPHome version the firmware was built with (`2026.9.1`). */
  version?: string;
  configHash?: string;
  mac?: string;
  /** `ESP32`, `ESP8266`, `RP2040`, … */
  platform?: string;
  board?: string;
  /** `wifi` or `ethernet`. */
  network?: string;
  /** `Noise_NNpsk0_25519_ChaChaPoly_SHA256` when encryption is configured. */
  apiEncryption?: string;
  projectName?: string;
  projectVersion?: string;
  /** True when `api_encryption` is present: an upload needs the key (`--key`). */
  encryption: boolean;
}

const KEYS: ReadonlyArray<readonly [string, Exclude<keyof EsphomeTxt, 'encryption'>]> = [
  ['friendly_name', 'friendlyName'],
  ['version', 'version'],
  ['config_hash', 'configHash'],
  ['mac', 'mac'],
  ['platform', 'platform'],
  ['board', 'board'],
  ['network', 'network'],
  ['api_encryption', 'apiEncryption'],
  ['project_name', 'projectName'],
  ['project_version', 'projectVersion'],
];

/** The ESPHome fields of TXT pairs (first value of a key wins, keys case-insensitive). */
export function parseEsphomeTxt(pairs: ReadonlyArray<readonly [string, string]>): EsphomeTxt {
  const out: EsphomeTxt = { encryption: false };
  for (const [txtKey, field] of KEYS) {
    const hit = pairs.find(([k]) => k.toLowerCase() === txtKey);
    if (hit !== undefined) out[field] = hit[1];
  }
  out.encryption = out.apiEncryption !== undefined && out.apiEncryption !== '';
  return out;
}
