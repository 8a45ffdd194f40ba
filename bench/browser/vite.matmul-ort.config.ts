import { defineConfig, mergeConfig } from 'vite';
import base from '../../vite.config';

/**
 * Build of the bench-only page bench/browser/matmul-ort.html (our engine + onnxruntime-web in one page) for
 * bench/browser/matmul-ort.bench.spec.ts: the app's Vite config (plugins, CSP, target) with that page as the only
 * input and its own output folder, so the app's `vite build` output (dist/) is unchanged. Served by `vite preview`.
 */
export default mergeConfig(
  base,
  defineConfig({
    build: {
      outDir: '.tmp/bench-matmul-ort',
      emptyOutDir: true,
      sourcemap: false,
      rollupOptions: { input: { matmulOrt: 'bench/browser/matmul-ort.html' } },
    },
  }),
);
