/**
 * "Check this GPU" without a GPU: the bundled fixtures' manifest is parsed and every file fetched from public/fixtures
 * matches its size and sha256 (recomputed here with node:crypto, independently of the app's crypto.subtle path);
 * a corrupted or missing file is refused with its name; the rows are grouped per LoRA prefix with the worst errors;
 * the store reducer builds the per-model view from a progress sequence.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fetchFixtureModel, parseFixtureManifest, type FetchLike, type GpuCheckProgress } from '../../src/app/gpuCheck';
import { checkTotals, formatErr, groupCheckRows, groupKey, groupSummary } from '../../src/ui/checkGroups';
import { applyGpuCheckEvent, IDLE_CHECK } from '../../src/store/gpuCheckSlice';
import type { CheckRow } from '../../src/worker/client';

const ROOT = new URL('../../public/fixtures/', import.meta.url).href;

/** fetch over file: URLs (Node's fetch has none), with optional byte overrides per URL suffix. */
function diskFetch(override: Record<string, Uint8Array<ArrayBuffer> | null> = {}): FetchLike {
  return async (url) => {
    for (const [suffix, bytes] of Object.entries(override)) {
      if (url.endsWith(suffix)) return bytes === null ? new Response('gone', { status: 404, statusText: 'Not Found' }) : new Response(bytes);
    }
    return new Response(readFileSync(fileURLToPath(url)));
  };
}

const manifestJson: unknown = JSON.parse(readFileSync(fileURLToPath(new URL('manifest.json', ROOT)), 'utf8'));

describe('bundled fixture manifest and files', () => {
  const manifest = parseFixtureManifest(manifestJson, 'manifest.json');

  it('lists the four models with the files checkFixtureOnGpu reads', () => {
    expect(manifest.models.map((m) => m.name)).toEqual(['llama-tiny', 'qwen2-tiny', 'qwen3-tiny', 'gemma3-tiny']);
    for (const m of manifest.models) {
      for (const f of ['config.json', 'model.safetensors', 'forward.safetensors', 'lora_step.json', 'lora_step.safetensors', 'merge.safetensors', 'sigma.json', 'model-instruct/model.safetensors']) {
        expect(m.files).toContain(f);
      }
    }
  });

  it('fetches every file with its manifest size and sha256 (recomputed with node:crypto)', async () => {
    for (const m of manifest.models) {
      const got = await fetchFixtureModel(ROOT, m, diskFetch());
      expect(got.verified).toBe('sha256');
      expect([...got.files.files.keys()].sort()).toEqual([...m.files].sort());
      for (const [path, blob] of got.files.files) {
        const bytes = new Uint8Array(await blob.arrayBuffer());
        expect(createHash('sha256').update(bytes).digest('hex'), `${m.name}/${path}`).toBe(m.sha256[path]);
        expect(bytes.length).toBe(m.bytes[path]);
      }
    }
  });

  it('refuses a corrupted file (same size, one byte flipped) and a missing one, naming the file', async () => {
    const m = manifest.models[0];
    if (!m) throw new Error('no model');
    const path = `${m.name}/model.safetensors`;
    const bytes = new Uint8Array(readFileSync(fileURLToPath(new URL(path, ROOT))));
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    await expect(fetchFixtureModel(ROOT, m, diskFetch({ [`/${path}`]: bytes }))).rejects.toThrow(`fixture ${path}: sha256`);
    await expect(fetchFixtureModel(ROOT, m, diskFetch({ [`/${path}`]: bytes.subarray(1) }))).rejects.toThrow(`fixture ${path}: ${bytes.length - 1} bytes`);
    await expect(fetchFixtureModel(ROOT, m, diskFetch({ [`/${m.name}/sigma.json`]: null }))).rejects.toThrow(`fixture ${m.name}/sigma.json: HTTP 404`);
  });

  it('rejects malformed manifests with the field named', () => {
    expect(() => parseFixtureManifest({ models: [] }, 'm.json')).toThrow('at least one model');
    expect(() => parseFixtureManifest({ models: [{ name: 'x', files: ['../a'], sha256: {}, bytes: {} }] }, 'm.json')).toThrow('relative paths');
    expect(() => parseFixtureManifest({ models: [{ name: 'x', files: ['a'], sha256: { a: 'zz' }, bytes: { a: 1 } }] }, 'm.json')).toThrow('x/a has no 64-hex-digit sha256');
  });
});

