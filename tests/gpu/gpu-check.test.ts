/**
 * The worker's "Check this GPU" runner (src/app/gpuCheck.ts) on a real WebGPU adapter in Node, over the fixtures
 * bundled in public/fixtures (served from disk through a fetch stand-in; the manifest is cut to llama-tiny to keep
 * SwiftShader time short): the event stream matches the returned rows, every row passes the README tolerances, a
 * cancelled run rejects with AbortError soon after the abort, and a model whose files are broken is reported as
 * an error while the next model is still checked.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runGpuCheck, type FetchLike, type GpuCheckProgress } from '../../src/app/gpuCheck';
import { testGpu } from './device';

const ROOT = new URL('../../public/fixtures/', import.meta.url).href;
const manifest = JSON.parse(readFileSync(fileURLToPath(new URL('manifest.json', ROOT)), 'utf8')) as { models: { name: string; files: string[] }[] };

/** fetch over file: URLs, serving a manifest restricted to `models` (in that order). */
function diskFetch(models: string[], broken: string[] = []): FetchLike {
  return async (url) => {
    if (url.endsWith('/manifest.json')) {
      const ms = models.map((n) => manifest.models.find((m) => m.name === n));
      return new Response(JSON.stringify({ ...manifest, models: ms }));
    }
    if (broken.some((b) => url.endsWith(`/${b}`))) return new Response('missing', { status: 404, statusText: 'Not Found' });
    return new Response(readFileSync(fileURLToPath(url)));
  };
}

describe('runGpuCheck (worker/gpuCheck.ts) on the bundled fixtures', () => {
  it('streams the same rows it returns for llama-tiny, all passing, with every kind of quantity', async () => {
    const ctx = await testGpu();
    const events: GpuCheckProgress[] = [];
    const r = await runGpuCheck(ctx, ROOT, (e) => events.push(e), undefined, diskFetch(['llama-tiny']));
    expect(events[0]?.status).toBe('check-start');
    expect(events[1]).toMatchObject({ status: 'check-fetched', model: 'llama-tiny', files: 14, verified: 'sha256' });
    const streamed = events.flatMap((e) => (e.status === 'check-row' ? [e.row] : []));
    expect(r.models[0]?.rows).toEqual(streamed);
    expect(events.at(-1)).toMatchObject({ status: 'check-model-done', model: 'llama-tiny', passed: streamed.length, failed: 0 });
    expect(r.failed).toBe(0);
    expect(r.errors).toBe(0);
    expect(r.passed).toBe(streamed.length);
    const kinds = new Set(streamed.map((x) => x.quantity.split('/')[0]));
    for (const k of ['logits', 'loss', 'grad', 'after', 'final', 'sigma', 'merge', 'full_step', 'dpo']) expect(kinds.has(k), k).toBe(true);
    expect(streamed.filter((x) => x.quantity.startsWith('grad/step1/')).length).toBe(2 * 7 * 2);
    expect(streamed.filter((x) => x.quantity.startsWith('dpo/grad/step1/')).length).toBe(2 * 7 * 2);
  });

  it('rejects with AbortError soon after a cancel, and reports a broken model while checking the next', async () => {
    const ctx = await testGpu();
    const c = new AbortController();
    const rows: string[] = [];
    const run = runGpuCheck(ctx, ROOT, (e) => {
      if (e.status !== 'check-row') return;
      rows.push(e.row.quantity);
      if (e.row.quantity === 'logits') c.abort(new DOMException('Cancelled by the user', 'AbortError'));
    }, c.signal, diskFetch(['llama-tiny']));
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    // The abort lands on the first row inside checkFixtureOnGpu's try/finally (after "loss"), i.e. the first step's loss.
    expect(rows).toEqual(['logits', 'loss', 'loss_before_step/1']);

    const events: GpuCheckProgress[] = [];
    const r = await runGpuCheck(ctx, ROOT, (e) => events.push(e), undefined, diskFetch(['qwen3-tiny', 'llama-tiny'], ['qwen3-tiny/sigma.json']));
    expect(r.models.map((m) => [m.name, m.error === null])).toEqual([['qwen3-tiny', false], ['llama-tiny', true]]);
    expect(r.models[0]?.error).toContain('qwen3-tiny/sigma.json: HTTP 404');
    expect(r.errors).toBe(1);
    expect(r.failed).toBe(0);
    expect(events.find((e) => e.status === 'check-model-error')).toMatchObject({ model: 'qwen3-tiny' });
  });
});
