import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AirflashError, EXIT } from '../../core/errors.ts';
import { startDashboard as startDashboardServer } from '../../dashboard/index.ts';
import { randomToken } from '../../dashboard/server.ts';
import { setupSources } from '../../dashboard/sources.ts';
import { safeBlock } from '../render/safe-text.ts';
import type { Command } from '../types.ts';

const HELP = `Usage: airflash dashboard [options]

Serve a local web page that lists every device (mDNS, the devices file, and ones you add) and
updates them: pick a firmware, see whether it fits each device, update with live progress, retry
the failed ones, look at the history. The first line printed is the page's URL.

Options:
  --port N             port to listen on (default 8080; 0 picks a free one)
  --host ADDR          address to bind (default 127.0.0.1). Any other address, 127.0.0.2
                       included, requires --token.
  --token T            secret every request must carry; "auto" makes a random one. Also read
                       from AIRFLASH_DASHBOARD_TOKEN. The printed URL carries it once
                       (?token=), the page then keeps it in a same-site cookie.
  --state DIR          where passwords (mode 0600), devices you add and the history live
                       (default ~/.airflash, or AIRFLASH_STATE_DIR; with --demo a temporary
                       folder removed at exit)
  --devices FILE       devices file (default ./airflash.devices.json when it exists; with
                       --demo only a file named here)
  --no-mdns            do not browse mDNS for devices
  --mdns               browse mDNS on the network also with --demo
  --demo               start a dozen emulated devices on 127.0.0.x and show them, in a world
                       of their own: no devices file, no mDNS from the network and no saved
                       passwords unless --devices, --mdns or --state asks for them
  --parallel N         default number of devices updated at once (default 4)
  --invite-timeout S   seconds to wait for a device to answer before calling it offline
                       (default 10; 6 with --demo)

Runs until Ctrl-C. Exit codes: 0 stopped normally, 2 usage error, 1 could not start.
Examples:
  airflash dashboard
  airflash dashboard --demo --port 0
  airflash dashboard --host 0.0.0.0 --token auto
`;

export const command: Command = {
  name: 'dashboard',
  summary: 'Serve a local web dashboard to see and update every device',
  help: HELP,
  async run(argv, io) {
    let parsed: ReturnType<typeof parse>;
    try {
      parsed = parse(argv);
    } catch (error) {
      throw new AirflashError('BAD_ARGUMENT', error instanceof Error ? error.message : String(error), {
        hint: 'Run "airflash dashboard --help" for the options.',
      });
    }
    const v = parsed.values;
    const port = v.port === undefined ? 8080 : Number(v.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new AirflashError(
        'BAD_ARGUMENT',
        `--port must be a whole number from 0 to 65535, not "${v.port}".`,
      );
    }
    const parallel = v.parallel === undefined ? undefined : Number(v.parallel);
    if (parallel !== undefined && (!Number.isInteger(parallel) || parallel < 1 || parallel > 64)) {
      throw new AirflashError('BAD_ARGUMENT', '--parallel must be a whole number from 1 to 64.');
    }
    const inviteSeconds = v['invite-timeout'] === undefined ? undefined : Number(v['invite-timeout']);
    if (inviteSeconds !== undefined && !(inviteSeconds > 0)) {
      throw new AirflashError('BAD_ARGUMENT', '--invite-timeout must be a positive number of seconds.');
    }
    let token = v.token ?? io.env['AIRFLASH_DASHBOARD_TOKEN'];
    if (token === 'auto') token = randomToken();
    const demo = v.demo === true;
    // The demo keeps its history away from yours, in a folder removed at exit.
    const demoState =
      demo && v.state === undefined ? await mkdtemp(join(tmpdir(), 'airflash-demo-')) : undefined;
    const stateDir = v.state ?? demoState;
    // Emulated devices answer at once or never: no need to wait 20 s for the offline one.
    const inviteMs = inviteSeconds === undefined ? (demo ? 6000 : undefined) : inviteSeconds * 1000;
    let dashboard: Awaited<ReturnType<typeof startDashboardServer>>;
    try {
      dashboard = await startDashboardServer({
        port,
        ...(v.host === undefined ? {} : { host: v.host }),
        ...(token === undefined ? {} : { token }),
        ...(stateDir === undefined ? {} : { stateDir }),
        ...(parallel === undefined ? {} : { parallel }),
        ...(inviteMs === undefined ? {} : { inviteTimeoutMs: inviteMs }),
        env: io.env,
      });
    } catch (error) {
      if (demoState !== undefined) await rm(demoState, { recursive: true, force: true });
      throw error;
    }
    if (demoState !== undefined) dashboard.onClose(() => rm(demoState, { recursive: true, force: true }));
    try {
      const notes = await setupSources(dashboard, {
        cwd: io.cwd,
        demo,
        ...(v['no-mdns'] === true ? { mdns: false } : v.mdns === true ? { mdns: true } : {}),
        ...(v.devices === undefined ? {} : { devicesFile: v.devices }),
      });
      // The URL only once every source is loaded: whoever opens it sees the whole list.
      io.stdout.write(`${dashboard.url}\n`);
      io.stderr.write(`airflash dashboard: state in ${dashboard.store.dir}\n`);
      for (const note of notes) io.stderr.write(`airflash dashboard: ${safeBlock(note)}\n`);
      io.stderr.write('airflash dashboard: press Ctrl-C to stop.\n');
      await new Promise<void>((resolve) => {
        if (io.signal.aborted) resolve();
        else io.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      io.stderr.write('airflash dashboard: stopping.\n');
    } finally {
      await dashboard.close();
    }
    return EXIT.ok;
  },
};

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: false,
    strict: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      token: { type: 'string' },
      state: { type: 'string' },
      devices: { type: 'string' },
      'no-mdns': { type: 'boolean' },
      mdns: { type: 'boolean' },
      demo: { type: 'boolean' },
      parallel: { type: 'string' },
      'invite-timeout': { type: 'string' },
    },
  });
}
