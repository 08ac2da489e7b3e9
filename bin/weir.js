#!/usr/bin/env node
// The weir command. The published package runs the compiled CLI in dist/
// (built by `npm pack` and `npm publish` through `prepack`; nothing is built
// at install time). In a source checkout where dist/ has not been built, it
// runs the TypeScript sources instead, which Node.js 22.18 and newer run as
// they are.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
const { main } = existsSync(compiled) ? await import(compiled.href) : await import(new URL('../src/cli/main.ts', import.meta.url).href);

process.exitCode = await main(process.argv.slice(2));
