/** The shapes the image walker and inspector return (formats.md §4, §6, §8). */
import type { Otadata } from '../otadata.ts';
import type { PartitionTable } from '../partitions/types.ts';

export type ImageKind =
  | 'esp32-app'
  | 'esp8266-sketch'
  | 'esp8266-image'
  | 'esp8266-gzip'
  | 'bootloader'
  | 'merged'
  | 'partition-table'
  | 'otadata'
  | 'unknown';

export interface ImageHeader {
  /** Where this image starts in the file (0x1000 for an ESP8266 sketch). */
  offset: number;
  magic: number;
  segmentCount: number;
  flashMode: number;
  /** "QIO", "DIO", … */
  flashModeName: string;
  /** Byte 3 of the header: flash size (high nibble) and frequency (low nibble). */
  flashSizeFreq: number;
  flashSizeCode: number;
  /** "4MB", "512KB" …, or "unknown (0xA)". */
  flashSize: string;
  flashFreqCode: number;
  flashFreq: string;
  entry: number;
  /** ESP32 family only (the 16-byte extended header). */
  extended?: {
    wpPin: number;
    spiPinDrv: [number, number, number];
    chipId: number;
    minChipRev: number;
    minChipRevFull: number;
    /** 0 or 0xFFFF mean "no limit". */
    maxChipRevFull: number;
    hashAppended: number;
  };
}

export type SegmentRegion = 'DROM' | 'IROM' | 'RAM' | 'padding' | 'unknown';

export interface ImageSegment {
  index: number;
  /** File offset of the 8-byte segment header. */
  headerOffset: number;
  /** File offset of the data. */
  dataOffset: number;
  loadAddress: number;
  length: number;
  region: SegmentRegion;
}

export interface AppDescriptor {
  magic: number;
  secureVersion: number;
  version: string;
  projectName: string;
  time: string;
  date: string;
  idfVersion: string;
  /** SHA-256 of the ELF, hex (Arduino: the sketch's ELF). */
  elfSha256: string;
  minEfuseBlkRevFull: number;
  maxEfuseBlkRevFull: number;
  mmuPageSizeLog2: number;
  spiFlashMode: number;
}

export interface ImageProblem {
  /** checksum_mismatch, sha256_mismatch, crc_mismatch, length_mismatch, segment_length,
   * segment_mapping, app_desc_missing, app_desc_short, trailing_bytes, no_eboot, gzip_corrupt,
   * table_invalid, … */
  code: string;
  /** error: the device would reject the image; warning: worth knowing. */
  severity: 'error' | 'warning';
  message: string;
  offset?: number;
}

export interface ChecksumInfo {
  offset: number;
  stored: number;
  computed: number;
  ok: boolean;
}

export interface EspImage {
  header: ImageHeader;
  segments: ImageSegment[];
  checksum: ChecksumInfo;
  sha256?: { offset: number; stored: string; computed: string; ok: boolean };
  /** Bytes from the image start to the end of the checksum (and SHA-256, when appended). */
  length: number;
}

export interface ImageInfo {
  kind: ImageKind;
  /** One line: "ESP32-S3 application image", "Arduino ESP8266 sketch (eboot + app)" … */
  description: string;
  /** File size in bytes. */
  size: number;
  family?: 'esp32' | 'esp8266';
  /** "esp32", "esp32s3", …, "esp8266". */
  chip?: string;
  chipLabel?: string;
  /** The (first) image's header, segments, checksum and digest. */
  image?: EspImage;
  appDesc?: AppDescriptor;
  /** Bytes after the image (signatures, padding). */
  trailingBytes?: number;
  /** Arduino ESP8266 sketch: eboot at 0 and the app at 0x1000 with its length and CRC words. */
  esp8266?: {
    eboot: EspImage;
    app: EspImage;
    /** The two words at 0x1010/0x1014 (0/0 in builds from before the CRC). */
    lengthWord: number;
    crcWord: number;
    hasCrc: boolean;
    crcComputed?: number;
    crcOk?: boolean;
    /** The app checksum matched with the two words taken as zero (elf2bin's rule). */
    checksumWithWordsZeroed: boolean;
  };
  /** Decompressed content of a gzip image. */
  inner?: ImageInfo;
  gzip?: { compressedSize: number; decompressedSize?: number };
  partitionTable?: PartitionTable;
  otadata?: Otadata;
  /** Not an ESP image: what the content looks like (ELF, text, gzip of …) and what to do. */
  content?: { looksLike: string; hint: string };
  merged?: {
    bootloaderOffset: number;
    tableOffset: number;
    partitions?: PartitionTable;
    apps: Array<{ name: string; offset: number; info?: ImageInfo; error?: string }>;
  };
  problems: ImageProblem[];
  /** No problem of severity "error". */
  ok: boolean;
}
