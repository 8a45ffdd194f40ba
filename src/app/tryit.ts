/**
 * "Try it" (issue 9 item 2): the same user message answered by up to five models with the same generation settings,
 * tokens streamed as they come; a chat goes on over several turns with one system prompt, each model seeing its own
 * earlier answers (a conversation per model column, rendered with the Instruct chat template). Each loaded checkpoint (Base, Instruct) is uploaded to the GPU once and keeps one
 * Generator (engine/generate: KV cache, frozen weights shared); adapters are applied per call as LoRA (the graft
 * W_I + s·B·A computed on the fly, PEFT semantics), each uploaded once per model and kept until it changes.
 * The exported BF16 merge of the Shadow-FT adapter is a model of its own (its bytes are the download's).
 * Runs in the engine worker; {@link TryIt.release} frees everything (before training, after a device loss).
 */
import type { Checkpoint, ModelFiles } from '../io/checkpoint';
import type { ModelConfig } from '../io/config/types';
import type { ChatTokenizer } from '../io/tokenizer/load';
import type { TemplateKwargs } from '../io/tokenizer/render';
import type { GpuContext } from '../engine/gpu/context';
import { createGenerator, type GenerateSettings, type Generator } from '../engine/generate/generate';
import { loadMergedModel } from '../engine/generate/mergedModel';
import type { LoraParams } from '../engine/model/lora';
import { loraParamsFromAdapter } from '../engine/model/loraFromAdapter';
import type { LoraAdapter } from '../engine/model/loraTypes';
import { destroyGpuModel, makeGpuModel, type GpuModel } from '../engine/model/model';
import { loadModelWeights } from '../engine/model/weights';
import { generateReply, replyPromptIds, type ChatContext, type ChatTurn } from './generate';
import type { TryEvent } from './progress';
import { COMPARE_MODEL_LABELS, COMPARE_MODELS, type CompareModel } from './compare/types';
import type { Conversation } from '../io/dataset/types';
import type { LoadedPair } from './session';

/**
 * The models Try it can answer with: the comparison's five, and the exported BF16 merge of the Shadow-FT adapter
 * (Instruct + s·B·A rounded to the stored dtype: the very weights a user downloads; engine/generate/mergedModel.ts).
 */
export type TryModel = CompareModel | 'instruct_shadow_merged';

/** Every Try it model, in the order the panel shows them. */
export const TRY_MODELS: readonly TryModel[] = [...COMPARE_MODELS, 'instruct_shadow_merged'];

/** Names of the Try it models. */
export const TRY_MODEL_LABELS: Readonly<Record<TryModel, string>> = { ...COMPARE_MODEL_LABELS, instruct_shadow_merged: 'Instruct + Shadow-FT merged (BF16)' };

/** What one Try it call asks for. */
export interface TryRequest {
  /** the user message, rendered with the Instruct chat template and the generation prompt */
  readonly message: string;
  readonly models: readonly TryModel[];
  readonly settings: GenerateSettings;
  /** chat template options, as the training settings' chatTemplateKwargs (default {}) */
  readonly templateKwargs?: TemplateKwargs;
  /** the system prompt of the chat, the same for every model (absent or blank: none) */
  readonly system?: string;
  /** each model's own earlier turns (its own answers), oldest first; a model without an entry starts the chat */
  readonly turns?: Readonly<Partial<Record<TryModel, readonly ChatTurn[]>>>;
}

export type { TryEvent } from './progress';

/** One finished answer. */
export interface TryReply {
  readonly text: string;
  readonly promptTokens: number;
  readonly newTokens: number;
  /** ended on a stop token (else max new tokens) */
  readonly stopped: boolean;
  /** decode tokens per second as the engine measured it */
  readonly tokensPerSec: number;
}

/** One model side (a checkpoint) of Try it: where its weights and adapter come from. */
export interface TrySource {
  readonly config: ModelConfig;
  readonly checkpoint: Checkpoint;
  /** null for the checkpoint alone */
  readonly adapter: LoraAdapter | null;
  /** When given, the model is the exported merge of `adapter` into these (Instruct) files, not the LoRA on the fly. */
  readonly merge?: { readonly files: ModelFiles };
}

