/**
 * The dataset preview: the first training rows rendered with the Instruct chat template as the current settings
 * train them, labelled spans highlighted, token counts, rows cut by Max length, kept/skipped counts and why a run
 * would refuse (nothing left, or more than the skip threshold).
 */
import { useEffect } from 'react';
import { useStudio } from '../store';

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
            {p.kept} rows kept, {p.skipped} skipped · {p.truncatedRows} longer than Max length {p.maxLength} (cut) · a run refuses when nothing is left or more than{' '}
            {p.maxSkippedFraction * 100}% of a split is skipped
          </p>
          {p.refusal && <p className="error" role="alert">{p.refusal}</p>}
          {p.rows.map((r) => (
            <div key={`${r.file}:${r.row}`} className="preview-row" data-testid="preview-row">
              <div className="muted">
                {r.file} row {r.row} · {r.tokens} tokens, {r.labelledTokens} labelled{r.truncated ? ' · cut at Max length' : ''}
              </div>
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
            </div>
          ))}
          <p className="muted">Highlighted: the tokens the loss is computed on (the assistant's turns through their end-of-turn token, up to Max length); struck through: past Max length, cut and not trained on.</p>
        </>
      )}
    </section>
  );
}