const row = (quantity: string, maxAbs: number, pass = true, tolerance = 'abs ≤ 0.0001'): CheckRow => ({ quantity, maxAbs, maxRel: maxAbs * 10, tolerance, pass });
const key = (w: string) => `base_model.model.model.layers.0.self_attn.q_proj.lora_${w}.weight`;

describe('groupCheckRows', () => {
  const rows = [row('logits', 1e-5), row('loss', 2e-6), row(`grad/step1/${key('A')}`, 3e-7), row(`after/step1/${key('A')}`, 1e-6), row(`grad/step1/${key('B')}`, 5e-7, false), row(`after/step1/${key('B')}`, NaN), row('sigma/layers.mean_unweighted', 0)];

  it('keeps single rows, collapses per-tensor rows per prefix in first-appearance order with the worst errors', () => {
    const items = groupCheckRows(rows);
    expect(items.map((i) => (i.kind === 'row' ? i.row.quantity : `[${i.key}]`))).toEqual(['logits', 'loss', '[grad/step1]', '[after/step1]', 'sigma/layers.mean_unweighted']);
    const grad = items[2];
    if (grad?.kind !== 'group') throw new Error('expected a group');
    expect(grad.rows.length).toBe(2);
    expect(grad.maxAbs).toBe(5e-7);
    expect(grad.maxRel).toBe(5e-7 * 10);
    expect(grad.failed).toBe(1);
    expect(groupSummary(grad)).toBe('grad/step1: 2 tensors, max rel err 5.00e-6, 1 fail');
    const after = items[3];
    if (after?.kind !== 'group') throw new Error('expected a group');
    expect(Number.isNaN(after.maxAbs)).toBe(true);
    expect(groupSummary(after)).toBe('after/step1: 2 tensors, max rel err NaN, all pass');
  });

  it('groupKey, formatErr and checkTotals', () => {
    expect(groupKey(`final/${key('B')}`)).toBe('final');
    expect(groupKey('merge/f32 (14 tensors)')).toBeNull();
    expect(groupKey('full_step/grad/step1/model.layers.0.mlp.up_proj.weight')).toBe('full_step/grad/step1');
    expect(groupKey('full_step/final/lm_head.weight')).toBe('full_step/final');
    expect(groupKey('full_step/graft/f32 (20 tensors)')).toBeNull();
    expect(groupKey('full_step/loss_before_step/1')).toBeNull();
    expect(formatErr(0)).toBe('0');
    expect(formatErr(1.234e-5)).toBe('1.23e-5');
    expect(checkTotals([{ rows }, { rows: [row('x', 1, false)] }])).toEqual({ passed: 6, failed: 2 });
  });
});

describe('applyGpuCheckEvent', () => {
  it('builds per-model views from a progress sequence', () => {
    const adapter = { vendor: 'v', architecture: 'a', description: '', isFallbackAdapter: false, features: [] };
    const events: GpuCheckProgress[] = [
      { status: 'check-start', adapter, models: ['m1', 'm2'] },
      { status: 'check-fetched', model: 'm1', files: 10, bytes: 1000, verified: 'sha256' },
      { status: 'check-row', model: 'm1', row: row('logits', 1e-5) },
      { status: 'check-row', model: 'm1', row: row('loss', 1e-6) },
      { status: 'check-model-done', model: 'm1', passed: 2, failed: 0, seconds: 1.5 },
      { status: 'check-model-error', model: 'm2', message: 'GpuCheckError: gone', seconds: 0.1 },
    ];
    const s = events.reduce(applyGpuCheckEvent, { ...IDLE_CHECK, status: 'running' as const });
    expect(s.adapter).toEqual(adapter);
    expect(s.models.map((m) => [m.name, m.status, m.rows.length, m.seconds])).toEqual([['m1', 'done', 2, 1.5], ['m2', 'error', 0, 0.1]]);
    expect(s.models[0]?.fetched).toEqual({ files: 10, bytes: 1000, verified: 'sha256' });
    expect(s.models[1]?.error).toBe('GpuCheckError: gone');
  });
});
