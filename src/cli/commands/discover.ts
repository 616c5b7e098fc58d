import type { Command } from '../types.ts';

// Placeholder until the discover command lands; replaced by its owner.
export const command: Command = {
  name: 'discover',
  summary: 'discover',
  help: 'airflash discover (not implemented yet)',
  async run(_argv, io) {
    io.stderr.write('airflash discover: not implemented yet\n');
    return 1;
  },
};
