/**
 * Measures of the models that share one checkpoint (Base, Base + LoRA; or Instruct and Instruct + each adapter):
 * the checkpoint is uploaded once; each variant is the frozen weights with or without one LoRA adapter (the graft
 * W_I + s·B·A computed on the fly by the LoRA forward, PEFT semantics). For each variant: held-out loss (engine
 * evaluateLoss over evalBatches) and greedy answers to the prompts (engine generate, KV cache), then exact match and
 * the check (metrics.ts). GPU memory is freed before returning.
 */
import type { Checkpoint } from '../../io/checkpoint';
import type { ModelConfig } from '../../io/config/types';
import type { Batch } from '../../io/dataset/types';
import type { ChatTokenizer } from '../../io/tokenizer/load';
import type { GpuContext } from '../../engine/gpu/context';
import { createActivations, type Activations } from '../../engine/model/activations';
import type { LoraParams } from '../../engine/model/lora';
import { loraParamsFromAdapter } from '../../engine/model/loraFromAdapter';
import type { LoraAdapter } from '../../engine/model/loraTypes';
import { destroyGpuModel, makeGpuModel, type GpuModel } from '../../engine/model/model';
import { loadModelWeights } from '../../engine/model/weights';
import { evaluateLoss } from '../../engine/train/step';
import { createGenerator, type Generator } from '../../engine/generate/generate';
import { exactMatch, passesCheck } from './metrics';
import type { HeldoutPrompt } from './prompts';
import type { CompareAnswer, CompareEvent, CompareModel } from './types';

/** One model to measure on the loaded checkpoint. */
export interface Variant {
  readonly model: CompareModel;
  /** null = the checkpoint as it is */
  readonly adapter: LoraAdapter | null;
}

/** What {@link evaluateVariants} needs besides the variants. */
export interface EvalJob {
  readonly ctx: GpuContext;
  readonly config: ModelConfig;
  readonly checkpoint: Checkpoint;
  readonly tok: ChatTokenizer;
  /** held-out batches (evalBatches) and the activation shape that holds the largest */
  readonly batches: readonly Batch[];
  readonly shape: { readonly B: number; readonly T: number };
  readonly prompts: readonly HeldoutPrompt[];
  readonly maxNewTokens: number;
  readonly stopIds: ReadonlySet<number>;
  readonly check: RegExp | null;
  readonly seed: number;
  readonly onEvent: (e: CompareEvent) => void;
  readonly signal?: AbortSignal;
  /** Called (awaited) as soon as one variant is measured (compare/hooks.ts CompareHooks.onMeasured). */
  readonly onMeasured?: (model: CompareModel, m: VariantMeasures) => Promise<void>;
}

/** Held-out loss (null without held-out batches) and the answers of one variant. */
export interface VariantMeasures {
  readonly loss: number | null;
  readonly answers: CompareAnswer[];
}

/**
 * Measures every variant on the job's checkpoint (uploaded once).
 * @throws the signal's reason when cancelled; WeightShapeError / DeviceLimitError from loading; GpuCommandError.
 */
export async function evaluateVariants(job: EvalJob, variants: readonly Variant[]): Promise<Map<CompareModel, VariantMeasures>> {
  const { ctx, config: cfg, signal } = job;
  const out = new Map<CompareModel, VariantMeasures>();
  const withLora = variants.find((v) => v.adapter)?.adapter ?? null;
  let model: GpuModel | null = null;
  let acts: Activations | null = null;
  let gen: Generator | null = null;
  try {
    job.onEvent({ status: 'compare-message', message: `loading ${job.checkpoint.modelName} onto the GPU` });
    model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, job.checkpoint));
    if (job.batches.length) {
      acts = createActivations(ctx, cfg, job.shape.B, job.shape.T, withLora?.settings.r ?? 0, withLora?.settings.targetModules ?? [], { withBackward: false });
    }
    const longest = Math.max(0, ...job.prompts.map((p) => p.promptIds.length));
    if (job.prompts.length) gen = createGenerator(ctx, model, Math.min(cfg.maxPositionEmbeddings, longest + job.maxNewTokens));
    for (const v of variants) {
      signal?.throwIfAborted();
      let lora: LoraParams | null = null;
      try {
        if (v.adapter) lora = loraParamsFromAdapter(ctx, cfg, v.adapter);
        let loss: number | null = null;
        if (acts) {
          loss = await evaluateLoss(ctx, model, acts, lora, job.batches, signal, (p) => job.onEvent({ status: 'compare-eval', model: v.model, batch: p.batch, batches: p.batches }));
          signal?.throwIfAborted();
          job.onEvent({ status: 'compare-loss', model: v.model, loss });
        }
        const answers: CompareAnswer[] = [];
        for (const [index, p] of job.prompts.entries()) {
          signal?.throwIfAborted();
          job.onEvent({ status: 'compare-generating', model: v.model, prompt: index + 1, prompts: job.prompts.length });
          const r = await (gen as Generator).generate(p.promptIds, { maxNewTokens: job.maxNewTokens, temperature: 0, topP: 1, seed: job.seed }, { lora, stopIds: job.stopIds, ...(signal ? { signal } : {}) });
          signal?.throwIfAborted();
          const text = job.tok.decode(r.newIds, true);
          const answer: CompareAnswer = { index, text, tokens: r.newIds.length, exact: exactMatch(text, p.reference), check: job.check ? passesCheck(job.check, text) : null };
          answers.push(answer);
          job.onEvent({ status: 'compare-answer', model: v.model, answer });
        }
        out.set(v.model, { loss, answers });
        await job.onMeasured?.(v.model, { loss, answers });
      } finally {
        lora?.destroy();
      }
    }
    return out;
  } finally {
    gen?.destroy();
    acts?.destroy();
    if (model) destroyGpuModel(model);
  }
}
