/**
 * Aggregates of per-tensor σ (../shared/fixtures/README.md case 3; Shadow-FT §2.3):
 * `mean_unweighted` = arithmetic mean of σ_i; `mean_param_weighted` = Σ σ_i·numel_i / Σ numel_i; both over the
 * `model.layers.N.` tensors (the paper's figure is the unweighted one) and over all tensors; plus the mean per layer.
 */

/** The fields of a σ row the aggregates need. */
export interface SigmaItem {
  readonly tensor: string;
  readonly layer: number | null;
  readonly numel: number;
  readonly sigma: number;
}

/** The tensor with the smallest or largest σ. */
export interface SigmaExtreme {
  readonly tensor: string;
  readonly sigma: number;
}

/** Aggregates over a set of tensors; means and extremes are null for an empty set. */
export interface SigmaAggregate {
  readonly nTensors: number;
  /** Σ numel over the set. */
  readonly nParams: number;
  /** Arithmetic mean of σ over the tensors. */
  readonly meanUnweighted: number | null;
  /** Σ σ·numel / Σ numel. */
  readonly meanParamWeighted: number | null;
  readonly min: SigmaExtreme | null;
  readonly max: SigmaExtreme | null;
}

/** Unweighted mean σ of one layer's tensors. */
export interface LayerMean {
  readonly layer: number;
  readonly nTensors: number;
  readonly meanUnweighted: number;
}

/** All aggregates of a σ report. */
export interface SimilaritySummary {
  /** The paper's figure: unweighted mean σ over the `model.layers.N.` tensors (= layers.meanUnweighted). */
  readonly paperFigure: number | null;
  /** Over tensors matching `model.layers.N.`. */
  readonly layers: SigmaAggregate;
  /** Over every compared tensor (embeddings, final norm and lm_head included). */
  readonly allTensors: SigmaAggregate;
  /** Per layer index, ascending. */
  readonly perLayer: readonly LayerMean[];
}

/** Aggregates one set of rows (sums in f64, in the given order). */
export function aggregateSigma(items: readonly SigmaItem[]): SigmaAggregate {
  let sum = 0;
  let wsum = 0;
  let n = 0;
  let min: SigmaExtreme | null = null;
  let max: SigmaExtreme | null = null;
  for (const r of items) {
    sum += r.sigma;
    wsum += r.sigma * r.numel;
    n += r.numel;
    if (!min || r.sigma < min.sigma) min = { tensor: r.tensor, sigma: r.sigma };
    if (!max || r.sigma > max.sigma) max = { tensor: r.tensor, sigma: r.sigma };
  }
  const k = items.length;
  return {
    nTensors: k,
    nParams: n,
    meanUnweighted: k ? sum / k : null,
    meanParamWeighted: n ? wsum / n : null,
    min,
    max,
  };
}

/** Builds the summary of a σ report from its rows. */
export function summariseSimilarity(rows: readonly SigmaItem[]): SimilaritySummary {
  const layerRows = rows.filter((r) => r.layer !== null);
  const layers = aggregateSigma(layerRows);
  const byLayer = new Map<number, SigmaItem[]>();
  for (const r of layerRows) {
    const l = r.layer as number;
    const list = byLayer.get(l) ?? [];
    list.push(r);
    byLayer.set(l, list);
  }
  const perLayer = [...byLayer.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([layer, list]) => ({ layer, nTensors: list.length, meanUnweighted: list.reduce((s, r) => s + r.sigma, 0) / list.length }));
  return { paperFigure: layers.meanUnweighted, layers, allTensors: aggregateSigma(rows), perLayer };
}
