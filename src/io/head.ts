/**
 * Tied or separate output head, decided from what the checkpoint really holds (transformers `PreTrainedModel.
 * tie_weights` / `_tie_or_clone_weights` semantics, with the file taking precedence over config.json):
 * - `lm_head.weight` present and different from `model.embed_tokens.weight` → a separate head; when config.json says
 *   `tie_word_embeddings: true` the real head is still used and the user is warned (tying would throw it away);
 * - `lm_head.weight` bit-identical to the embedding (same dtype, shape and bytes) → one tensor, treated as tied;
 * - no `lm_head.weight` → tied to the embedding; when config.json says untied, with a warning (transformers would
 *   initialise a fresh random head; the only weights there are to use are the embedding's).
 */
import type { Checkpoint, TensorLocation } from './checkpoint';
import type { ModelConfig } from './config/types';

/** How the output head is stored. */
export type LmHeadLayout = 'tied' | 'separate';

/** The decision and the warnings to show (model view and CLI). */
export interface LmHeadResolution {
  readonly layout: LmHeadLayout;
  readonly warnings: readonly string[];
  /** config.json with `tieWordEmbeddings` set to what the checkpoint holds (what the engine must use). */
  readonly config: ModelConfig;
}

const EMBED = 'model.embed_tokens.weight';
const HEAD = 'lm_head.weight';
const STEP = 16 * 1024 * 1024;

/** True when two tensors have the same dtype, shape and bytes (read in 16 MiB slices, stopping at the first difference). */
async function sameTensor(a: TensorLocation, b: TensorLocation): Promise<boolean> {
  if (a.info.dtype !== b.info.dtype || a.info.shape.join(',') !== b.info.shape.join(',')) return false;
  const n = a.info.end - a.info.begin;
  for (let off = 0; off < n; off += STEP) {
    const len = Math.min(STEP, n - off);
    const [x, y] = await Promise.all([
      a.file.slice(a.info.begin + off, a.info.begin + off + len).arrayBuffer(),
      b.file.slice(b.info.begin + off, b.info.begin + off + len).arrayBuffer(),
    ]);
    const u = new Uint8Array(x);
    const v = new Uint8Array(y);
    for (let i = 0; i < len; i++) if (u[i] !== v[i]) return false;
  }
  return true;
}

/**
 * Decides whether the head is tied (see the file comment). Reads lm_head and embed_tokens bytes only when both exist.
 * @param config the normalised config.json; @param ckpt the opened checkpoint.
 * @returns the layout, warnings naming the model, and the config the engine must use.
 */
export async function resolveLmHead(config: ModelConfig, ckpt: Checkpoint): Promise<LmHeadResolution> {
  const head = ckpt.tensors.get(HEAD);
  const embed = ckpt.tensors.get(EMBED);
  const said = config.tieWordEmbeddings;
  const with_ = (layout: LmHeadLayout, warnings: string[]): LmHeadResolution => ({ layout, warnings, config: { ...config, tieWordEmbeddings: layout === 'tied' } });
  if (!head) {
    if (said) return with_('tied', []);
    return with_('tied', [`${ckpt.modelName}: config.json says tie_word_embeddings: false but the checkpoint has no ${HEAD}; the head is tied to ${EMBED}`]);
  }
  if (embed && (await sameTensor(head, embed))) return with_('tied', []);
  if (said) return with_('separate', [`${ckpt.modelName}: config.json says tie_word_embeddings: true but the checkpoint ships its own ${HEAD}, different from ${EMBED}; the real ${HEAD} is used`]);
  return with_('separate', []);
}
