/**
 * Docs that run: every fenced code block of README.md and docs/*.md is run or checked against
 * the package as a user gets it (a build of it, `import 'airflash'` resolved through its own
 * `exports`), and every relative link and `.md` mention resolves.
 *
 * - `js` / `mjs`: run with node (exit 0), from a scratch folder; `js no-run`: `node --check`.
 * - `sh`: run with bash (`set -e`, exit 0, nothing left running) in a scratch folder, where
 *   `airflash` and `npx airflash` run the package's bin; `sh no-run` (a real device, a long-running server, npm
 *   itself): `bash -n`. Only loopback is used: the runnable blocks talk to emulated devices.
 * - `ts`: type-checked with tsc (strict) against the package's types.
 * - `json`: parsed (a document, or one value per line).
 * - text, ini, properties and blocks without a language are output and config samples.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  blockName,
  buildPackageCopy,
  type CodeBlock,
  codeBlocks,
  markdownFiles,
  ROOT,
  run,
  TSC,
} from './helpers/docs-blocks.ts';

const BLOCKS = markdownFiles().flatMap((f) => codeBlocks(f));
const KNOWN = new Set(['', 'text', 'sh', 'js', 'mjs', 'ts', 'json', 'ini', 'properties']);
const KNOWN_FLAGS = new Set(['no-run']);
const BLOCK_TIMEOUT_MS = 120_000;

const where = (b: CodeBlock): string => `${b.file}:${b.line}`;
const noRun = (b: CodeBlock): boolean => b.flags.includes('no-run');

/** Whether any process of the group `pgid` is still alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Run a bash script in its own process group. A script that leaves a process running (a
 * background emulator it did not stop) fails: what it left is killed and reported.
 */
function runShell(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pgid = child.pid as number;
    let out = '';
    const add = (c: Buffer): void => {
      if (out.length < 200_000) out += c.toString();
    };
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    const killGroup = (): void => {
      if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
    };
    const timer = setTimeout(() => {
      out += `\n[docs-run: killed after ${BLOCK_TIMEOUT_MS / 1000} s]`;
      killGroup();
    }, BLOCK_TIMEOUT_MS);
    child.on('exit', async (code, signal) => {
      clearTimeout(timer);
      let status = code ?? (signal ? 128 : 1);
      const deadline = Date.now() + 5000;
      while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (groupAlive(pgid)) {
        out += '\n[docs-run: the script left processes running]';
        status = status === 0 ? 1 : status;
        killGroup();
      }
      resolve({ code: status, out });
    });
  });
}

/**
 * `airflash` and `npx airflash` run the package's bin, as after `npm install` in a clone: small
 * scripts on PATH that exec node, so `$!` of a background `npx airflash …` is that node process.
 */
function shellBin(pkg: string): string {
  const bin = join(pkg, 'docs-bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'airflash'),
    `#!/bin/sh\nexec "${process.execPath}" "${pkg}/bin/airflash.js" "$@"\n`,
    {
      mode: 0o755,
    },
  );
  writeFileSync(
    join(bin, 'npx'),
    '#!/bin/sh\n[ "$1" = airflash ] || { echo "docs-run: npx $1 is not available here (offline)" >&2; exit 127; }\nshift\nexec airflash "$@"\n',
    { mode: 0o755 },
  );
  return bin;
}

