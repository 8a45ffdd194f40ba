#!/usr/bin/env node
// Runs src/cli/fixtureAdapter.ts through Vite's module runner (as bin/shadowft.mjs runs the CLI).
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { createServer, createServerModuleRunner } from 'vite';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const server = await createServer({ root, configFile: false, logLevel: 'error', server: { middlewareMode: true, hmr: false, ws: false }, appType: 'custom', optimizeDeps: { noDiscovery: true } });
const runner = createServerModuleRunner(server.environments.ssr, { hmr: false });
let code = 1;
try {
  const mod = await runner.import(resolve(root, 'src/cli/fixtureAdapter.ts'));
  code = await mod.main(process.argv.slice(2));
} finally {
  await runner.close();
  await server.close();
}
process.exit(code);
