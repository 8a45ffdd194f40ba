/**
 * One Try it column: the model's answer as it streams, its token count, tokens/s (the engine's decode rate) and
 * whether it ended on a stop token, with a copy button.
 */
import type { TryColumn } from '../../store/compareSlice';
import type { TryItModel } from '../../worker/client';

/** The column of one model; `column` is null before its first token. */
export function TryColumnView({ label, model, column }: { label: string; model: TryItModel; column: TryColumn | null }) {
  const r = column?.reply ?? null;
  return (
    <div className="try-column" data-testid={`try-${model}`} data-done={r ? 'true' : 'false'}>
      <div className="try-head">
        <b>{label}</b>
        <button type="button" disabled={!column?.text} onClick={() => void navigator.clipboard?.writeText(column?.text ?? '')} aria-label={`Copy the answer of ${label}`}>
          Copy
        </button>
      </div>
      <pre className="answer" data-testid={`try-text-${model}`}>
        {column?.text ?? ''}
      </pre>
      <small className="muted">
        {column ? `${column.tokens} tokens` : 'waiting'}
        {r ? ` · ${r.tokensPerSec.toFixed(1)} tokens/s · ${r.stopped ? 'ended on a stop token' : 'reached max new tokens'}` : column ? ' · generating…' : ''}
      </small>
    </div>
  );
}
