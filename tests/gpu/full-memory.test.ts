/**
 * The full-parameter memory plan against what model/fullParams.ts and createActivations really allocate, with
 * "train embeddings" on and off; and a frozen embedding stays bit-identical through a step while the rest trains.
 */
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/io/checkpoint';
import { normalizeConfig } from '../../src/io/config';
import { createActivations } from '../../src/engine/model/activations';
import { createFullParams, readFullTensors } from '../../src/engine/model/fullParams';
import { makeGpuModel } from '../../src/engine/model/model';
import { planFullMemory } from '../../src/engine/plan/fullMemory';
import { trainFullStep } from '../../src/engine/train/fullStep';
import { fixtureBatch, tensors } from '../../src/engine/check/fixtures';
import { modelFilesFromDir } from '../../src/node/files';
import { testGpu } from './device';

describe.each([['llama-tiny', 2], ['qwen2-tiny', 2]] as const)('full-parameter state of %s', (name, wb) => {
  it.each([true, false])('plan = allocation (train embeddings %s), frozen embedding unchanged by a step', async (trainEmbeddings) => {
    const ctx = await testGpu();
    const files = await modelFilesFromDir(`../shared/fixtures/${name}`);
    const cfg = normalizeConfig(JSON.parse(await (files.files.get('config.json') as Blob).text()), name);
    const { batch } = fixtureBatch(await tensors(files, 'forward.safetensors'), name);
    const M = batch.batchSize * batch.seqLen;
    const full = await createFullParams(ctx, cfg, await openCheckpoint(files), { trainEmbeddings, maxTokens: M });
    const acts = createActivations(ctx, cfg, batch.batchSize, batch.seqLen, 0, [], {});
    try {
      const dtypeBytes = name === 'qwen2-tiny' ? wb : 4;
      const plan = planFullMemory(cfg, { batchSize: batch.batchSize, maxLength: batch.seqLen, recompute: false, trainEmbeddings }, dtypeBytes, ctx.limits);
      const line = (k: string) => plan.lines.find((l) => l.key === k)?.bytes ?? -1;
      expect(line('full') + line('weights') + (3 * M + 1) * 4).toBe(full.bytes);
      expect(plan.activationBytes).toBe(acts.bytes);
      expect(full.trainableParams).toBe(plan.trainableParams);
      const before = await readFullTensors(ctx, full, 'params');
      await trainFullStep(ctx, makeGpuModel(cfg, full.weights), acts, full, [batch], { lr: 1e-3, step: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1 });
      const after = await readFullTensors(ctx, full, 'params');
      const changed = (n: string) => (before.get(n) as Float32Array).some((v, i) => v !== (after.get(n) as Float32Array)[i]);
      expect(changed('model.embed_tokens.weight')).toBe(trainEmbeddings);
      expect(changed('model.norm.weight')).toBe(true);
      if (!cfg.tieWordEmbeddings) expect(changed('lm_head.weight')).toBe(true);
    } finally {
      acts.destroy();
      full.destroy();
    }
  });
});
