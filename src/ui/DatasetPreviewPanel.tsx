/**
 * The dataset preview: the first training rows rendered with the Instruct chat template as the current settings
 * train them, labelled spans highlighted, token counts, rows cut by Max length, kept/skipped counts and why a run
 * would refuse (nothing left, or more than the skip threshold); for preference data the first pairs, each with its
 * chosen and its rejected render and their labelled answers.
 */
import { useEffect } from 'react';
import { useStudio } from '../store';
import type { DatasetPreview } from '../worker/client';

type Row = DatasetPreview['rows'][number];

/** One render with its labelled pieces highlighted. */
function Render({ r }: { r: Row }) {
  return (
    <pre>
      {r.pieces.map((piece, i) =>
        piece.cut ? (
          <s key={i} className="cut" title="past Max length: cut, not trained on">{piece.text}</s>
        ) : piece.labelled ? (
          <mark key={i} title="labelled (trained on)">{piece.text}</mark>
        ) : (
          <span key={i}>{piece.text}</span>
        ),
      )}
    </pre>
  );
}

const counts = (r: Row): string => `${r.tokens} tokens, ${r.labelledTokens} labelled${r.truncated ? ' · cut at Max length' : ''}`;

/** The panel (re-renders the preview when the session or the settings change). */
export function DatasetPreviewPanel() {
  const session = useStudio((s) => s.session);
  const settings = useStudio((s) => s.settings);
  const preview = useStudio((s) => s.preview);
  const refresh = useStudio((s) => s.refreshPreview);
  const maxLength = settings?.maxLength;
  const kwargs = JSON.stringify(settings?.chatTemplateKwargs ?? {});
  useEffect(() => {
    const t = setTimeout(() => void refresh(), 300);
    return () => clearTimeout(t);
  }, [session, maxLength, kwargs, refresh]);
  const p = preview.data;
  if (!p && !preview.error) return null;
  return (
    <section className="preview" data-testid="dataset-preview" aria-label="Dataset preview">
      <h3>Preview {preview.busy && <span className="muted">(updating…)</span>}</h3>
      {preview.error && <p className="error">{preview.error}</p>}
      {p && (
        <>
          <p data-testid="preview-counts">
            {p.kept} {p.kind === 'preference' ? 'pairs' : 'rows'} kept, {p.skipped} skipped{p.keptHeldout > 0 ? ` (${p.kept - p.keptHeldout} for training, ${p.keptHeldout} held-out)` : ''} · {p.truncatedRows} longer than Max length {p.maxLength} (cut) · a run refuses when nothing is left or more than{' '}
            {p.maxSkippedFraction * 100}% of a split is skipped
          </p>
          {p.refusal && <p className="error" role="alert">{p.refusal}</p>}
          {p.rows.map((r) => (
            <div key={`${r.file}:${r.row}`} className="preview-row" data-testid="preview-row">
              <div className="muted">
                {r.file} row {r.row} · {counts(r)}
              </div>
              <Render r={r} />
            </div>
          ))}
          {p.pairs.map((pair) => (
            <div key={`${pair.file}:${pair.row}`} className="preview-row" data-testid="preview-pair">
              <div className="muted">
                {pair.file} row {pair.row} · preference pair
              </div>
              <div className="muted">chosen · {counts(pair.chosen)}</div>
              <Render r={pair.chosen} />
              <div className="muted">rejected · {counts(pair.rejected)}</div>
              <Render r={pair.rejected} />
            </div>
          ))}
          <p className="muted">
            Highlighted: the tokens the loss is computed on (the assistant's turns through their end-of-turn token; for a pair, only the final chosen and rejected
            answers, whose log-probabilities the preference loss compares), up to Max length; struck through: past Max length, cut and not trained on.
          </p>
        </>
      )}
    </section>
  );
}
