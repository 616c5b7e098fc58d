/**
 * Where the upload's memory goes (issue 12): RSS, its high-water mark and process.memoryUsage()
 * at the phases of one `airflash upload` run in this process over the built CLI (dist/), plain
 * JavaScript so no loader is measured with it. Start a device first, e.g.
 *   node bin/airflash.js emulate --core esp32 --address 127.0.60.1 --port 4444 --flash-size 64MB \
 *     --partitions P.csv --time-scale 0.05 &
 *   node bench/memory-phases.mjs 127.0.60.1 4444 IMAGE.bin P.csv
 * (inside `nsrun bash -c '…'` for both). The bench's memory section (bench/lib/memory.ts) measures
 * the whole process from outside; this shows which phase adds what.
 */
import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

const MiB = 1024 * 1024;
const [host, port, file, partitions] = process.argv.slice(2);
if (file === undefined || partitions === undefined) {
  process.stderr.write('usage: node bench/memory-phases.mjs HOST PORT IMAGE PARTITIONS\n');
  process.exit(2);
}
const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
const mark = (label) => {
  const m = process.memoryUsage();
  const f = (n) => (n / MiB).toFixed(1);
  process.stderr.write(
    `${label.padEnd(20)} rss ${f(m.rss)} MiB  peak ${hwm().toFixed(1)}  heapTotal ${f(m.heapTotal)}  heapUsed ${f(m.heapUsed)}  external ${f(m.external)}  arrayBuffers ${f(m.arrayBuffers)}\n`,
  );
};

mark('node started');
const { runCli } = await import('../dist/cli/main.js');
mark('CLI entry loaded');
await import('../dist/cli/commands/upload.js');
mark('upload loaded');
let result = '';
const code = await runCli(
  ['upload', '-i', host, '-p', port, '-f', file, '--partitions', partitions, '--json'],
  {
    stdout: {
      write: (s) => {
        if (s.includes('"type":"result"')) result = s.trim();
        return true;
      },
    },
    stderr: { write: () => true },
    env: process.env,
    cwd: process.cwd(),
    isTTY: false,
    signal: new AbortController().signal,
  },
);
mark(`uploaded (exit ${code})`);
for (const s of getHeapSpaceStatistics())
  if (s.space_size > 0)
    process.stderr.write(`  ${s.space_name.padEnd(22)} ${(s.space_size / MiB).toFixed(2)} MiB\n`);
process.stderr.write(`${result.slice(0, 160)}\n`);
