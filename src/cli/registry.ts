import { DASHBOARD_OPTIONS } from './dashboard-options.ts';
import type { OptionSpec } from './options.ts';
import type { Command } from './types.ts';

export interface RegisteredCommand {
  summary: string;
  load: () => Promise<Command>;
  /** For a command that parses its arguments itself: the table they are checked against first. */
  check?: readonly OptionSpec<string>[];
}

/** Every CLI command, loaded lazily so `airflash --help` stays fast. */
export const COMMANDS: Record<string, RegisteredCommand> = {
  upload: {
    summary: 'Upload a firmware or filesystem image (espota.py compatible; fleets too)',
    load: async () => (await import('./commands/upload.ts')).command,
  },
  emulate: {
    summary: 'Run emulated ESP32/ESP8266 ArduinoOTA devices on loopback',
    load: async () => (await import('./commands/emulate.ts')).command,
  },
  demo: {
    summary: 'Upload a generated firmware to an emulated ESP32 and watch it boot',
    load: async () => (await import('./commands/demo.ts')).command,
  },
  partitions: {
    summary: 'Show, convert and check a partition table (why is my app slot 1280 KiB?)',
    load: async () => (await import('./commands/partitions.ts')).command,
  },
  image: {
    summary: 'Inspect a firmware image: what it is, for which chip, and whether it is intact',
    load: async () => (await import('./commands/image.ts')).command,
  },
  probe: {
    summary: 'Ask a device what OTA service it runs, without changing its firmware',
    load: async () => (await import('./commands/probe.ts')).command,
  },
  doctor: {
    summary: 'Check a PlatformIO project and its devices for OTA problems',
    load: async () => (await import('./commands/doctor.ts')).command,
  },
  discover: {
    summary: 'Find ArduinoOTA devices with mDNS',
    load: async () => (await import('./commands/discover.ts')).command,
  },
  dashboard: {
    summary: 'Serve a local web dashboard to see and update every device',
    load: async () => {
      const { command } = await import('./commands/dashboard.ts');
      return { ...command, options: DASHBOARD_OPTIONS };
    },
    check: DASHBOARD_OPTIONS,
  },
  completion: {
    summary: 'Print a shell completion script: airflash completion bash|zsh|fish',
    load: async () => (await import('./commands/completion.ts')).command,
  },
  // USB serial (src/protocols/serial/)
  ports: {
    summary: 'List serial ports with their USB ids (CP210x, CH340, FTDI, ESP USB-JTAG)',
    load: async () => (await import('./commands/ports.ts')).command,
  },
  chip: {
    summary: 'Show the chip, MAC and real flash size of a board on a serial port',
    load: async () => (await import('./commands/chip.ts')).command,
  },
  flash: {
    summary: 'Flash a board over USB serial (first flash, partitions): pre-flight, MD5 verify',
    load: async () => (await import('./commands/flash.ts')).command,
  },
  erase: {
    summary: 'Erase the flash (whole chip or a region) over USB serial',
    load: async () => (await import('./commands/erase.ts')).command,
  },
};
