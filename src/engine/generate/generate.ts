/**
 * Text generation with our WGSL engine (forward only, B = 1) and a KV cache per layer: the prompt is run once
 * (prefill, M = prompt length), then each new token costs one position (M = 1 decode steps; forward.ts). Only the
 * last position goes through lm_head; its V logits are read back and the next token is chosen on the CPU
 * (sampler.ts: greedy at temperature 0, else temperature then top-p, seeded mulberry32). The model's frozen weights
 * are shared (never re-uploaded); LoRA is per call (eval mode, no dropout), so one generator serves Base, Base +
 * LoRA, Instruct + grafted LoRA and Instruct + conventional LoRA alike.
 */
import { submitAndWait, type GpuContext } from '../gpu/context';
import { createStorage, writeBytes } from '../gpu/buffers';
import type { LoraParams } from '../model/lora';
import type { GpuModel } from '../model/model';
import { linearShape } from '../model/weights';
import { makeRng } from '../train/rng';
import { createGenBuffers, type GenBuffers } from './buffers';
import { recordForwardRows, type ForwardLora } from './forward';
import { checkSamplerSettings, sampleToken } from './sampler';

/** Settings of one generation (HF GenerationConfig names in the comments). */
export interface GenerateSettings {
  /** max_new_tokens, ≥ 0 */
  readonly maxNewTokens: number;
  /** 0 = greedy */
  readonly temperature: number;
  /** 1 = off */
  readonly topP: number;
  /** seed of the sampling stream (mulberry32); unused when greedy */
  readonly seed: number;
}

/** What one generation produced. */
export interface GenerateResult {
  /** new token ids, without the stop token */
  readonly newIds: number[];
  /** hit a stop id */
  readonly stopped: boolean;
  /** the signal aborted the generation; newIds holds what was generated before */
  readonly aborted?: boolean;
  /** wall time of the prefill (prompt forward + reading back its last logits), ms */
  readonly prefillMs: number;
  /** wall time from the end of the prefill to the last token (sampling + M = 1 decode steps), ms */
  readonly decodeMs: number;
  /** new tokens / decode seconds (0 when nothing was generated) */
  readonly tokensPerSec: number;
}

/** Per-call options. */
export interface GenerateOptions {
  /** LoRA applied on the fly (its slots must match the model); null/absent = the frozen model alone */
  readonly lora?: LoraParams | null;
  /** generation ends (without emitting it) when one of these ids is chosen */
  readonly stopIds?: ReadonlySet<number>;
  /** aborts between tokens; the result then has aborted: true */
  readonly signal?: AbortSignal;
  /** called with each new token (index 0, 1, …) as soon as it is chosen */
  onToken?(id: number, index: number): void;
  /** tests: the logits [V] the token of `index` was chosen from (the array is not reused) */
  onLogits?(logits: Float32Array, index: number): void;
}

/** One KV cache and decode buffers for a model; run one generation at a time. */
export interface Generator {
  /** positions the cache holds: prompt + new tokens ≤ maxT */
  readonly maxT: number;
  /** bytes of the generator's GPU buffers (KV cache + activations + head) */
  readonly bytes: number;
  /**
   * Prefills `promptIds` and generates up to settings.maxNewTokens tokens.
   * @throws GenerateError for an empty prompt, an id outside [0, V), prompt + maxNewTokens > maxT, bad settings, a
   *   LoRA that does not fit the model, or a call while another generation runs; GPU errors (GpuCommandError).
   */
  generate(promptIds: readonly number[], settings: GenerateSettings, opts?: GenerateOptions): Promise<GenerateResult>;
  /**
   * The last position's logits [V] of `ids` computed from scratch (one prefill of the whole sequence, no cache
   * reuse): the full-recompute baseline of tests and benches. Overwrites the cache.
   * @throws as {@link Generator.generate}
   */
  lastLogits(ids: readonly number[], lora?: LoraParams | null): Promise<Float32Array>;
  /** Frees the generator's buffers (not the model). */
  destroy(): void;
}

/** Thrown for invalid generation input; names the value and the allowed range. */
export class GenerateError extends Error {
  override name = 'GenerateError';
}

function checkLora(model: GpuModel, p: LoraParams): void {
  for (const s of p.slots) {
    const [out, inF] = linearShape(model.cfg, s.module);
    if (s.layer >= model.cfg.numLayers || s.inFeatures !== inF || s.outFeatures !== out) {
      throw new GenerateError(`LoRA ${s.path}: [${s.outFeatures}, ${s.inFeatures}] does not fit the model (${model.cfg.numLayers} layers, ${s.module} is [${out}, ${inF}])`);
    }
  }
}

