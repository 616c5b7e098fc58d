import type { OptionSpec } from './options.ts';

/**
 * `airflash dashboard`'s options. The dashboard command (commands/dashboard.ts) still reads its
 * arguments itself; the CLI checks them against this table first, so an unknown option gets the
 * same message as everywhere else and the completion knows them.
 */
export const DASHBOARD_OPTIONS = [
  { long: 'port', kind: 'number', arg: 'N', help: 'port to listen on (default 8080; 0 picks a free one)' },
  { long: 'host', kind: 'string', arg: 'ADDR', help: 'address to bind (default 127.0.0.1)' },
  { long: 'token', kind: 'string', arg: 'T', help: 'secret every request must carry ("auto": random)' },
  {
    long: 'state',
    kind: 'string',
    arg: 'DIR',
    complete: 'dir',
    help: 'where passwords, devices and history live',
  },
  { long: 'devices', kind: 'string', arg: 'FILE', complete: 'file', help: 'devices file' },
  { long: 'no-mdns', kind: 'flag', help: 'do not browse mDNS for devices' },
  { long: 'demo', kind: 'flag', help: 'start a dozen emulated devices and show them' },
  { long: 'parallel', kind: 'number', arg: 'N', help: 'devices updated at once (default 4)' },
  { long: 'invite-timeout', kind: 'number', arg: 'S', help: 'seconds before a device is offline' },
  { long: 'help', short: 'h', kind: 'flag', help: 'show this help' },
] as const satisfies readonly OptionSpec[];
