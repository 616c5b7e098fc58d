/** Invitation command codes (protocol.md §2.1). Same numbers on both cores. */
export const COMMAND = {
  /** Application firmware (U_FLASH). */
  flash: 0,
  /** Filesystem image (U_FS / U_SPIFFS / U_FLASHFS). */
  filesystem: 100,
  /** Auth reply, only valid while the device waits for it (U_AUTH). */
  auth: 200,
} as const;

export type InvitationCommand = typeof COMMAND.flash | typeof COMMAND.filesystem;

/** The three device generations airflash speaks to. */
export type CoreKind = 'esp32' | 'esp32-legacy' | 'esp8266';

export const CORES: readonly CoreKind[] = ['esp32', 'esp32-legacy', 'esp8266'];

/** ESP32 and ESP8266 devices read at most this many bytes per pass (one TCP MSS). */
export const DEVICE_READ_SIZE = 1460;
