import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AirflashError, EXIT } from '../../core/errors.ts';
import { formatFlashSize } from '../../formats/index.ts';
import { parseCommandArgs } from '../options.ts';
import { safeBlock, safeJson, safeText } from '../render/safe-text.ts';
import { SERIAL_COMMON_OPTIONS, serialOptionsFrom } from '../serial-options.ts';
import type { CliIO } from '../types.ts';

const OPTIONS = [
  ...SERIAL_COMMON_OPTIONS,
  {
    long: 'firmware',
    kind: 'string',
    arg: 'FILE',
    complete: 'file',
    help: 'show how FILE fits the OTA slot',
  },
] as const;

/** A CliIO whose stdout is collected (the file form's output, re-labelled). */
function capture(io: CliIO): { io: CliIO; text(): string } {
  const chunks: Buffer[] = [];
  const stdout = new Writable({
    write(chunk: Buffer | string, _e, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  return { io: { ...io, stdout }, text: () => Buffer.concat(chunks).toString('utf8') };
}

/**
 * `airflash partitions --port PORT [--firmware FILE] [--json]`: the table read off the board,
 * explained by the file form of `airflash partitions` (with the board's real flash size), then
 * what otadata makes the bootloader run and what the other app slots hold.
 */
export async function runPartitionsPort(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS, 'partitions');
  if (positionals.length > 0)
    throw new AirflashError(
      'BAD_ARGUMENT',
      'With --port the table comes from the board: name no table file.',
    );
  const options = serialOptionsFrom(values, io, 'partitions');
  const { readPartitionsSerial } = await import('../../protocols/serial/index.ts');
  const board = await readPartitionsSerial(options);
  const dir = await mkdtemp(join(tmpdir(), 'airflash-table-'));
  try {
    const file = join(dir, 'partitions.bin');
    await writeFile(file, board.tableBytes.subarray(0, 0xc00));
    const { command } = await import('./partitions.ts');
    const inner = capture(io);
    const args = [
      file,
      ...(board.chip.flashSize ? ['--flash-size', formatFlashSize(board.chip.flashSize)] : []),
    ];
    if (values.firmware !== undefined) args.push('--firmware', String(values.firmware));
    if (values.json === true) args.push('--json');
    const code = await command.run(args, inner.io);
    const where = `the board on ${board.port}`;
    const boardFacts = {
      port: board.port,
      chip: board.chip.description,
      flashSize: board.chip.flashSize,
      ...(board.bootSlot ? { bootSlot: board.bootSlot } : {}),
      otadata:
        board.otadata === undefined ? 'none' : board.otadata.every((b) => b === 0xff) ? 'blank' : 'set',
      apps: board.apps,
      summary: board.summary,
    };
    if (values.json === true) {
      const parsed = JSON.parse(inner.text()) as Record<string, unknown>;
      io.stdout.write(`${safeJson({ ...parsed, source: where, board: boardFacts })}\n`);
    } else {
      io.stdout.write(safeBlock(inner.text().split(file).join(where)));
      io.stdout.write(`${safeText(`On the board: ${board.summary}.`)}\n`);
    }
    return code === EXIT.ok ? EXIT.ok : code;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
