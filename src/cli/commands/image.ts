import { resolve } from 'node:path';
import { AirflashError, EXIT, exitCodeFor } from '../../core/errors.ts';
import {
  APP_KINDS,
  bytesText,
  type EspImage,
  type ImageInfo,
  judgeFirmware,
  kib,
  otaStateName,
  subtypeName,
  typeName,
} from '../../formats/index.ts';
import { openImageFile } from '../../upload/image-file.ts';
import { type OptionSpec, parseCommandArgs } from '../options.ts';
import { safeBlock, safeJson } from '../render/safe-text.ts';
import { renderError } from '../render-error.ts';
import type { Command } from '../types.ts';

export const IMAGE_OPTIONS = [
  { long: 'json', kind: 'flag', help: 'the full inspection as JSON' },
  { long: 'help', short: 'h', kind: 'flag', help: 'show this help' },
] as const satisfies readonly OptionSpec[];

const HELP = `Usage: airflash image FILE [--json]

Say what a firmware file is and whether it is intact, before you upload it: an ESP32-family
app (ESP32, S2, S3, C3, C6 …), an Arduino ESP8266 sketch (eboot at 0, the app at 0x1000 with its
length and CRC-32), a bare or gzip-compressed ESP8266 image, a bootloader, a merged full-flash
image, a partition table, otadata, or unknown. Shows the chip, flash mode/size/frequency, entry
point, segments, checksum, appended SHA-256, ESP8266 CRC, the app descriptor (project, version,
IDF version, build date, ELF SHA-256) and the size.

  --json   the full inspection as JSON

The file is read where its structures are (header, segment table, app descriptor) and hashed
in chunks, so a file of any size is inspected in little memory. The verdict is the upload
pre-flight's own judgement of the file (without a target).

Exit status: 0 an intact ESP image (the verdict says whether OTA can take it); 3 refused: not
a firmware image (ELF, text, gzip of something else, random bytes …), corrupt or truncated;
2 usage error or unreadable file.
`;

const hex = (n: number, width = 0): string => `0x${n.toString(16).toUpperCase().padStart(width, '0')}`;

function imageLines(img: EspImage, label: string): string[] {
  const h = img.header;
  const lines: string[] = [];
  lines.push(`${label} at ${hex(h.offset)}:`);
  lines.push(
    `  flash       ${h.flashModeName}, ${h.flashSize}, ${h.flashFreq} (header byte 3 = ${hex(h.flashSizeFreq, 2)})`,
  );
  lines.push(`  entry       ${hex(h.entry, 8)}`);
  const x = h.extended;
  if (x !== undefined) {
    const max =
      x.maxChipRevFull === 0 || x.maxChipRevFull === 0xffff
        ? 'no limit'
        : `v${Math.floor(x.maxChipRevFull / 100)}.${x.maxChipRevFull % 100}`;
    lines.push(
      `  chip rev    min v${Math.floor(x.minChipRevFull / 100)}.${x.minChipRevFull % 100}, max ${max}; wp_pin ${hex(x.wpPin, 2)}; hash_appended ${x.hashAppended}`,
    );
  }
  lines.push(`  segments    ${img.segments.length}`);
  lines.push('    #  HEADER      LOAD        LENGTH      REGION');
  for (const s of img.segments) {
    lines.push(
      `    ${String(s.index).padEnd(2)} ${hex(s.headerOffset).padEnd(11)} ${hex(s.loadAddress, 8)}  ${hex(s.length).padEnd(10)}  ${s.region}`,
    );
  }
  const c = img.checksum;
  lines.push(
    `  checksum    ${hex(c.stored, 2)} at ${hex(c.offset)}: ${c.ok ? 'ok' : `MISMATCH (calculated ${hex(c.computed, 2)})`}`,
  );
  if (img.sha256 !== undefined) {
    lines.push(
      `  SHA-256     ${img.sha256.stored} at ${hex(img.sha256.offset)}: ${img.sha256.ok ? 'ok' : `MISMATCH (calculated ${img.sha256.computed})`}`,
    );
  }
  lines.push(`  length      ${bytesText(img.length)} bytes`);
  return lines;
}

function verdictLine(info: ImageInfo): string {
  if (!info.ok) return 'CORRUPT: a device would reject it';
  return APP_KINDS.includes(info.kind)
    ? 'intact'
    : 'intact, but not an application image: an OTA firmware update cannot take it';
}

