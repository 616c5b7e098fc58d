import type { Command } from '../types.ts';

// Placeholder until the doctor command lands; replaced by its owner.
export const command: Command = {
  name: 'doctor',
  summary: 'doctor',
  help: 'airflash doctor (not implemented yet)',
  async run(_argv, io) {
    io.stderr.write('airflash doctor: not implemented yet\n');
    return 1;
  },
};