/** One model of Try it as the UI lists it: whether it can answer now, and why not. */
export interface TryModelInfo {
  readonly model: TryModel;
  readonly label: string;
  readonly available: boolean;
  /** why it is not available (null when it is) */
  readonly why: string | null;
}

/**
 * Where each Try it model comes from: Base and Instruct always; Base + LoRA and Instruct + Shadow-FT graft with the
 * LoRA trained on Base; Instruct + conventional LoRA with the one trained on Instruct. A model whose adapter is
 * null is absent.
 */
export function trySources(pair: Pick<LoadedPair, 'base' | 'instruct'>, adapters: { readonly shadow: LoraAdapter | null; readonly conventional: LoraAdapter | null }): Map<TryModel, TrySource> {
  const b = { config: pair.base.config, checkpoint: pair.base.checkpoint };
  const i = { config: pair.instruct.config, checkpoint: pair.instruct.checkpoint };
  const m = new Map<TryModel, TrySource>([['base', { ...b, adapter: null }], ['instruct', { ...i, adapter: null }]]);
  if (adapters.shadow) {
    m.set('base_lora', { ...b, adapter: adapters.shadow });
    m.set('instruct_shadow', { ...i, adapter: adapters.shadow });
    m.set('instruct_shadow_merged', { ...i, adapter: adapters.shadow, merge: { files: pair.instruct.model.files } });
  }
  if (adapters.conventional) m.set('instruct_conventional', { ...i, adapter: adapters.conventional });
  return m;
}

/** The five models in the comparison's order, with what is missing for the absent ones. */
export function tryModelInfo(sources: ReadonlyMap<TryModel, TrySource>): TryModelInfo[] {
  return TRY_MODELS.map((model) => ({
    model,
    label: TRY_MODEL_LABELS[model],
    available: sources.has(model),
    why: sources.has(model) ? null : model === 'instruct_conventional' ? 'run Compare first' : 'train LoRA or run Compare first',
  }));
}

/** The last user message of each of the first `n` conversations that have one ("use held-out prompts"). */
export function heldoutUserMessages(conversations: readonly Conversation[], n: number): string[] {
  const out: string[] = [];
  for (const c of conversations) {
    if (out.length >= n) break;
    const user = [...c.messages].reverse().find((m) => m.role === 'user');
    if (user) out.push(user.content);
  }
  return out;
}

/** What a loaded model is cached under: its checkpoint, or for an exported merge the adapter merged. */
type LoadedKey = Checkpoint | LoraAdapter;
const keyOf = (s: TrySource): LoadedKey => (s.merge && s.adapter ? s.adapter : s.checkpoint);

interface Loaded {
  readonly model: GpuModel;
  gen: Generator;
  readonly loras: Map<LoraAdapter, LoraParams>;
}

/** Try it's GPU state: one uploaded model + Generator per checkpoint (and per merged adapter), LoRA params per adapter. */
export class TryIt {
  private loaded = new Map<LoadedKey, Loaded>();

  /** Frees every model, generator and adapter on the GPU. */
  release(): void {
    for (const l of this.loaded.values()) {
      l.gen.destroy();
      for (const p of l.loras.values()) p.destroy();
      destroyGpuModel(l.model);
    }
    this.loaded.clear();
  }

  /** Drops every reference without touching the GPU (after a device loss, when the buffers are gone anyway). */
  forget(): void {
    this.loaded.clear();
  }

