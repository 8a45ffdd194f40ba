/**
 * A full-parameter run through the studio API (app/studio.ts → training.ts → fullTraining.ts) on the demo pair in
 * Node: the memory plan is the full one (trainable parameters, checkpoint size, what Train embeddings off saves), the
 * estimate counts the weight gradients (more than the LoRA run's FLOPs), the run's outcome keeps no adapter, the LoRA
 * adapter export is refused by name, and the two exports are the tuned Base (F32, every tensor, moved from the Base)
 * and the merged Instruct — checked element by element with the test's own reader against the tuned Base it came with.
 */
import { openAsBlob, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { unzipSync } from 'fflate';
import { createStudio } from '../../src/app/studio';
import type { TrainEvent } from '../../src/app/progress';
import { nodeGpuApi } from '../../src/node/gpu';
import { bf16BitsToNumber, f32ToBf16Bits, parseSafetensors, readSafetensorsFile, tensorValues } from '../../e2e/reference';

const DEMO = 'public/demo';
const manifest = JSON.parse(readFileSync(`${DEMO}/manifest.json`, 'utf8')) as { base: { name: string; files: string[] }; instruct: { name: string; files: string[] }; dataset: { train: string; heldout: string } };
const paths = [...manifest.base.files.map((f) => `${manifest.base.name}/${f}`), ...manifest.instruct.files.map((f) => `${manifest.instruct.name}/${f}`), manifest.dataset.train, manifest.dataset.heldout];

const st = async (blob: Blob) => {
  const files = unzipSync(new Uint8Array(await blob.arrayBuffer()));
  const key = Object.keys(files).find((k) => k.endsWith('/model.safetensors'));
  return parseSafetensors(files[key as string] as Uint8Array);
};

describe('studio: full-parameter run', () => {
  it('plans, estimates, trains and exports the tuned Base and the merged Instruct', async () => {
    const gpu = await nodeGpuApi();
    const studio = createStudio(() => gpu);
    await studio.addFiles(await Promise.all(paths.map(async (path) => ({ path, file: await openAsBlob(`${DEMO}/${path}`) }))));
    const lora = { ...studio.defaultSettings(), maxSteps: 2, batchSize: 2, gradAccum: 1, maxLength: 64, warmupRatio: 0, learningRate: 1e-3, heldoutRows: 4 };
    const full = { ...lora, finetuningType: 'full' as const, trainEmbeddings: true };
    const plan = await studio.memoryPlan(full);
    expect(plan.full).toBeDefined();
    expect(plan.plan.lines[0]!.label).toContain('f32 masters');
    const params = plan.full!.trainableParams;
    expect(params).toBeGreaterThan(200_000);
    expect(plan.full!.checkpointBytes).toBe(12 * params + 65536);
    expect(plan.full!.embedSavingBytes).toBe(512 * 64 * 14);
    expect((await studio.memoryPlan({ ...full, trainEmbeddings: false })).full!.embedSavingBytes).toBe(512 * 64 * 14);
    // A plan over the 8 GiB budget is refused with its numbers and what to lower (the panel shows plan.problems).
    const big = await studio.memoryPlan({ ...full, batchSize: 2048, maxLength: 512 });
    expect(big.plan.fits).toBe(false);
    expect(big.plan.problems.join(' ')).toMatch(/full-parameter training needs [\d.]+ GiB but the memory budget is 8\.00 GiB.*lower the batch size/);
    const [estFull, estLora] = [await studio.estimateRun(full), await studio.estimateRun(lora)];
    expect(estFull.totalSteps).toBe(2);
    expect(estFull.finetuningType).toBe('full');
    expect(estFull.trainFlops).toBeGreaterThan(estLora.trainFlops);

    const events: TrainEvent[] = [];
    const outcome = await studio.train(1, full, (e) => events.push(e));
    expect(outcome).toMatchObject({ status: 'done', steps: 2 });
    expect(outcome.adapterFiles).toBeUndefined();
    expect(events.some((e) => e.status === 'eval' && e.model === 'instruct+graft')).toBe(true);
    await expect(studio.exportAdapter()).rejects.toThrow(/full-parameter: it has no LoRA adapter/);

    const tuned = await st((await studio.exportTunedBase(2, () => {})).blob);
    const merged = await st((await studio.exportFullMerged(3, () => {})).blob);
    const base = readSafetensorsFile(`${DEMO}/${manifest.base.name}/model.safetensors`);
    const inst = readSafetensorsFile(`${DEMO}/${manifest.instruct.name}/model.safetensors`);
    let moved = 0;
    let off = 0;
    let n = 0;
    for (const [name, ti] of inst.tensors) {
      const [a, b, c, d] = [tensorValues(ti), tensorValues(base.tensors.get(name)!), tensorValues(tuned.tensors.get(name)!), tensorValues(merged.tensors.get(name)!)];
      expect(tuned.tensors.get(name)!.dtype).toBe('F32');
      expect(merged.tensors.get(name)!.dtype).toBe(ti.dtype);
      for (let i = 0; i < a.length; i++) {
        const want = (a[i] as number) + ((c[i] as number) - (b[i] as number));
        if (c[i] !== b[i]) moved++;
        const lo = bf16BitsToNumber(f32ToBf16Bits(want));
        const ulp = Math.abs(bf16BitsToNumber(f32ToBf16Bits(want) + 1) - lo) || 1e-30;
        if (Math.abs((d[i] as number) - want) > ulp) off++;
        n++;
      }
    }
    expect(moved).toBeGreaterThan(n / 2);
    expect(off).toBe(0);
  });
});
