import type { Command } from '../types.ts';

// Placeholder until the emulate command lands; replaced by its owner.
export const command: Command = {
  name: 'emulate',
  summary: 'emulate',
  help: 'airflash emulate (not implemented yet)',
  async run(_argv, io) {
    io.stderr.write('airflash emulate: not implemented yet\n');
    return 1;
  },
};