  /** The loaded side for `src`, uploading it (and freeing checkpoints no longer in `keep`) when needed. */
  private async side(ctx: GpuContext, src: TrySource, needT: number, keep: ReadonlySet<LoadedKey>, signal: AbortSignal): Promise<Loaded> {
    for (const [ck, l] of this.loaded) {
      if (keep.has(ck)) continue;
      l.gen.destroy();
      for (const p of l.loras.values()) p.destroy();
      destroyGpuModel(l.model);
      this.loaded.delete(ck);
    }
    let l = this.loaded.get(keyOf(src));
    const maxT = Math.min(src.config.maxPositionEmbeddings, Math.max(needT, 256));
    if (!l) {
      const model = src.merge && src.adapter
        ? (await loadMergedModel(ctx, src.merge.files, src.config, src.adapter, { signal })).model
        : makeGpuModel(src.config, await loadModelWeights(ctx, src.config, src.checkpoint));
      l = { model, gen: createGenerator(ctx, model, maxT), loras: new Map() };
      this.loaded.set(keyOf(src), l);
    } else if (l.gen.maxT < needT) {
      l.gen.destroy();
      l.gen = createGenerator(ctx, l.model, maxT);
    }
    return l;
  }

  /** The adapter's LoRA on a loaded side (uploaded once; adapters no longer wanted are freed). */
  private lora(ctx: GpuContext, l: Loaded, adapter: LoraAdapter | null, wanted: ReadonlySet<LoraAdapter>): LoraParams | null {
    for (const [a, p] of l.loras) {
      if (wanted.has(a)) continue;
      p.destroy();
      l.loras.delete(a);
    }
    if (!adapter) return null;
    let p = l.loras.get(adapter);
    if (!p) {
      p = loraParamsFromAdapter(ctx, l.model.cfg, adapter);
      l.loras.set(adapter, p);
    }
    return p;
  }

  /**
   * Answers `request.message` with each requested model in turn, streaming through `onEvent`.
   * @param sources where each requested model comes from (the caller refuses models it cannot provide)
   * @param stopIds engine/generate/stopTokens.ts stopTokenIds of the Instruct model
   * @throws GenerateError for bad settings or a prompt that does not fit; the signal's reason when cancelled.
   */
  async generate(ctx: GpuContext, tok: ChatTokenizer, request: TryRequest, sources: ReadonlyMap<TryModel, TrySource>, stopIds: ReadonlySet<number>, onEvent: (e: TryEvent) => void, signal: AbortSignal): Promise<Map<TryModel, TryReply>> {
    const keep = new Set([...sources.values()].map(keyOf));
    const wanted = new Set([...sources.values()].flatMap((s) => (s.adapter && !s.merge ? [s.adapter] : [])));
    const kwargs = request.templateKwargs ?? {};
    const chatOf = (m: TryModel): ChatContext => ({ ...(request.system !== undefined ? { system: request.system } : {}), turns: request.turns?.[m] ?? [] });
    const promptTokens = Math.max(...request.models.map((m) => replyPromptIds(tok, request.message, kwargs, chatOf(m)).length));
    const needT = promptTokens + request.settings.maxNewTokens;
    const out = new Map<TryModel, TryReply>();
    for (const m of request.models) {
      signal.throwIfAborted();
      const src = sources.get(m);
      if (!src) throw new Error(`Try it: no ${m} model is available`);
      if (!this.loaded.has(keyOf(src))) onEvent({ status: 'try-loading', model: m, message: src.merge ? `merging the adapter into ${src.checkpoint.modelName} (BF16) and loading it onto the GPU` : `loading ${src.checkpoint.modelName} onto the GPU` });
      const l = await this.side(ctx, src, needT, keep, signal);
      const lora = src.merge ? null : this.lora(ctx, l, src.adapter, wanted);
      const ids: number[] = [];
      let last = 0;
      const r = await generateReply(tok, l.gen, request.message, request.settings, {
        lora, stopIds, signal, templateKwargs: kwargs, chat: chatOf(m),
        onToken: (id) => {
          ids.push(id);
          const now = performance.now();
          if (now - last < 50) return; // at most 20 updates a second cross the worker boundary
          last = now;
          onEvent({ status: 'try-token', model: m, text: tok.decode(ids, true), tokens: ids.length });
        },
      });
      signal.throwIfAborted();
      const reply: TryReply = { text: r.text, promptTokens: r.promptIds.length, newTokens: r.newIds.length, stopped: r.stopped, tokensPerSec: r.tokensPerSec };
      out.set(m, reply);
      onEvent({ status: 'try-reply', model: m, reply });
    }
    return out;
  }
}
