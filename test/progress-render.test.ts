/** The CLI renders progress from what the device confirmed, and says when it is writing to flash. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createRenderer, type OutputMode } from '../src/cli/render/progress.ts';
import type { UploadEvent } from '../src/upload/index.ts';

function render(mode: OutputMode, events: UploadEvent[]): { out: string; err: string } {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer, _e, cb) {
        add(chunk.toString());
        cb();
      },
    });
  const r = createRenderer({
    stdout: sink((s) => {
      out += s;
    }),
    stderr: sink((s) => {
      err += s;
    }),
    mode,
    label: '127.0.0.1:8266',
  });
  for (const e of events) r.event(e);
  return { out, err };
}

const TOTAL = 1_000_000;
const events: UploadEvent[] = [
  { type: 'phase', phase: 'transfer' },
  { type: 'progress', bytes: 0, total: TOTAL, sent: 0, stage: 'sending' },
  { type: 'progress', bytes: 500_000, total: TOTAL, sent: 565_536, stage: 'sending' },
  { type: 'progress', bytes: 934_464, total: TOTAL, sent: TOTAL, stage: 'flashing' },
  { type: 'progress', bytes: TOTAL, total: TOTAL, sent: TOTAL, stage: 'flashing' },
];

describe('progress rendering', () => {
  it('plain lines: percent of the confirmed bytes, one line when the device writes what it holds', () => {
    const { err } = render('plain', events);
    assert.match(err, /Uploading: 50% \(488\.3 KiB of 976\.6 KiB confirmed\)/);
    assert.match(
      err,
      /All 976\.6 KiB sent; the device confirmed 912\.6 KiB and is writing the rest it holds to flash/,
    );
    assert.equal(err.match(/is writing the rest/g)?.length, 1);
    assert.match(err, /Uploading: 100%/);
  });

  it('bar: "confirmed", and the flashing state once everything was sent', () => {
    const { err } = render('bar', events);
    assert.match(
      err,
      / 93%\s+912\.6 KiB \/ 976\.6 KiB confirmed {2}all sent; the device is writing what it holds to flash/,
    );
    assert.match(err, /100%\s+976\.6 KiB \/ 976\.6 KiB confirmed/);
  });

  it('json: progress objects carry sent and stage', () => {
    const { out } = render('json', events);
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines[3], {
      type: 'progress',
      bytes: 934_464,
      total: TOTAL,
      sent: TOTAL,
      stage: 'flashing',
    });
  });

  it('debug events are single lines with control characters escaped', () => {
    const { err } = render('plain', [
      { type: 'debug', at: 1234, text: 'tcp ← 3 bytes "a\u001b[2Jb\u009b\n"' },
    ]);
    assert.equal(err, '  +1.234s tcp ← 3 bytes "a\\x1b[2Jb\\u009b\\n"\n');
  });
});
