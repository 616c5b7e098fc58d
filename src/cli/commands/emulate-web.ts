/** `airflash emulate --protocol http`: the web-OTA device options (issue 18), spread into emulate's table. */
import type { OptionSpec } from '../options.ts';

export const WEB_EMULATE_HELP = `  --protocol http --profile NAME   a web updater on TCP (default port 80; ESP32 board): NAME is
                      arduino-esp8266, arduino-esp32, elegantota-v2, elegantota-v3, esphome,
                      tasmota or wled; with --user, --password, --web-auth basic|digest|digest-sha256,
                      --firmware-version V, --web-error TEXT, --web-ota-disabled, --web-slow MS,
                      --wled-ota-lock, --wled-pin, --wled-same-subnet, --wled-release NAME
`;

export const WEB_EMULATE_OPTIONS = [
  {
    long: 'profile',
    kind: 'string',
    arg: 'NAME',
    choices: [
      'arduino-esp8266',
      'arduino-esp32',
      'elegantota-v2',
      'elegantota-v3',
      'esphome',
      'tasmota',
      'wled',
    ],
    help: 'http: the web updater emulated',
  },
  { long: 'user', kind: 'string', arg: 'NAME', help: 'http: the web user for --password (default admin)' },
  {
    long: 'web-auth',
    to: 'webAuth',
    kind: 'string',
    arg: 'A',
    choices: ['basic', 'digest', 'digest-sha256'],
    help: 'http: the auth asked for',
  },
  {
    long: 'firmware-version',
    to: 'firmwareVersion',
    kind: 'string',
    arg: 'V',
    help: 'http: version reported before an update',
  },
  {
    long: 'web-error',
    to: 'webError',
    kind: 'string',
    arg: 'TEXT',
    help: 'http: answer this failure text once',
  },
  { long: 'web-ota-disabled', to: 'webOtaDisabled', kind: 'flag', help: 'http esphome: no web_server OTA' },
  {
    long: 'web-slow',
    to: 'webSlowMsPerKiB',
    kind: 'number',
    arg: 'MS',
    help: 'http: extra device ms per KiB',
  },
  { long: 'wled-ota-lock', to: 'wledOtaLock', kind: 'flag', help: 'http wled: OTA locked' },
  { long: 'wled-pin', to: 'wledPin', kind: 'flag', help: 'http wled: settings PIN not entered' },
  {
    long: 'wled-same-subnet',
    to: 'wledSameSubnet',
    kind: 'flag',
    help: 'http wled: updates from its /24 only',
  },
  {
    long: 'wled-release',
    to: 'wledRelease',
    kind: 'string',
    arg: 'NAME',
    help: 'http wled: its release name',
  },
] as const satisfies readonly OptionSpec[];
