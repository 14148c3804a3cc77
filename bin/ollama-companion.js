#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=30
// The installed entry point; runs the compiled CLI (built by `npm install`).
// V8's young generation is capped at 4 MB per half instead of 16: under 256 streams the
// companion then stays 20–40 MB smaller, for a few percent more time spent in GC.
// The old generation is collected once it grew 30% past what the last collection kept,
// instead of up to twice that: history records live about a flush interval, long enough
// to be promoted, and under 64 busy connections the heap otherwise grows some 40 MB
// before a full collection, for a few percent more CPU.
import { main } from '../dist/cli/main.js';

await main(process.argv);
