#!/usr/bin/env node
// The built CLI. `npm install` builds dist/ through the "prepare" script.
import { main } from '../dist/cli/main.js';

await main();