function render(name: string, info: ImageInfo): string {
  const lines: string[] = [];
  lines.push(`${name}: ${info.description}`);
  lines.push(`  size        ${bytesText(info.size)} bytes (${(info.size / 1024).toFixed(1)} KiB)`);
  if (info.chipLabel !== undefined) {
    const id = info.image?.header.extended?.chipId;
    lines.push(`  chip        ${info.chipLabel}${id === undefined ? '' : ` (chip id ${id})`}`);
  }
  if (info.esp8266 !== undefined) {
    const e = info.esp8266;
    lines.push(...imageLines(e.eboot, 'eboot').map((l) => `  ${l}`));
    lines.push(...imageLines(e.app, 'sketch').map((l) => `  ${l}`));
    if (e.hasCrc) {
      lines.push(
        `  length word ${bytesText(e.lengthWord)} at 0x1010${e.lengthWord === info.size ? ' (= file size)' : ` (file: ${bytesText(info.size)})`}`,
      );
      lines.push(
        `  CRC-32      ${hex(e.crcWord, 8)} at 0x1014: ${e.crcOk === undefined ? 'not checked' : e.crcOk ? 'ok' : `MISMATCH (calculated ${hex(e.crcComputed ?? 0, 8)})`}`,
      );
      if (e.checksumWithWordsZeroed)
        lines.push(
          '  note        checksum verified with the length/CRC words taken as zero, as elf2bin computes it',
        );
    } else lines.push('  CRC-32      none (a build from before the length/CRC words)');
  } else if (info.image !== undefined) {
    lines.push(...imageLines(info.image, 'image').map((l) => `  ${l}`));
  }
  if (info.appDesc !== undefined) {
    const a = info.appDesc;
    lines.push('  app descriptor at 0x20:');
    lines.push(`    project     ${a.projectName}`);
    lines.push(`    version     ${a.version}`);
    lines.push(`    IDF         ${a.idfVersion}`);
    lines.push(`    built       ${a.date} ${a.time}`);
    lines.push(`    ELF SHA-256 ${a.elfSha256}`);
    lines.push(`    secure ver  ${a.secureVersion}`);
    if (a.projectName === 'arduino-lib-builder') {
      lines.push(
        "    note        Arduino builds carry the core's descriptor; the ELF SHA-256 identifies the sketch",
      );
    }
  }
  if (info.gzip !== undefined) {
    lines.push(
      `  gzip        ${bytesText(info.gzip.compressedSize)} bytes${info.gzip.decompressedSize === undefined ? '' : ` → ${bytesText(info.gzip.decompressedSize)} bytes`}`,
    );
    if (info.inner !== undefined)
      lines.push(
        ...render('  inside', info.inner)
          .trimEnd()
          .split('\n')
          .map((l) => `  ${l}`),
      );
  }
  if (info.partitionTable !== undefined) {
    lines.push('  partitions:');
    for (const e of info.partitionTable.entries) {
      lines.push(
        `    ${e.name.padEnd(16)} ${(typeName(e.type) ?? hex(e.type)).padEnd(5)} ${(subtypeName(e.type, e.subtype) ?? hex(e.subtype)).padEnd(9)} ${hex(e.offset).padEnd(10)} ${kib(e.size)}`,
      );
    }
  }
  if (info.otadata !== undefined) {
    info.otadata.entries.forEach((e, i) => {
      lines.push(
        `  entry ${i}     ${e === undefined ? 'empty (FF)' : `seq ${e.seq}, state ${otaStateName(e.state)}, CRC ${e.crcOk ? 'ok' : 'BAD'}`}`,
      );
    });
  }
  if (info.merged !== undefined) {
    const m = info.merged;
    lines.push(`  bootloader  at ${hex(m.bootloaderOffset)}; partition table at ${hex(m.tableOffset)}`);
    for (const a of m.apps) {
      lines.push(
        `  app ${a.name.padEnd(8)}at ${hex(a.offset)}: ${a.info === undefined ? (a.error ?? '?') : `${a.info.description}${a.info.appDesc ? ` "${a.info.appDesc.projectName}" ${a.info.appDesc.version}` : ''}${a.info.ok ? '' : ' (CORRUPT)'}`}`,
      );
    }
    lines.push(
      '  note        a merged image is for serial flashing (esptool write_flash 0x0); OTA takes the app alone',
    );
  }
  if (info.trailingBytes !== undefined && info.trailingBytes > 0) {
    lines.push(`  trailing    ${bytesText(info.trailingBytes)} bytes after the image`);
  }
  const errors = info.problems.filter((p) => p.severity === 'error');
  const warnings = info.problems.filter((p) => p.severity === 'warning');
  for (const p of errors) lines.push(`  PROBLEM     ${p.message}`);
  for (const p of warnings) lines.push(`  warning     ${p.message}`);
  if (info.content !== undefined) {
    lines.push(`  looks like  ${info.content.looksLike}`);
    lines.push(`  verdict     NOT A FIRMWARE IMAGE: ${info.content.hint}`);
  } else lines.push(`  verdict     ${verdictLine(info)}`);
  return `${lines.join('\n')}\n`;
}

export const command: Command = {
  name: 'image',
  summary: 'Inspect a firmware image: what it is, for which chip, and whether it is intact',
  help: HELP,
  options: IMAGE_OPTIONS,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, IMAGE_OPTIONS, 'image');
    if (positionals.length !== 1) {
      throw new AirflashError('BAD_ARGUMENT', 'Give exactly one image file.', {
        hint: 'airflash image firmware.bin',
      });
    }
    const name = positionals[0] as string;
    const source = await openImageFile(resolve(io.cwd, name));
    let judgement: ReturnType<typeof judgeFirmware>;
    try {
      judgement = judgeFirmware(source, name);
    } finally {
      await source.close();
    }
    const { info, refusal } = judgement;
    // Intact ESP data that is not an app (bootloader, partition table …) is shown, not refused.
    const refused =
      refusal !== undefined &&
      (info === undefined || info.kind === 'unknown' || refusal.code === 'PREFLIGHT_CORRUPT')
        ? refusal
        : undefined;
    if (values.json) {
      // The app descriptor's texts come from the file: printed escaped.
      io.stdout.write(
        `${safeJson(
          {
            file: name,
            ...(info ?? {}),
            ok: refused === undefined && info !== undefined && info.ok,
            ...(refused === undefined ? {} : { verdict: refused.toJSON() }),
          },
          2,
        )}\n`,
      );
    } else if (info !== undefined) io.stdout.write(safeBlock(render(name, info)));
    if (refused === undefined) return EXIT.ok;
    if (!values.json) io.stderr.write(renderError(refused));
    return exitCodeFor(refused);
  },
};
