#!/usr/bin/env node
// Command-line entry (`npx shadowft ...`): loads the TypeScript CLI through Vite's module runner so that the
// engine's `?raw` WGSL imports and TypeScript work without a separate build step.
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { runnerImport } from 'vite';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { module } = await runnerImport(resolve(root, 'src/cli/main.ts'), { root, configFile: false, logLevel: 'error' });
const code = await module.main(process.argv.slice(2));
process.exit(code);
