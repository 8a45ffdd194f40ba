/**
 * For the real-tools check (scripts/real_tools/check.py, gemma3-tiny section): trains a LoRA adapter with the studio's
 * engine on a fixture model folder (../shared/fixtures/<model>: config.json, model.safetensors, forward.safetensors
 * with input_ids [B, T] and labels [B, T]; no tokenizer, so not through `shadowft train`), writes it as the PEFT
 * adapter the studio exports (engine/graft/adapterFiles.ts) and the engine's held-out loss of the model with and
 * without it on the same batch (nats per label token, HF shift) as ours.json, for PEFT + transformers to recompute.
 * Not a shadowft command; run by scripts/real_tools/fixture-adapter.mjs: FIXTURE_DIR OUT_DIR [STEPS=5]. LoRA r 4, α 8, every decoder linear,
 * seed 0 (PEFT init: B = 0), AdamW lr 1e-2, clip 1.0, one micro-batch per step.
 * @throws Error naming the file when the folder lacks config.json, model.safetensors or forward.safetensors
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { openCheckpoint } from '../io/checkpoint';
import { normalizeConfig } from '../io/config';
import { fixtureBatch, json, tensors } from '../engine/check/fixtures';
import { buildAdapterFiles } from '../engine/graft/adapterFiles';
import { createActivations } from '../engine/model/activations';
import { createLoraParams, readLoraAdapter } from '../engine/model/lora';
import { TARGET_MODULES, type LoraSettings } from '../engine/model/loraTypes';
import { destroyGpuModel, makeGpuModel } from '../engine/model/model';
import { loadModelWeights } from '../engine/model/weights';
import { evaluateLoss, trainStep } from '../engine/train/step';
import { createNodeGpuContext } from '../node/gpu';
import { modelFilesFromDir } from '../node/files';

/** Runs the above; returns the process exit code. */
export async function main(args: readonly string[]): Promise<number> {
  const [dir, out, stepsArg] = args;
  if (!dir || !out) throw new Error('usage: fixture-adapter.mjs FIXTURE_DIR OUT_DIR [STEPS]');
  const steps = Number(stepsArg ?? 5);
  const files = await modelFilesFromDir(resolve(dir));
  const cfg = normalizeConfig(await json<unknown>(files, 'config.json'), `${dir}/config.json`);
  const ckpt = await openCheckpoint(files);
  const { batch } = fixtureBatch(await tensors(files, 'forward.safetensors'), `${dir}/forward.safetensors`);
  const ctx = await createNodeGpuContext();
  const model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, ckpt));
  const settings: LoraSettings = { r: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: [...TARGET_MODULES] };
  const acts = createActivations(ctx, cfg, batch.batchSize, batch.seqLen, settings.r, settings.targetModules, { recompute: false });
  const lora = createLoraParams(ctx, cfg, settings, { seed: 0 });
  try {
    const baseLoss = await evaluateLoss(ctx, model, acts, null, [batch]);
    for (let t = 1; t <= steps; t++) await trainStep(ctx, model, acts, lora, [batch], { lr: 1e-2, step: t, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 });
    const loss = await evaluateLoss(ctx, model, acts, lora, [batch]);
    const f = buildAdapterFiles(await readLoraAdapter(ctx, lora), { baseModelNameOrPath: resolve(dir) });
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'adapter_config.json'), f['adapter_config.json']);
    await writeFile(join(out, 'adapter_model.safetensors'), new Uint8Array(await f['adapter_model.safetensors'].arrayBuffer()));
    await writeFile(join(out, 'ours.json'), JSON.stringify({ base_loss: baseLoss, loss, steps }));
    return 0;
  } finally {
    lora.destroy();
    acts.destroy();
    destroyGpuModel(model);
  }
}
