import type { Command } from '../types.ts';

// Placeholder until the demo command lands; replaced by its owner.
export const command: Command = {
  name: 'demo',
  summary: 'demo',
  help: 'airflash demo (not implemented yet)',
  async run(_argv, io) {
    io.stderr.write('airflash demo: not implemented yet\n');
    return 1;
  },
};
