import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * Content-Security-Policy of the built app: nothing may be fetched, connected to or run from outside its own origin
 * (the studio works on dropped files only). Scripts from the origin only; 'wasm-unsafe-eval' lets the worker compile the
 * WebAssembly of the Parquet decompressors (hyparquet-compressors) and nothing else — no JS eval. Workers from the app's own files or blob: URLs; images from data:/blob:
 * (favicon, charts); inline styles for React/uPlot style attributes; no plugins, no <base>, no form posts.
 * Dev mode (`vite`) does without it: its HMR client needs inline scripts and a websocket.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');

/** Adds the CSP as a <meta http-equiv> to index.html in builds (travels with the static files). */
function cspMeta(): Plugin {
  return {
    name: 'shadowft-csp',
    apply: 'build',
    transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY }, injectTo: 'head-prepend' }],
  };
}

/** Vite config for the studio (app + module worker). Tests use vitest.config.ts. */
export default defineConfig({
  plugins: [react(), cspMeta()],
  worker: { format: 'es' },
  // Pre-bundle what the worker and the lazily loaded panels import, so the dev server does not discover them on the
  // first "Load demo" and reload the page under the user (a fresh clone's first click was lost that way).
  optimizeDeps: { include: ['client-zip', '@huggingface/transformers', 'hyparquet', 'hyparquet-compressors', 'yaml'] },
  build: { target: 'es2022', sourcemap: true },
  server: { host: '127.0.0.1', port: 5173, strictPort: true },
  // The preview server also sends the policy as a header, so the worker scripts it serves are bound by it too.
  preview: { host: '127.0.0.1', port: 4173, strictPort: true, headers: { 'Content-Security-Policy': CONTENT_SECURITY_POLICY } },
});
