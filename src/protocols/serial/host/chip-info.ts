import { formatFlashSize } from '../../../formats/index.ts';
import { builtinSchemeFlashSize } from '../../../formats/partitions/builtin.ts';
import { type LoaderSession, type SerialOptions, withSession } from './connect.ts';

/** What `airflash chip` tells about the connected board. */
interface ChipInfo {
  port: string;
  /** esptool's chip name: "ESP32", "ESP32-S3", "ESP8266". */
  chip: string;
  /** airflash's chip id ("esp32", "esp32s3", "esp8266") and family. */
  chipId: string;
  family: 'esp32' | 'esp8266';
  /** "ESP32-D0WD-V3 (revision 3)". */
  description: string;
  features: string[];
  crystalMHz: number;
  mac: string;
  /** JEDEC id (manufacturer | type << 8 | capacity << 16) and the size it means, in bytes. */
  flashId: number;
  flashSize?: number;
  /** Where the ROM has GET_SECURITY_INFO (ESP32-S2 and later). */
  security?: {
    flags: number;
    flashCryptCount: number;
    secureBoot: boolean;
    secureDownloadMode: boolean;
    chipId?: number;
  };
  /** In plain words: "ESP32-D0WD-V3, 4 MB flash: the 4 MB default scheme fits". */
  summary: string;
}

const JEDEC_SIZE = (capacity: number): number | undefined =>
  capacity >= 0x12 && capacity <= 0x1c ? 2 ** capacity : undefined;

/** The words for a board's flash against the family's default layout. */
function fitSentence(family: 'esp32' | 'esp8266', size: number | undefined): string {
  if (size === undefined) return 'the flash size could not be read (the flash chip does not answer)';
  if (family === 'esp8266')
    return size >= 4 * 1024 * 1024
      ? 'room for OTA of a sketch up to 1 MB (e.g. the 4M2M layout)'
      : `OTA needs twice the sketch size free: keep the sketch under ${formatFlashSize(size / 2 - 16 * 1024)}`;
  const need = builtinSchemeFlashSize('default') ?? 4 * 1024 * 1024;
  return size >= need
    ? `the ${formatFlashSize(need)} default scheme fits`
    : `the ${formatFlashSize(need)} default scheme does NOT fit: choose a scheme for ${formatFlashSize(size)}`;
}

/** Read the chip facts over an open session. */
async function readChipInfo(s: LoaderSession): Promise<ChipInfo> {
  const { loader } = s;
  const chip = loader.chip;
  const description = await chip.getChipDescription(loader);
  const features = (await chip.getChipFeatures(loader)).map((f) => f.trim());
  const crystalMHz = await chip.getCrystalFreq(loader);
  const mac = await chip.readMac(loader);
  const flashId = (await loader.readFlashId()) >>> 0;
  const flashSize = JEDEC_SIZE((flashId >> 16) & 0xff);
  const name = chip.CHIP_NAME;
  const chipId = name.toLowerCase().replace(/-/g, '');
  const family = chipId === 'esp8266' ? 'esp8266' : 'esp32';
  let security: ChipInfo['security'];
  if (!chip.USES_MAGIC_VALUE) {
    const info = await loader.getSecurityInfo();
    security = {
      flags: info.flags,
      flashCryptCount: info.flashCryptCnt,
      secureBoot: info.parsedFlags.SECURE_BOOT_EN,
      secureDownloadMode: info.parsedFlags.SECURE_DOWNLOAD_ENABLE,
      ...(info.chipId === null ? {} : { chipId: info.chipId }),
    };
  }
  const short = description.replace(/ \(revision [^)]*\)$/, '');
  const sizeText = flashSize === undefined ? 'unknown flash size' : `${formatFlashSize(flashSize)} flash`;
  return {
    port: s.path,
    chip: name,
    chipId,
    family,
    description,
    features,
    crystalMHz,
    mac,
    flashId,
    ...(flashSize === undefined ? {} : { flashSize }),
    ...(security ? { security } : {}),
    summary: `${short}, ${sizeText}: ${fitSentence(family, flashSize)}`,
  };
}

/** Connect to the board on `options.port` and tell what it is. */
function chipInfo(options: SerialOptions): Promise<ChipInfo> {
  return withSession(options, readChipInfo);
}

export { type ChipInfo, chipInfo, readChipInfo };
