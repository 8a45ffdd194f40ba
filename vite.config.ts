import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/** Vite config for the studio (app + module worker). Tests use vitest.config.ts. */
export default defineConfig({
  plugins: [react()],
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: true },
  server: { host: '127.0.0.1', port: 5173, strictPort: true },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true },
});
