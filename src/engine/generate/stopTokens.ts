/**
 * The token ids that end a generated answer. Hugging Face `generate` stops on generation_config.json's
 * eos_token_id (an int or a list; transformers generation/configuration_utils.py), falling back to config.json's;
 * chat models also end a turn with a special token of their template that the generation config may not list
 * (e.g. Llama 3 base configs name <|end_of_text|> but the chat template ends turns with <|eot_id|>). We stop on the
 * union: generation_config eos ids, config.json eos ids, the tokenizer's eos_token, and the end-of-turn specials
 * below that exist in the tokenizer's vocabulary. Ids outside [0, V) are ignored.
 */
import type { ModelFiles } from '../../io/checkpoint';
import type { ModelConfig } from '../../io/config/types';
import type { ChatTokenizer } from '../../io/tokenizer/load';

/** End-of-turn / end-of-text specials of common chat templates (ChatML, Llama 3, Gemma, Llama 2, Phi-3, GPT-2). */
export const END_OF_TURN_TOKENS = ['<|im_end|>', '<|eot_id|>', '<|eom_id|>', '<|end_of_text|>', '<|endoftext|>', '<end_of_turn>', '<eos>', '</s>', '<|end|>'] as const;

/** Where stop ids come from; every member is optional. */
export interface StopTokenSources {
  /** V: ids ≥ V (or negative, or not integers) are dropped */
  readonly vocabSize: number;
  /** Parsed generation_config.json (any JSON value; its "eos_token_id" is read), or null when absent. */
  readonly generationConfig?: unknown;
  /** config.json eos_token_id(s) (ModelConfig.eosTokenIds). */
  readonly configEosIds?: readonly number[];
  /** The tokenizer's eos_token id, or null. */
  readonly tokenizerEosId?: number | null;
  /** Token string → id (the tokenizer's vocabulary with its added tokens), to find {@link END_OF_TURN_TOKENS}. */
  readonly vocab?: ReadonlyMap<string, number> | null;
}

/** eos_token_id of a parsed generation_config.json: an int, a list of ints, or absent ([]). */
export function generationConfigEosIds(generationConfig: unknown): number[] {
  if (typeof generationConfig !== 'object' || generationConfig === null) return [];
  const v = (generationConfig as { eos_token_id?: unknown }).eos_token_id;
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

/**
 * Stop ids: generation_config.json eos_token_id (int or list), config eos, tokenizer eos_token, and the end-of-turn
 * specials ({@link END_OF_TURN_TOKENS}) that exist in the vocabulary.
 * @returns the set of ids in [0, V)
 */
export function stopTokenIds(src: StopTokenSources): Set<number> {
  const out = new Set<number>();
  const add = (id: number | null | undefined): void => {
    if (typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < src.vocabSize) out.add(id);
  };
  generationConfigEosIds(src.generationConfig).forEach(add);
  src.configEosIds?.forEach(add);
  add(src.tokenizerEosId);
  if (src.vocab) for (const t of END_OF_TURN_TOKENS) add(src.vocab.get(t));
  return out;
}

/**
 * {@link stopTokenIds} of a model folder: reads generation_config.json when present (a malformed one is reported in
 * `warnings` and skipped), config eos ids from `cfg`, and the tokenizer's eos and vocabulary when given.
 */
export async function modelStopTokenIds(files: ModelFiles, cfg: Pick<ModelConfig, 'vocabSize' | 'eosTokenIds'>, tok: ChatTokenizer | null): Promise<{ ids: Set<number>; warnings: string[] }> {
  const warnings: string[] = [];
  let generationConfig: unknown = null;
  const blob = files.files.get('generation_config.json');
  if (blob) {
    try {
      generationConfig = JSON.parse(await blob.text());
    } catch (e) {
      warnings.push(`${files.name}/generation_config.json is not valid JSON (${(e as Error).message}); its eos_token_id is not used`);
    }
  }
  const ids = stopTokenIds({
    vocabSize: cfg.vocabSize,
    generationConfig,
    configEosIds: cfg.eosTokenIds,
    tokenizerEosId: tok?.eosTokenId ?? null,
    vocab: tok ? tok.hf.get_vocab() : null,
  });
  return { ids, warnings };
}
