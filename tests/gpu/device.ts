/**
 * The GPU context of the whole gpu test project: one Dawn device for every test file (vitest runs the project's
 * files in one worker with isolate: false, see vitest.config.ts), so the pipelines compiled by one file are cached
 * for the next. The device lives on globalThis: a file never destroys it; it goes with the worker process.
 */
import type { GpuContext } from '../../src/engine/gpu/context';
import { createNodeGpuContext } from '../../src/node/gpu';

const KEY = Symbol.for('shadowft.testGpu');
type Holder = { [KEY]?: Promise<GpuContext> };

/**
 * Returns the shared test GPU context (created on first call). A lost device (a test that destroys it on purpose)
 * is replaced by a fresh one on the next call.
 */
export async function testGpu(): Promise<GpuContext> {
  const g = globalThis as Holder;
  const cur = g[KEY];
  if (cur) {
    const ctx = await cur;
    if (!lost.has(ctx)) return ctx;
  }
  const next = createNodeGpuContext().then((ctx) => {
    void ctx.lost.then(() => lost.add(ctx));
    return ctx;
  });
  g[KEY] = next;
  return next;
}

const lost = new WeakSet<GpuContext>();
