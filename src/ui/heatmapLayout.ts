/** Column layout of the σ heatmap (pure, testable without React). */
import type { SimilarityRow } from '../worker/client';

/** Column order of the known module kinds; others follow alphabetically. */
const KNOWN = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'input_layernorm', 'post_attention_layernorm', 'q_norm', 'k_norm'];

/** Columns present in the rows, known kinds first. */
export function heatmapColumns(rows: readonly SimilarityRow[]): string[] {
  const present = new Set(rows.filter((r) => r.layer !== null).map((r) => r.module));
  const known = KNOWN.filter((k) => present.has(k));
  const rest = [...present].filter((m) => !KNOWN.includes(m)).sort();
  return [...known, ...rest];
}
