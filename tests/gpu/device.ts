/** Shared GPU context for the gpu test project (one Dawn device per test file, destroyed after the file). */
import { afterAll } from 'vitest';
import type { GpuContext } from '../../src/engine/gpu/context';
import { createNodeGpuContext } from '../../src/node/gpu';

let ctxPromise: Promise<GpuContext> | undefined;

afterAll(async () => {
  if (!ctxPromise) return;
  const ctx = await ctxPromise;
  await ctx.device.queue.onSubmittedWorkDone();
  ctx.device.destroy();
  ctxPromise = undefined;
  // Let Dawn's threads settle before the fork exits (avoids a teardown race in SwiftShader).
  await new Promise((r) => setTimeout(r, 200));
});

/** Returns the per-file test GPU context (created on first call). */
export function testGpu(): Promise<GpuContext> {
  return (ctxPromise ??= createNodeGpuContext());
}
