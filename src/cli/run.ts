// Development entry: `node --import tsx src/cli/run.ts <args>` runs the CLI from source.
import { main } from './main.ts';

await main();
