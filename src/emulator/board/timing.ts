/**
 * The emulator's timing model: every fixed delay and flash cost an emulated device spends, in
 * milliseconds of device time (multiplied by `timeScale`). The benchmark's `idealUploadTime()`
 * is computed from these same numbers (docs/emulator.md "Timing model").
 *
 * Flash figures. Sources:
 * - Winbond W25Q32JV datasheet (the 4 MB part on most ESP32/ESP8266 modules), AC characteristics:
 *   sector erase (4 KiB) tSE typ. 45 ms; 64 KiB block erase tBE2 typ. 150 ms, max. 2000 ms.
 * - adafruit/tinyuf2 PR #86 (2021, ESP32-S2, measured): 64.5 KB/s writing with 4 KiB sector erase,
 *   129 KB/s with 64 KiB block erase (field-notes.md §2.12a).
 * - espressif/arduino-esp32 PR #7002 (2022): the Update library's 64 KiB block erase; ~1 MiB OTA
 *   9.8 s on ESP32 end to end (field-notes.md §2.12a).
 * The program rate and the block-erase time are fitted so that the model reproduces tinyuf2's two
 * measured rates exactly, with the datasheet's 45 ms sector erase:
 *   sector path: 45 ms + 4096 B / 240 B/ms = 62.1 ms per 4 KiB  → 66 KB/s
 *   block path:  235 ms + 65536 B / 240 B/ms = 508 ms per 64 KiB → 129 KB/s
 * (235 ms lies inside the datasheet's 150…2000 ms block-erase range; real parts are slower than
 * "typical" once the SPI flash driver's cache-disable overhead is included.)
 * ESP8266: no published OTA throughput figure was found; the same flash chips are used, and its
 * Updater erases sector by sector (cores/esp8266/Updater.cpp `_writeBuffer`), so the sector path
 * applies (≈ 66 KB/s). This is an assumption of the model.
 */
export const TIMING_MODEL = {
  flash: {
    /** Erase of one 4 KiB sector (W25Q32JV tSE typ.). */
    sectorEraseMs: 45,
    /** Erase of one 64 KiB block (fitted to tinyuf2's 129 KB/s, within W25Q32JV tBE2 range). */
    blockEraseMs: 235,
    /** Page-program throughput in bytes per millisecond (fitted to tinyuf2's 64.5 KB/s). */
    writeBytesPerMs: 240,
    sectorSize: 4096,
    blockSize: 65536,
  },
  /** ESP32 ArduinoOTA (protocol.md §4.3–§4.5). */
  esp32: {
    /** `_ota_timeout` default: the receive wait per pass. */
    receiveTimeoutMs: 1000,
    /** Re-sends of the last count before "Receive Failed". */
    receiveRetries: 3,
    /** After `OK`: `delay(10)` then, when rebooting, `delay(100)` before `ESP.restart()`. */
    afterOkMs: 10,
    beforeRestartMs: 100,
    /** After an end error: `delay(10)`. */
    afterErrorMs: 10,
    /** Time from `ESP.restart()` until `ArduinoOTA.begin()` listens again (ASSUMPTION A9). */
    bootMs: 600,
    /** Device read size per pass: ArduinoOTA.cpp `_runUpdate()` `static uint8_t buf[1460]`. */
    readSize: 1460,
    /**
     * `Update.end()` before `OK` (cmd 0): `_verifyEnd()` → `esp_ota_set_boot_partition()`, which
     * runs `esp_image_verify()` (reads the whole image back through the flash cache and hashes it
     * with SHA-256) and rewrites one otadata sector (erase + program). ASSUMPTION (docs/emulator.md
     * A7): read back + hash at 4 bytes/µs (≈ 4 MB/s; 40 MHz DIO flash reads at 10 MB/s raw, less
     * cache-miss and SHA overhead), plus one sector erase; a filesystem update has no check.
     */
    endVerifyBytesPerMs: 4000,
  },
  /** ESP8266 ArduinoOTA (protocol.md §4.1, §4.4, §11.3–§11.4). */
  esp8266: {
    /** `delay(100)` between `OK` and the TCP connect (OBS: ≈ 100 ms). */
    beforeConnectMs: 100,
    /** `delay(100)` after a UDP `ERR:` reply. */
    afterBeginErrorMs: 100,
    /** Success tail: flush, delay 1000, `OK`, flush, delay 1000, close (esp8266 PR #7204). */
    beforeOkMs: 1000,
    afterOkMs: 1000,
    /** After the close: `delay(100)` before `ESP.restart()` (OBS: ≈ 0.1 s). */
    beforeRestartMs: 100,
    /** Wait for more data inside one drain (`Update.write(client)` loops with 1 ms pauses). */
    drainIdleMs: 1,
    /** Time from `ESP.restart()` until the sketch listens again (ASSUMPTION A9). */
    bootMs: 500,
  },
  /** lwIP default TCP receive window of the ESP32 (CONFIG_LWIP_TCP_WND_DEFAULT = 5744). */
  defaultWindow: 5744,
  /** With loopMs 0, handle() runs "continuously": modelled as right after each event. */
  idleHandleMs: 0,
} as const;

export type TimingModel = typeof TIMING_MODEL;

/** Milliseconds of flash work for writing `length` bytes that start a fresh 4 KiB sector run. */
export function flashProgramMs(length: number): number {
  return length / TIMING_MODEL.flash.writeBytesPerMs;
}

/** Device ms `Update.end()` spends before the ESP32 sends `OK` (200 KB ≈ 95 ms, 1.3 MB ≈ 375 ms). */
export function esp32EndMs(size: number, command: number): number {
  if (command !== 0) return 0;
  return size / TIMING_MODEL.esp32.endVerifyBytesPerMs + TIMING_MODEL.flash.sectorEraseMs;
}
