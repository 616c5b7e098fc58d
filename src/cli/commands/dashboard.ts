import type { Command } from '../types.ts';

// Placeholder until the dashboard command lands; replaced by its owner.
export const command: Command = {
  name: 'dashboard',
  summary: 'dashboard',
  help: 'airflash dashboard (not implemented yet)',
  async run(_argv, io) {
    io.stderr.write('airflash dashboard: not implemented yet\n');
    return 1;
  },
};
