#!/usr/bin/env node
// The weir command. The published package runs the compiled CLI in dist/
// (built by `npm pack` and `npm publish` through `prepack`; nothing is built
// at install time). In a source checkout where dist/ has not been built, it
// runs the TypeScript sources instead, which Node.js 22.18 and newer run as
// they are.
import { existsSync } from 'node:fs';

const built = existsSync(new URL('../dist/cli/main.js', import.meta.url));
const module = (path) => new URL(built ? `../dist/${path}.js` : `../src/${path}.ts`, import.meta.url).href;
// Before the CLI is loaded: a relaunch with weir's heap flags starts the process over.
if (process.argv[2] === 'start') (await import(module('heap-flags'))).relaunchWithHeapFlags();
const { main } = await import(module('cli/main'));

process.exitCode = await main(process.argv.slice(2));
