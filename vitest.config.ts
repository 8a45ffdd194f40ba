import { defineConfig } from 'vitest/config';

/**
 * Three projects: `unit` (pure TS, no GPU), `gpu` (real WGSL kernels on a WebGPU adapter through the `webgpu`
 * npm package / Dawn; tests/gpu/device.ts picks the Vulkan driver) and `gpu-slow` (real-size models, tests/gpu/slow).
 */
const gpuProject = {
  environment: 'node' as const,
  testTimeout: 600_000,
  hookTimeout: 120_000,
  pool: 'forks' as const,
  fileParallelism: false,
  // One worker process and no per-file isolation: every file shares one Dawn device and its pipeline cache
  // (tests/gpu/device.ts), instead of compiling every pipeline again per file.
  isolate: false,
  maxWorkers: 1,
};

export default defineConfig({
  test: {
    benchmark: { include: ['bench/**/*.bench.ts'] },
    projects: [
      { test: { name: 'unit', include: ['tests/unit/**/*.test.ts'], environment: 'node', testTimeout: 60_000 } },
      { test: { name: 'gpu', include: ['tests/gpu/**/*.test.ts'], exclude: ['tests/gpu/slow/**'], ...gpuProject } },
      // Real-size tests (minutes each on a CPU adapter): their own tier, still run by npm test and CI.
      { test: { name: 'gpu-slow', include: ['tests/gpu/slow/**/*.test.ts'], ...gpuProject } },
    ],
  },
});
