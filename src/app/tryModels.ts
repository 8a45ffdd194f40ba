/**
 * Use case "Try it": generate with the models of the loaded pair, one variant at a time, keeping what was uploaded
 * so the frozen weights are never uploaded again for the next prompt: the Base and Instruct GpuModels, one generator
 * (KV cache) per model, the LoRA parameters of the current adapter (applied on the fly to Base = "Base + LoRA" and to
 * Instruct = "Instruct + grafted LoRA", f32), and the model of the exported BF16 merge. All prompts use the Instruct
 * model's chat template (the Base is trained with it too) and its stop ids. Everything is dropped when the pair or
 * the adapter changes, and on {@link GenerationModels.release}.
 */
import type { GpuContext } from '../engine/gpu/context';
import { createGenerator, type GenerateSettings, type Generator } from '../engine/generate/generate';
import { loadMergedModel } from '../engine/generate/mergedModel';
import { modelStopTokenIds } from '../engine/generate/stopTokens';
import type { LoraParams } from '../engine/model/lora';
import { loraParamsFromAdapter } from '../engine/model/loraFromAdapter';
import type { LoraAdapter } from '../engine/model/loraTypes';
import { destroyGpuModel, makeGpuModel, type GpuModel } from '../engine/model/model';
import { loadModelWeights } from '../engine/model/weights';
import { loadChatTokenizer, type ChatTokenizer } from '../io/tokenizer/load';
import { generateReply, replyPromptIds, type GeneratedReply } from './generate';
import type { LoadedPair } from './session';

/**
 * Which model answers: base, Base + the adapter, instruct, Instruct + the adapter on the fly (f32 graft), or the
 * exported merge (Instruct + s·B·A rounded to the stored dtype).
 */
export type TryModel = 'base' | 'base_lora' | 'instruct' | 'instruct_graft' | 'instruct_merged';

/** One request of the Try it panel. */
export interface GenerateRequest {
  readonly model: TryModel;
  /** the user message */
  readonly prompt: string;
  readonly settings: GenerateSettings;
}

/** A token as it streams: its index, id, and the whole answer decoded so far (special tokens skipped). */
export interface TokenEvent {
  readonly index: number;
  readonly id: number;
  readonly text: string;
}

/** Positions a generator is first sized for (grown when a prompt + max new tokens needs more). */
const MIN_POSITIONS = 512;

interface Entry {
  model: GpuModel;
  gen: Generator | null;
}

/** The uploaded models and generators of one pair and adapter (see the file comment). */
export class GenerationModels {
  private pair: LoadedPair | null = null;
  private adapter: LoraAdapter | null = null;
  private tok: ChatTokenizer | null = null;
  private stop: ReadonlySet<number> = new Set();
  private models = new Map<'base' | 'instruct' | 'merged', Entry>();
  private lora: LoraParams | null = null;

  /** Frees every GPU buffer held (models, caches, LoRA). */
  release(): void {
    for (const e of this.models.values()) {
      e.gen?.destroy();
      destroyGpuModel(e.model);
    }
    this.models.clear();
    this.lora?.destroy();
    this.lora = null;
    this.pair = null;
    this.adapter = null;
    this.tok = null;
  }

  /**
   * Answers `req.prompt` with the requested model, streaming tokens to `onToken`.
   * @param adapter the current adapter (required for base_lora, instruct_graft and instruct_merged)
   * @throws Error when the variant needs an adapter and there is none; TokenizerError without a chat template;
   *   GenerateError / LoraError / GPU errors from the engine.
   */
  async reply(ctx: GpuContext, pair: LoadedPair, adapter: LoraAdapter | null, req: GenerateRequest, onToken?: (t: TokenEvent) => void, signal?: AbortSignal): Promise<GeneratedReply> {
    if (this.pair !== pair) this.release();
    if (this.adapter !== adapter) {
      this.lora?.destroy();
      this.lora = null;
      const merged = this.models.get('merged');
      if (merged) {
        merged.gen?.destroy();
        destroyGpuModel(merged.model);
        this.models.delete('merged');
      }
      this.adapter = adapter;
    }
    this.pair = pair;
    if (!this.tok) {
      this.tok = await loadChatTokenizer(pair.instruct.model.files);
      this.stop = (await modelStopTokenIds(pair.instruct.model.files, pair.instruct.config, this.tok)).ids;
    }
    const tok = this.tok;
    const needsAdapter = req.model === 'base_lora' || req.model === 'instruct_graft' || req.model === 'instruct_merged';
    if (needsAdapter && !adapter) throw new Error(`"${req.model}" needs a LoRA adapter: train one (or restore one) first.`);
    const which = req.model === 'base' || req.model === 'base_lora' ? 'base' : req.model === 'instruct_merged' ? 'merged' : 'instruct';
    const entry = await this.entry(ctx, pair, which);
    const need = replyPromptIds(tok, req.prompt).length + req.settings.maxNewTokens;
    if (!entry.gen || entry.gen.maxT < need) {
      entry.gen?.destroy();
      entry.gen = null;
      entry.gen = createGenerator(ctx, entry.model, Math.max(MIN_POSITIONS, need));
    }
    let lora: LoraParams | null = null;
    if (req.model === 'base_lora' || req.model === 'instruct_graft') {
      this.lora ??= loraParamsFromAdapter(ctx, pair.instruct.config, adapter as LoraAdapter);
      lora = this.lora;
    }
    const ids: number[] = [];
    return generateReply(tok, entry.gen, req.prompt, req.settings, {
      lora,
      stopIds: this.stop,
      ...(signal ? { signal } : {}),
      onToken: (id, index) => {
        ids.push(id);
        onToken?.({ index, id, text: tok.decode(ids, true) });
      },
    });
  }

  private async entry(ctx: GpuContext, pair: LoadedPair, which: 'base' | 'instruct' | 'merged'): Promise<Entry> {
    const hit = this.models.get(which);
    if (hit) return hit;
    let model: GpuModel;
    if (which === 'merged') model = (await loadMergedModel(ctx, pair.instruct.model.files, pair.instruct.config, this.adapter as LoraAdapter)).model;
    else {
      const m = which === 'base' ? pair.base : pair.instruct;
      model = makeGpuModel(m.config, await loadModelWeights(ctx, m.config, m.checkpoint));
    }
    const e: Entry = { model, gen: null };
    this.models.set(which, e);
    return e;
  }
}
