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

/** The σ range of a colour scale: min and max over every row of every report given (NaN-free; {0, 0} for none). */
export interface SigmaRange {
  readonly min: number;
  readonly max: number;
}

/**
 * One colour range over several σ reports, so heatmaps shown side by side share a scale (equal colours = equal σ;
 * issue 20, fault 9: 0–0.021 beside 0.0008–0.057).
 */
export function sigmaRange(...reports: readonly (readonly SimilarityRow[])[]): SigmaRange {
  const sig = reports.flatMap((rows) => rows.map((r) => r.sigma)).filter((x) => Number.isFinite(x));
  return sig.length ? { min: Math.min(...sig), max: Math.max(...sig) } : { min: 0, max: 0 };
}
