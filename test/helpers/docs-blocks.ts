/**
 * For test/docs-run.test.ts: the fenced code blocks of README.md and docs/*.md, and a built copy
 * of the package in a temporary folder where `import('airflash')` resolves through the
 * package's own `exports` (self-reference), as it does in a clone after `npm install`.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The markdown files whose blocks are checked, relative to the repository root. */
export function markdownFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

export interface CodeBlock {
  /** Markdown file, relative to the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** First word of the info string ('' when there is none). */
  lang: string;
  /** The other words of the info string, e.g. `no-run`. */
  flags: string[];
  code: string;
}

/** Every fenced block (``` fences, possibly indented as in a list item), in order. */
export function codeBlocks(file: string, text = readFileSync(join(ROOT, file), 'utf8')): CodeBlock[] {
  const lines = text.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)```(.*)$/.exec(lines[i] as string);
    if (!open) continue;
    const indent = (open[1] as string).length;
    const [lang = '', ...flags] = (open[2] as string).trim().split(/\s+/).filter(Boolean);
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !/^ *```\s*$/.test(lines[j] as string)) {
      body.push(
        (lines[j] as string).slice(Math.min(indent, /^ */.exec(lines[j] as string)?.[0].length ?? 0)),
      );
      j++;
    }
    if (j >= lines.length) throw new Error(`${file}:${i + 1}: a code fence that is never closed`);
    blocks.push({ file, line: i + 1, lang, flags, code: `${body.join('\n')}\n` });
    i = j;
  }
  return blocks;
}

/** A file-name-safe label for a block: `README.md-L237`. */
export function blockName(b: CodeBlock): string {
  return `${b.file.replace(/[^\w.-]+/g, '_')}-L${b.line}`;
}

export function run(
  command: string,
  args: string[],
  options: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<{ code: number; out: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        timeout: options.timeoutMs,
        env: options.env ?? process.env,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, out: `${stdout}${stderr}`, stdout });
      },
    );
  });
}

export const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/**
 * A package folder in `dir`: package.json and bin/ copied, dist/ built from src/ with the
 * project's tsconfig.build.json, src/ and node_modules/ linked (the dashboard's static files;
 * @types/node for type checks). Returns its path.
 */
export async function buildPackageCopy(dir: string): Promise<string> {
  const pkg = join(dir, 'pkg');
  mkdirSync(join(pkg, 'bin'), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  for (const f of readdirSync(join(ROOT, 'bin'))) copyFileSync(join(ROOT, 'bin', f), join(pkg, 'bin', f));
  symlinkSync(join(ROOT, 'src'), join(pkg, 'src'));
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  const built = await run(
    process.execPath,
    [TSC, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')],
    { cwd: ROOT, timeoutMs: 200_000 },
  );
  if (built.code !== 0) throw new Error(`tsc build failed:\n${built.out}`);
  return pkg;
}
