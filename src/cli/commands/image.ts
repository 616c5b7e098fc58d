import type { Command } from '../types.ts';

// Placeholder until the image command lands; replaced by its owner.
export const command: Command = {
  name: 'image',
  summary: 'image',
  help: 'airflash image (not implemented yet)',
  async run(_argv, io) {
    io.stderr.write('airflash image: not implemented yet\n');
    return 1;
  },
};
