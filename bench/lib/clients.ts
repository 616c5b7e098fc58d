/**
 * The reference clients of the benchmark, compiled to JavaScript once per run (tsc, into the
 * run's temporary folder) so that every Node client starts the same way as the built airflash
 * CLI: `node FILE.js`, no TypeScript loader in the timed process.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './procs.ts';

export interface CompiledClients {
  stopAndWait: string;
  stream: string;
  /** bench/esphome-client.ts: espota2.py's method and the streaming limit for ESPHome. */
  esphome: string;
}

/** Compile bench/stop-and-wait.ts, bench/stream-client.ts and bench/esphome-client.ts (with the src/ they import) into `dir`. */
export async function compileClients(dir: string): Promise<CompiledClients> {
  const out = join(dir, 'clients');
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = [
    tsc,
    '-p',
    join(ROOT, 'bench', 'tsconfig.clients.json'),
    '--outDir',
    out,
    '--declaration',
    'false',
    '--declarationMap',
    'false',
    '--sourceMap',
    'false',
  ];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`compiling the bench clients failed:\n${output.slice(-2000)}`);
  // The compiled files are ES modules.
  await writeFile(join(out, 'package.json'), '{ "type": "module" }\n');
  return {
    stopAndWait: join(out, 'bench', 'stop-and-wait.js'),
    stream: join(out, 'bench', 'stream-client.js'),
    esphome: join(out, 'bench', 'esphome-client.js'),
  };
}