/**
 * One KV cache + decode buffers for `model`, up to maxT positions (prompt + new tokens); the model's frozen weights
 * are shared, never re-uploaded; LoRA is per call.
 * @throws GenerateError when maxT is not a positive integer;
 *   DeviceLimitError when a buffer exceeds the device limits.
 */
export function createGenerator(ctx: GpuContext, model: GpuModel, maxT: number): Generator {
  const cfg = model.cfg;
  if (!Number.isInteger(maxT) || maxT < 1) throw new GenerateError(`maxT must be a positive integer, got ${maxT}`);
  const b: GenBuffers = createGenBuffers(ctx, cfg, maxT);
  const V = cfg.vocabSize;
  let u: GPUBuffer | null = null;
  let busy = false;

  const loraOf = (p: LoraParams | null | undefined): ForwardLora | null => {
    if (!p) return null;
    checkLora(model, p);
    const need = maxT * p.r * 4;
    if (!u || u.size < need) {
      if (u) ctx.transient.push(u);
      u = createStorage(ctx, need, 'generate.lora_u');
    }
    return { p, u };
  };

  const checkIds = (ids: readonly number[]): void => {
    if (ids.length === 0) throw new GenerateError('the prompt has no tokens');
    if (ids.length > maxT) throw new GenerateError(`the prompt has ${ids.length} tokens, more than the generator's maxT ${maxT}`);
    ids.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new GenerateError(`prompt token ${i}: id ${id} is outside the vocabulary [0, ${V})`);
    });
  };

  /** Runs rows pos0.. of `ids` and returns the last row's logits. */
  const run = async (ids: readonly number[], pos0: number, lora: ForwardLora | null): Promise<Float32Array> => {
    writeBytes(ctx, b.ids, 0, Int32Array.from(ids));
    const enc = ctx.device.createCommandEncoder({ label: pos0 === 0 ? 'generate.prefill' : 'generate.decode' });
    recordForwardRows(ctx, enc, model, b, lora, ids.length, pos0);
    enc.copyBufferToBuffer(b.logits, 0, b.readback, 0, V * 4);
    await submitAndWait(ctx, [enc.finish()]);
    await b.readback.mapAsync(0x1 /* GPUMapMode.READ */, 0, V * 4);
    const logits = new Float32Array(b.readback.getMappedRange(0, V * 4).slice(0));
    b.readback.unmap();
    return logits;
  };

  const exclusive = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (busy) throw new GenerateError('this generator is already generating; wait for it or create another');
    busy = true;
    try {
      return await fn();
    } finally {
      busy = false;
    }
  };

  return {
    maxT,
    bytes: b.bytes,
    generate: (promptIds, settings, opts = {}) => exclusive(async () => {
      checkIds(promptIds);
      const N = settings.maxNewTokens;
      if (!Number.isInteger(N) || N < 0) throw new GenerateError(`maxNewTokens must be a whole number ≥ 0, got ${N}`);
      if (promptIds.length + N > maxT) throw new GenerateError(`the prompt (${promptIds.length} tokens) + maxNewTokens ${N} exceed the generator's ${maxT} positions`);
      if (!Number.isInteger(settings.seed)) throw new GenerateError(`seed must be an integer, got ${settings.seed}`);
      checkSamplerSettings(settings);
      const lora = loraOf(opts.lora);
      const rng = makeRng(settings.seed);
      const stop = opts.stopIds ?? new Set<number>();
      const newIds: number[] = [];
      let stopped = false;
      let aborted = false;
      const t0 = performance.now();
      let logits = N > 0 ? await run(promptIds, 0, lora) : new Float32Array(0);
      const t1 = performance.now();
      for (let i = 0; i < N; i++) {
        if (opts.signal?.aborted) {
          aborted = true;
          break;
        }
        opts.onLogits?.(logits, i);
        const id = sampleToken(logits, settings, rng);
        if (stop.has(id)) {
          stopped = true;
          break;
        }
        newIds.push(id);
        opts.onToken?.(id, i);
        if (i < N - 1) logits = await run([id], promptIds.length + i, lora);
      }
      const decodeMs = performance.now() - t1;
      return { newIds, stopped, ...(aborted ? { aborted } : {}), prefillMs: t1 - t0, decodeMs, tokensPerSec: newIds.length > 0 && decodeMs > 0 ? newIds.length / (decodeMs / 1000) : 0 };
    }),
    lastLogits: (ids, lora) => exclusive(async () => {
      checkIds(ids);
      return run(ids, 0, loraOf(lora));
    }),
    destroy() {
      b.destroy();
      u?.destroy();
      u = null;
    },
  };
}
