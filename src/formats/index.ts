/**
 * airflash/formats: partition tables, otadata, firmware images and upload pre-flight. No I/O: every
 * function goes from bytes or text to typed values and back (files are read by the callers).
 *
 * Browser-safe (imports nothing from node: and uses no Buffer, also through their imports):
 *   crc.ts, flash-size.ts, otadata.ts, image/chips.ts, image/sniff.ts, image/types.ts,
 *   partitions/{builtin,csv,ota,types,validate}.ts — CSV parsing and formatting, built-in
 *   schemes, OTA slot verdicts, otadata read/write, chip tables, CRC-32.
 * Needs node:crypto (MD5 / SHA-256, synchronous; Web Crypto has no MD5 and is async):
 *   partitions/binary.ts and partitions/load.ts (the MD5 row of a binary table),
 *   image/source.ts, image/walk.ts, image/inspect-esp.ts (the appended SHA-256),
 *   image/build*.ts (the SHA-256 of built images).
 * Needs node:zlib as well (gunzip of ESP8266 .bin.gz): image/inspect.ts, image/verdict.ts,
 *   preflight.ts, and therefore this index.
 * So is protocols/arduino-ota/wire (airflash/protocol): invitation.ts, text.ts, tokenizer.ts and
 * constants.ts are browser-safe; auth.ts (MD5, SHA-256, PBKDF2, random nonces) needs
 * node:crypto and uses Buffer, and counts.ts imports it through the wire index.
 */
export {
  crc32,
  crc32Mpeg2,
} from './crc.ts';
export {
  formatFlashSize,
  parseFlashSize,
} from './flash-size.ts';
export {
  BUILDABLE_CHIPS,
  type BuildableChip,
  buildBootloader,
  buildEsp32App,
  buildEspImage,
  buildMergedImage,
  type Esp32AppOptions,
  type EspImageOptions,
  type MergedImageOptions,
} from './image/build.ts';
export {
  buildEsp8266Sketch,
  type Esp8266SketchOptions,
} from './image/build-esp8266.ts';
export type {
  FlashModeName,
  SegmentSpec,
} from './image/build-write.ts';
export {
  APP_DESC_MAGIC,
  CHIPS,
  type ChipInfo,
  chipById,
  chipByName,
  chipLabel,
  ESP32_FLASH_SIZES,
  ESP8266_FLASH_SIZES,
  ESP8266_IROM_BASE,
  ESP8266_MAX_SKETCH,
  ESP8266_SKETCH_OFFSET,
  type Esp32Chip,
  esp8266FlashBytes,
  FLASH_MODES,
  IMAGE_MAGIC,
  MAX_SEGMENTS,
} from './image/chips.ts';
export {
  inspectImage,
  MAX_GUNZIP,
  MAX_GZIP_INPUT,
} from './image/inspect.ts';
export {
  SNIFF_BYTES,
  type Sniffed,
  sniff,
} from './image/sniff.ts';
export {
  bytesSource,
  crcMpeg2Of,
  forEachChunk,
  type ImageSource,
  isImageSource,
  SOURCE_CHUNK,
  sha256Of,
  subSource,
  toSource,
  xorOf,
} from './image/source.ts';
export type {
  AppDescriptor,
  ChecksumInfo,
  EspImage,
  ImageHeader,
  ImageInfo,
  ImageKind,
  ImageProblem,
  ImageSegment,
  SegmentRegion,
} from './image/types.ts';
export {
  APP_KINDS,
  corruptRefusal,
  type FirmwareJudgement,
  fileLabel,
  inspectOrRefuse,
  judgeFirmware,
  notAppRefusal,
  refusal,
} from './image/verdict.ts';
export {
  readImageHeader,
  walkEspImage,
} from './image/walk.ts';
export {
  activeOtadataEntry,
  blankOtadata,
  bootSlotFromOtadata,
  OTA_STATE,
  OTADATA_ENTRY_SIZE,
  OTADATA_SECTOR,
  OTADATA_SIZE,
  type Otadata,
  type OtadataEntry,
  otadataCrc,
  otaStateName,
  readOtadata,
  setActiveOtaState,
  setBootSlot,
} from './otadata.ts';
export {
  type BinaryTableOptions,
  decodePartitionTable,
  encodePartitionEntry,
  encodePartitionTable,
  pyBytesRepr,
} from './partitions/binary.ts';
export {
  BUILTIN_SCHEMES,
  builtinPartitionTable,
  builtinSchemeCsv,
  builtinSchemeFlashSize,
  builtinSchemeOrigin,
  requireBuiltinPartitionTable,
} from './partitions/builtin.ts';
export {
  type CsvParseOptions,
  formatPartitionCsv,
  MAX_CSV_CHARS,
  MAX_CSV_LINE_CHARS,
  parseCsvInt,
  parsePartitionCsv,
  pyHex,
  pyInt,
  pySplitLines,
  pyStrip,
} from './partitions/csv.ts';
export {
  isBinaryPartitionTable,
  type LoadPartitionOptions,
  loadPartitionTable,
} from './partitions/load.ts';
export {
  bytesText,
  findPartition,
  freeRegions,
  fsPartition,
  kib,
  type OtaVerdict,
  type OtaVerdictReason,
  otaSlots,
  otaVerdict,
  usableOtaSlots,
} from './partitions/ota.ts';
export {
  APP_SUBTYPE,
  BOOTLOADER_SUBTYPE,
  DATA_SUBTYPE,
  DEFAULT_TABLE_OFFSET,
  isOtaSlot,
  OTA_SUBTYPE_COUNT,
  OTA_SUBTYPE_MIN,
  offsetAlignment,
  PARTITION_TABLE_BINARY_SIZE,
  PARTITION_TABLE_SIZE,
  PARTITION_TABLE_SUBTYPE,
  PARTITION_TYPE,
  type PartitionEntry,
  type PartitionTable,
  SUBTYPE_KEYWORDS,
  subtypeName,
  TYPE_KEYWORDS,
  typeName,
} from './partitions/types.ts';
export {
  tableEnd,
  type ValidateOptions,
  type ValidationResult,
  validatePartitionTable,
} from './partitions/validate.ts';
export {
  type PreflightCore,
  type PreflightInput,
  type PreflightResult,
  type PreflightTarget,
  type PreflightWarning,
  preflight,
} from './preflight.ts';
