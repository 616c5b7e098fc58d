/**
 * `airflash completion bash|zsh|fish`: generated from the commands' option tables, so every
 * command and every (visible) option of every table is in each script; the bash script parses.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { completionCommands } from '../src/cli/commands/completion.ts';
import { COMMANDS } from '../src/cli/registry.ts';
import { runCliInMemory } from './helpers/cli-io.ts';

const run = promisify(execFile);

describe('airflash completion', () => {
  it('each shell script lists every command and every option of the specs', async () => {
    const commands = await completionCommands();
    assert.deepEqual(
      commands.map((c) => c.name),
      Object.keys(COMMANDS),
    );
    for (const shell of ['bash', 'zsh', 'fish']) {
      const r = await runCliInMemory(['completion', shell]);
      assert.equal(r.code, 0, r.stderr);
      for (const c of commands) {
        assert.ok(r.stdout.includes(c.name), `${shell}: command ${c.name}`);
        assert.ok(c.options.length > 0, `${c.name} declares its options`);
        for (const o of c.options.filter((x) => !x.hidden)) {
          const long = shell === 'fish' ? `-l ${o.long}` : `--${o.long}`;
          assert.ok(r.stdout.includes(long), `${shell}: ${c.name} ${long}`);
          if (o.short !== undefined) {
            const short = shell === 'fish' ? `-s ${o.short}` : `-${o.short}`;
            assert.ok(r.stdout.includes(short), `${shell}: ${c.name} ${short}`);
          }
          for (const choice of o.choices ?? [])
            assert.ok(r.stdout.includes(choice), `${shell}: ${c.name} --${o.long} ${choice}`);
        }
      }
      // Hidden options (test knobs) are not offered.
      const hidden = shell === 'fish' ? '-l hostname' : '--hostname';
      assert.ok(!r.stdout.includes(hidden), `${shell}: emulate --hostname is hidden`);
    }
  });

  it('the bash script passes bash -n and completes commands and options when sourced', async () => {
    const r = await runCliInMemory(['completion', 'bash']);
    const dir = await mkdtemp(join(tmpdir(), 'airflash-completion-'));
    try {
      const file = join(dir, 'airflash.bash');
      await writeFile(file, r.stdout);
      await run('bash', ['-n', file]);
      const probe = (words: string): Promise<{ stdout: string }> =>
        run('bash', [
          '-c',
          `source ${file}; COMP_WORDS=(${words}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); _airflash; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ]);
      assert.deepEqual((await probe('airflash upl')).stdout.trim().split('\n'), ['upload']);
      assert.ok((await probe('airflash upload --au')).stdout.split('\n').includes('--auth'));
      assert.deepEqual((await probe('airflash emulate --core esp8')).stdout.trim(), 'esp8266');
      assert.deepEqual((await probe('airflash help dem')).stdout.trim(), 'demo');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an unknown shell is a usage error', async () => {
    const r = await runCliInMemory(['completion', 'tcsh']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /No completion for "tcsh": bash, zsh or fish/);
  });
});
