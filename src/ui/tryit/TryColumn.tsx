/**
 * One Try it column: the model's earlier turns of the chat (folded), the message asked, the model's answer as it streams, its token count, tokens/s (the engine's decode rate) and
 * whether it ended on a stop token, with a copy button.
 */
import type { TryColumn } from '../../store/compareSlice';
import type { ChatTurn, TryItModel } from '../../worker/client';

/**
 * The column of one model; `column` is null before its first token. `turns` are the model's earlier turns of the
 * chat and `asked` the message the answer on screen replies to (null before the first).
 */
export function TryColumnView({ label, model, column, turns, asked }: { label: string; model: TryItModel; column: TryColumn | null; turns: readonly ChatTurn[]; asked: string | null }) {
  const r = column?.reply ?? null;
  return (
    <div className="try-column" data-testid={`try-${model}`} data-done={r ? 'true' : 'false'} data-turns={turns.length}>
      <div className="try-head">
        <b>{label}</b>
        <button type="button" disabled={!column?.text} onClick={() => void navigator.clipboard?.writeText(column?.text ?? '')} aria-label={`Copy the answer of ${label}`}>
          Copy
        </button>
      </div>
      {turns.length > 0 && (
        <details className="try-history">
          <summary>{turns.length} earlier turn{turns.length === 1 ? '' : 's'}</summary>
          {turns.map((t, i) => (
            <div key={i} className="try-turn">
              <p className="muted">You: {t.user}</p>
              <pre className="answer">{t.assistant}</pre>
            </div>
          ))}
        </details>
      )}
      {asked !== null && column && <p className="muted try-asked">You: {asked}</p>}
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
