/**
 * Help: `airflash help CMD` is `airflash CMD --help`; every command's help names every visible
 * option of its table (the table the parser and the completion use), so they cannot drift.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { completionCommands } from '../src/cli/commands/completion.ts';
import { runCliInMemory } from './helpers/cli-io.ts';

describe('airflash help', () => {
  it('airflash help CMD prints the same text as airflash CMD --help, for every command', async () => {
    for (const c of await completionCommands()) {
      const viaHelp = await runCliInMemory(['help', c.name]);
      const viaFlag = await runCliInMemory([c.name, '--help']);
      assert.equal(viaHelp.code, 0, c.name);
      assert.equal(viaHelp.stdout, viaFlag.stdout, c.name);
      for (const o of c.options.filter((x) => !x.hidden && x.long !== 'help'))
        assert.ok(viaHelp.stdout.includes(`--${o.long}`), `${c.name} --help lists --${o.long}`);
    }
    const upload = await runCliInMemory(['help', 'upload']);
    assert.match(upload.stdout, /^airflash upload — upload a firmware/);
  });

  it('the main help lists every command, including completion', async () => {
    const r = await runCliInMemory(['--help']);
    for (const c of await completionCommands()) assert.match(r.stdout, new RegExp(`\\n  ${c.name} `));
  });
});