describe('docs: every code block runs or is checked', () => {
  let dir = '';
  let pkg = '';
  let bin = '';
  let tsErrors = new Map<string, string>();
  let scratch = 0;
  const workdir = (): string => {
    const w = join(pkg, `work-${scratch++}`);
    mkdirSync(w);
    return w;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'airflash-docs-run-'));
    pkg = await buildPackageCopy(dir);
    bin = shellBin(pkg);
    // Type-check every ts block in one tsc run; errors are sorted back to their block.
    const tsBlocks = BLOCKS.filter((b) => b.lang === 'ts');
    const blocksDir = join(pkg, 'docs-blocks');
    mkdirSync(blocksDir);
    const files = tsBlocks.map((b) => {
      const name = `${blockName(b)}.ts`;
      const isModule = /^\s*(import|export)\s/m.test(b.code);
      writeFileSync(join(blocksDir, name), isModule ? b.code : `${b.code}export {};\n`);
      return name;
    });
    writeFileSync(
      join(blocksDir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: 'ES2023',
          lib: ['ES2023'],
          module: 'nodenext',
          moduleResolution: 'nodenext',
          types: ['node'],
          noEmit: true,
          skipLibCheck: true,
        },
        files,
      }),
    );
    const checked = await run(
      process.execPath,
      [TSC, '-p', join(blocksDir, 'tsconfig.json'), '--pretty', 'false'],
      {
        cwd: blocksDir,
        timeoutMs: 200_000,
      },
    );
    tsErrors = new Map();
    for (const line of checked.out.split('\n')) {
      const m = /^(\S+?\.ts)\(/.exec(line);
      if (m) tsErrors.set(m[1] as string, `${tsErrors.get(m[1] as string) ?? ''}${line}\n`);
    }
    if (checked.code !== 0 && tsErrors.size === 0) throw new Error(`tsc failed:\n${checked.out}`);
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds the blocks, and every language and flag is one this test knows', () => {
    assert.ok(BLOCKS.length > 40, `only ${BLOCKS.length} blocks found`);
    for (const b of BLOCKS) {
      assert.ok(KNOWN.has(b.lang), `${where(b)}: no checker for \`${b.lang}\` blocks`);
      for (const f of b.flags) assert.ok(KNOWN_FLAGS.has(f), `${where(b)}: unknown flag "${f}"`);
    }
    assert.ok(
      BLOCKS.some((b) => b.lang === 'sh' && !noRun(b)),
      'at least one shell block runs (the emulator walk-through in the README)',
    );
  });

  for (const b of BLOCKS) {
    if (b.lang === 'js' || b.lang === 'mjs') {
      it(`${where(b)} (${b.lang}${noRun(b) ? ', syntax only' : ''})`, async () => {
        const file = join(pkg, 'docs-blocks', `${blockName(b)}.mjs`);
        writeFileSync(file, b.code);
        const r = noRun(b)
          ? await run(process.execPath, ['--check', file], { cwd: pkg, timeoutMs: 30_000 })
          : await run(process.execPath, [file], { cwd: workdir(), timeoutMs: BLOCK_TIMEOUT_MS });
        assert.equal(r.code, 0, `${where(b)} failed:\n${r.out}`);
      });
    } else if (b.lang === 'sh') {
      it(`${where(b)} (sh${noRun(b) ? ', syntax only' : ''})`, async () => {
        const r = noRun(b)
          ? await run('bash', ['-n', '-c', b.code], { cwd: pkg, timeoutMs: 30_000 })
          : await runShell(`set -eo pipefail\n${b.code}`, workdir(), {
              ...process.env,
              PATH: `${bin}:${process.env['PATH'] ?? ''}`,
            });
        assert.equal(r.code, 0, `${where(b)} failed:\n${r.out}`);
      });
    } else if (b.lang === 'ts') {
      it(`${where(b)} (ts, type-checked)`, () => {
        const errors = tsErrors.get(`${blockName(b)}.ts`);
        assert.equal(errors, undefined, `${where(b)} does not type-check:\n${errors}`);
      });
    } else if (b.lang === 'json') {
      it(`${where(b)} (json, parsed)`, () => {
        try {
          JSON.parse(b.code);
        } catch {
          // JSON lines: one value per line.
          for (const [i, line] of b.code.split('\n').entries()) {
            if (line.trim() === '') continue;
            assert.doesNotThrow(() => JSON.parse(line), `${b.file}:${b.line + 1 + i} is not JSON`);
          }
        }
      });
    }
  }
});

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(file: string): Set<string> {
  const text = readFileSync(join(ROOT, file), 'utf8').replace(/^ *```[\s\S]*?^ *```/gm, '');
  return new Set([...text.matchAll(/^#{1,6} +(.+)$/gm)].map((m) => slug(m[1] as string)));
}

describe('docs: links and references resolve', () => {
  for (const file of markdownFiles()) {
    it(`${file}: every relative link, anchor and .md mention points at something in the repository`, () => {
      const text = readFileSync(join(ROOT, file), 'utf8');
      const prose = text.replace(/^ *```[\s\S]*?^ *```/gm, '');
      const base = dirname(join(ROOT, file));
      const problems: string[] = [];
      for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1] as string;
        if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
        const [path = '', anchor] = target.split('#');
        const resolved = path === '' ? join(ROOT, file) : join(base, path);
        if (!existsSync(resolved)) problems.push(`link ${target}: no such file`);
        else if (anchor !== undefined && resolved.endsWith('.md')) {
          const rel = resolved.slice(ROOT.length).replace(/^\/+/, '');
          if (!anchors(rel).has(anchor)) problems.push(`link ${target}: no such heading`);
        }
      }
      // A document named in the text (not as a link) must exist too: docs/x.md, or x.md next to it.
      for (const m of prose.matchAll(/(?<![\w/.-])((?:[\w.-]+\/)*[\w.-]+\.md)\b/g)) {
        const name = m[1] as string;
        if (!existsSync(join(base, name)) && !existsSync(join(ROOT, name))) {
          problems.push(`mentions ${name}, which is not in the repository`);
        }
      }
      assert.deepEqual(problems, [], `${file}:\n${problems.join('\n')}`);
    });
  }
});
