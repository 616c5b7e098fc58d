import type { Command } from '../types.ts';

// Placeholder until the upload command lands; replaced by its owner.
export const command: Command = {
  name: 'upload',
  summary: 'upload',
  help: 'airflash upload (not implemented yet)',
  async run(_argv, io) {
    io.stderr.write('airflash upload: not implemented yet\n');
    return 1;
  },
};
