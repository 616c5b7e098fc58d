import type { Command } from '../types.ts';

// Placeholder until the probe command lands; replaced by its owner.
export const command: Command = {
  name: 'probe',
  summary: 'probe',
  help: 'airflash probe (not implemented yet)',
  async run(_argv, io) {
    io.stderr.write('airflash probe: not implemented yet\n');
    return 1;
  },
};
