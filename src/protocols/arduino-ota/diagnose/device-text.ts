/** The device's own error texts (Updater, protocol.md §4.6) mapped to causes and advice. */
import { lookupDeviceError } from '../wire/index.ts';
import { at, bytes, quote } from './evidence.ts';
import type { Facts } from './facts.ts';
import type { Scored } from './types.ts';

function whereEvidence(f: Facts, text: string): string[] {
  const o = f.o;
  const lines: string[] = [];
  const udp = f.fromDevice.find((r) => r.kind === 'refused' || r.text.startsWith('ERR'));
  if (udp)
    lines.push(
      `the device answered the invitation ${at(udp.at)} with ${quote(udp.text)} (over UDP, before any data)`,
    );
  else if (o?.transfer) {
    const t = o.transfer;
    const size = o.image.size ?? 0;
    const pct = size > 0 ? Math.floor((100 * t.bytesConfirmed) / size) : 0;
    lines.push(
      `after about ${t.bytesConfirmed} of ${size} bytes confirmed by the device (${pct} %; ${t.bytesSent} handed to the network), it wrote ${quote(text)}${t.endedAt === undefined ? '' : ` ${at(t.endedAt)}`}`,
    );
  } else lines.push(`the device said ${quote(text)}`);
  return lines;
}

function imageFacts(f: Facts): string[] {
  const o = f.o;
  if (!o) return [];
  const lines: string[] = [];
  if (o.image.size !== undefined)
    lines.push(
      `image ${o.image.sentPath ?? o.image.path ?? '(bytes)'}: ${bytes(o.image.size)}, command ${o.image.command === 100 ? '100 (filesystem)' : '0 (firmware)'}${o.image.compressed ? ', gzip-compressed' : ''}`,
    );
  if (o.image.firstByte !== undefined)
    lines.push(
      `its first byte is 0x${o.image.firstByte.toString(16).padStart(2, '0').toUpperCase()}${o.image.firstByte === 0xe9 ? ' (an ESP app image starts with 0xE9)' : o.image.firstByte === 0x1f ? ' (gzip)' : ' — an ESP app image starts with 0xE9'}`,
    );
  return lines;
}

