/**
 * The σ heatmap: a plain SVG grid, rows = layers, columns = module kinds (q_proj … down_proj, the two layer norms,
 * then q_norm/k_norm, biases and anything else found); the non-layer tensors (embed_tokens, norm, lm_head) are a
 * separate strip below. Hovering a cell shows the tensor name, shape and σ. One colour scale covers every cell; heatmaps
 * shown side by side pass one shared `range` (heatmapLayout.ts sigmaRange).
 */
import { useMemo, useState } from 'react';
import type { SimilarityRow } from '../worker/client';
import { normalise, viridis, viridisGradient } from './colorScale';
import { formatSigma } from './format';
import { heatmapColumns, sigmaRange, type SigmaRange } from './heatmapLayout';

const CELL_W = 46;
const LABEL_W = 64;
const HEAD_H = 128;
/** Room on the right for the last rotated column label. */
const PAD_R = 110;

/** Heatmap of one σ report, coloured over `range` (default: this report's own min and max). */
export function Heatmap({ rows, range }: { rows: readonly SimilarityRow[]; range?: SigmaRange }) {
  const [hover, setHover] = useState<SimilarityRow | null>(null);
  const { columns, layers, byKey, others, min, max } = useMemo(() => {
    const columns = heatmapColumns(rows);
    const layers = [...new Set(rows.flatMap((r) => (r.layer === null ? [] : [r.layer])))].sort((a, b) => a - b);
    const byKey = new Map(rows.filter((r) => r.layer !== null).map((r) => [`${r.layer}|${r.module}`, r]));
    const others = rows.filter((r) => r.layer === null);
    const own = range ?? sigmaRange(rows);
    return { columns, layers, byKey, others, min: own.min, max: own.max };
  }, [rows, range]);
  const cellH = layers.length > 40 ? 10 : layers.length > 16 ? 16 : 24;
  const width = LABEL_W + columns.length * CELL_W + PAD_R;
  const height = HEAD_H + layers.length * cellH;
  const cell = (r: SimilarityRow, x: number, y: number, w: number, h: number) => (
    <rect
      key={r.tensor}
      x={x}
      y={y}
      width={w - 1}
      height={h - 1}
      fill={viridis(normalise(r.sigma, min, max))}
      data-tensor={r.tensor}
      data-sigma={r.sigma}
      className={hover === r ? 'cell hovered' : 'cell'}
      onMouseEnter={() => setHover(r)}
      onMouseLeave={() => setHover((h0) => (h0 === r ? null : h0))}
    >
      <title>{`${r.tensor} [${r.shape.join(', ')}] σ = ${r.sigma.toPrecision(6)}`}</title>
    </rect>
  );
  return (
    <div className="heatmap" data-testid="heatmap">
      <svg width={width} height={height} role="img" aria-label="σ per tensor: rows are layers, columns are module kinds">
        {columns.map((c, j) => (
          <text key={c} x={LABEL_W + j * CELL_W + CELL_W / 2} y={HEAD_H - 6} transform={`rotate(-55 ${LABEL_W + j * CELL_W + CELL_W / 2} ${HEAD_H - 6})`} className="col-label">
            {c}
          </text>
        ))}
        {layers.map((l, i) => (
          <g key={l}>
            <text x={LABEL_W - 6} y={HEAD_H + i * cellH + cellH / 2 + 4} textAnchor="end" className="row-label">
              {layers.length > 40 && l % 5 !== 0 ? '' : `layer ${l}`}
            </text>
            {columns.map((c, j) => {
              const r = byKey.get(`${l}|${c}`);
              return r ? cell(r, LABEL_W + j * CELL_W, HEAD_H + i * cellH, CELL_W, cellH) : null;
            })}
          </g>
        ))}
      </svg>
      {others.length > 0 && (
        <div className="others">
          <span className="muted">Outside the layers:</span>
          <svg width={others.length * 120} height={28}>
            {others.map((r, k) => (
              <g key={r.tensor}>
                {cell(r, k * 120, 2, 24, 24)}
                <text x={k * 120 + 28} y={19} className="row-label">
                  {r.module}
                </text>
              </g>
            ))}
          </svg>
        </div>
      )}
      <div className="legend">
        <span>{formatSigma(min)}</span>
        <span className="legend-bar" style={{ background: viridisGradient() }} />
        <span>{formatSigma(max)}</span>
        <span className="muted">σ (0 = identical weights)</span>
      </div>
      <div className="hover-info" data-testid="heatmap-hover" aria-live="polite">
        {hover ? (
          <>
            <code>{hover.tensor}</code> · shape [{hover.shape.join(', ')}] · σ = {hover.sigma.toPrecision(6)}
          </>
        ) : (
          <span className="muted">Hover a cell for the tensor name, shape and σ.</span>
        )}
      </div>
    </div>
  );
}
