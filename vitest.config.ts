import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (pure TS, no GPU) and `gpu` (real WGSL kernels on a WebGPU adapter
 * through the `webgpu` npm package / Dawn; tests/gpu/device.ts picks the Vulkan driver).
 */
export default defineConfig({
  test: {
    benchmark: { include: ['bench/**/*.bench.ts'] },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'gpu',
          include: ['tests/gpu/**/*.test.ts'],
          environment: 'node',
          testTimeout: 600_000,
          hookTimeout: 120_000,
          pool: 'forks',
          fileParallelism: false,
          // One worker process and no per-file isolation: every file shares one Dawn device and its pipeline cache
          // (tests/gpu/device.ts), instead of compiling every pipeline again per file.
          isolate: false,
          maxWorkers: 1,
        },
      },
    ],
  },
});