/** Causes for a device error text (UDP `ERR: …` or the TCP reply). */
export function deviceTextCauses(f: Facts, text: string): Scored[] {
  const where = whereEvidence(f, text);
  const o = f.o;
  const causes: Scored[] = [];
  const code = lookupDeviceError(text).code;
  const add = (id: string, score: number, title: string, evidence: string[], next: string[]): void => {
    causes.push({ id, score, title, evidence: [...where, ...evidence], next });
  };

  if (code === 'NOT_ENOUGH_SPACE') {
    const ev = imageFacts(f);
    if (f.slot && f.slot.size > 0 && o?.image.size !== undefined)
      ev.push(`${f.slot.source} holds ${bytes(f.slot.size)}`);
    add(
      'NOT_ENOUGH_SPACE',
      0.97,
      'The image does not fit the space the device has for an update (partition scheme / flash layout)',
      ev,
      f.esp8266
        ? [
            'ESP8266: the new sketch must fit between the running sketch and the filesystem: choose a flash layout with a smaller filesystem (Tools → Flash Size, e.g. "4MB (FS:1MB OTA:~1019KB)"), or board_build.ldscript in PlatformIO.',
            `Send it compressed (the ESP8266 bootloader unpacks gzip): airflash upload -i ${f.host} -p ${f.port} --compress -f FIRMWARE.bin`,
            'Or update in two steps: first a minimal sketch with ArduinoOTA, then the big one.',
          ]
        : [
            'ESP32: the image must fit one OTA slot: pick a partition scheme with bigger slots (e.g. min_spiffs), which needs one serial upload.',
            'airflash partitions SCHEME --firmware FIRMWARE.bin   (shows how the image fits)',
          ],
    );
  } else if (code === 'INVALID_BOOTSTRAPPING') {
    add(
      'INVALID_BOOTSTRAPPING',
      0.97,
      'The ESP8266 still runs in the boot mode of the last serial flash: it must be reset once before OTA works',
      ['an ESP8266 refuses updates until it has been reset once (button or power) after a serial upload'],
      ['Press RESET (or power-cycle the board) once, then upload again. Later OTA updates work without it.'],
    );
  } else if (code === 'WRONG_FILE') {
    const ev = imageFacts(f);
    if (/Decryption error/i.test(text))
      ev.push(
        'arduino-esp32 cores with flash-decryption support report a first byte other than 0xE9 as "Decryption error"',
      );
    const fsLike =
      o?.image.command === 0 &&
      o.image.firstByte !== undefined &&
      o.image.firstByte !== 0xe9 &&
      o.image.firstByte !== 0x1f;
    add(
      'WRONG_FILE',
      0.95,
      'The file is not a firmware image for this device (wrong file, a filesystem image, or a merged/factory image)',
      ev,
      [
        'airflash image FILE   (says what the file is)',
        'Upload the app image: .pio/build/ENV/firmware.bin (not bootloader.bin, partitions.bin or a merged/factory .bin).',
        ...(fsLike ? ['A filesystem image (LittleFS/SPIFFS) needs -s / --spiffs.'] : []),
      ],
    );
  } else if (code === 'CORRUPTED_TRANSFER') {
    add(
      'CORRUPTED_TRANSFER',
      0.95,
      'The data arrived corrupted: the MD5 of what the device received differs from the invitation’s',
      [...imageFacts(f), ...(o?.image.md5 ? [`MD5 announced in the invitation: ${o.image.md5}`] : [])],
      [
        `Upload again (airflash upload --retries 2 …); if it repeats, check the link (signal, a VPN) and that the file did not change during the upload.`,
      ],
    );
  } else if (code === 'HOST_CLOSED_EARLY') {
    const t = o?.transfer;
    add(
      'HOST_CLOSED_EARLY',
      0.9,
      'The device saw the connection end before the whole image arrived ("No Error"/"Aborted" is what it prints then)',
      t
        ? [`${t.bytesSent} of ${o?.image.size ?? '?'} bytes were sent; the transfer ended: ${t.end ?? '?'}`]
        : [],
      [
        'Upload again without interrupting it; an antivirus/proxy or a flaky link can also cut the connection.',
      ],
    );
  } else if (code === 'WRONG_FLASH_SIZE') {
    add(
      'WRONG_FLASH_SIZE',
      0.92,
      'The image was built for another flash size than the device really has',
      imageFacts(f),
      [
        'Set the board’s real flash size (Tools → Flash Size, or board_upload.flash_size in PlatformIO) and build again.',
      ],
    );
  } else if (code === 'NO_OTA_PARTITION') {
    add(
      'NO_OTA_PARTITION',
      0.92,
      'The device’s partition table has no partition for this update (no second OTA slot, or no filesystem partition for -s)',
      imageFacts(f),
      [
        'Use a partition scheme with two OTA slots (and a filesystem partition for -s); this needs one serial upload.',
      ],
    );
  } else if (code === 'CANNOT_ACTIVATE') {
    add(
      'CANNOT_ACTIVATE',
      0.9,
      'The device received the image but could not boot from it (image for another chip, or an invalid image)',
      imageFacts(f),
      [
        'airflash image FILE   (check the chip the image was built for)',
        'Build for the right board (esp32, esp32s3, esp32c3 …).',
      ],
    );
  } else if (code === 'SIGNATURE_REQUIRED') {
    add(
      'SIGNATURE_REQUIRED',
      0.92,
      'The device only accepts signed images and this one is not signed with its key',
      imageFacts(f),
      [
        'Sign the image with the project’s key (ESP8266: the build makes FIRMWARE.bin.signed; airflash sends it when present).',
      ],
    );
  } else if (code === 'FLASH_FAILURE') {
    add(
      'FLASH_FAILURE',
      0.85,
      'The device’s flash failed to write/erase/read',
      [],
      ['Upload again; if it repeats, the flash chip or the power supply may be failing.'],
    );
  } else if (code === 'BAD_SIZE') {
    add('BAD_SIZE', 0.85, 'The device refused the announced image size', imageFacts(f), [
      'Check the image file (not empty, not bigger than the OTA slot).',
    ]);
  } else if (code === 'DEVICE_OUT_OF_MEMORY') {
    add(
      'DEVICE_OUT_OF_MEMORY',
      0.85,
      'The device ran out of memory to start the update',
      [],
      ['Free heap on the device (stop other tasks/servers in onStart), then upload again.'],
    );
  } else if (code === 'UPDATE_ALREADY_RUNNING') {
    add(
      'UPDATE_ALREADY_RUNNING',
      0.85,
      'Another update is already running on the device',
      [],
      ['Wait for it to finish (or reset the device), then upload again.'],
    );
  } else if (code === 'NO_DATA') {
    add(
      'NO_DATA',
      0.8,
      'The device connected but received no data',
      [],
      ['Upload again; check that nothing (firewall, proxy) interferes with the TCP connection.'],
    );
  } else if (code === 'WEAK_LINK_STALL') {
    add(
      'WEAK_LINK_STALL',
      0.8,
      'The device waited too long for data',
      [],
      ['Upload again (--retries 2); improve the Wi-Fi link.'],
    );
  } else {
    add('DEVICE_ERROR_TEXT', 0.7, `The device reported an error: ${quote(text)}`, imageFacts(f), [
      'Read the device log (serial monitor) for the Updater message.',
    ]);
  }
  return causes;
}
