#!/usr/bin/env node
// The installed entry point; runs the compiled CLI (built by `npm install`).
import { main } from '../dist/cli/main.js';

await main(process.argv);
