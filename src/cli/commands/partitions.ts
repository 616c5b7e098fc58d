import type { Command } from '../types.ts';

// Placeholder until the partitions command lands; replaced by its owner.
export const command: Command = {
  name: 'partitions',
  summary: 'partitions',
  help: 'airflash partitions (not implemented yet)',
  async run(_argv, io) {
    io.stderr.write('airflash partitions: not implemented yet\n');
    return 1;
  },
};
