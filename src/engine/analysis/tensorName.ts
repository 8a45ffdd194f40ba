/**
 * Hugging Face decoder tensor names → layer index and module label (for the σ table and the CSV).
 * Layer tensors match `model.layers.N.` (the regex of the Shadow-FT authors' `weight_similarity.py` and of
 * ../shared/fixtures sigma.json `layer_regex`).
 */

/** `model.layers.N.` prefix; group 1 = N. */
export const LAYER_RE = /^model\.layers\.(\d+)\./;

/** Layer index of a tensor (`model.layers.3.mlp.up_proj.weight` → 3), or null for non-layer tensors. */
export function layerOf(tensor: string): number | null {
  const m = LAYER_RE.exec(tensor);
  return m ? Number(m[1]) : null;
}

/**
 * Module label of a tensor:
 * - layer tensors: the part after `model.layers.N.` without the `self_attn.`/`mlp.` group and without a trailing
 *   `.weight` (`q_proj`, `down_proj`, `input_layernorm`, `q_norm`; biases keep their suffix: `q_proj.bias`);
 * - other tensors: without a leading `model.` and a trailing `.weight` (`embed_tokens`, `norm`, `lm_head`).
 */
export function moduleOf(tensor: string): string {
  const m = LAYER_RE.exec(tensor);
  let rest = m ? tensor.slice(m[0].length) : tensor.replace(/^model\./, '');
  if (m) rest = rest.replace(/^(self_attn|mlp)\./, '');
  return rest.replace(/\.weight$/, '');
}

/** True for the vocabulary-sized tensors whose row count may differ when tokens were added (embed_tokens, lm_head). */
export function isVocabTensor(tensor: string): boolean {
  return tensor === 'model.embed_tokens.weight' || tensor === 'lm_head.weight';
}
