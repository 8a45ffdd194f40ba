/**
 * The comparison's results: one row per model (held-out loss, exact match, check rate, mean answer tokens), the
 * winner of each measure marked (none when all tie), the wording (app/compare/wording: verdicts, disagreements, noise rule) and the first
 * answers side by side with the reference.
 */
import { COMPARE_MODEL_LABELS, COMPARE_MODELS, type CompareModel, type CompareView, type VerdictMeasure } from '../../worker/client';
import { bestModels } from './bestCells';

const rate = (x: number | null, n: number): string => (x === null ? '–' : `${(100 * x).toFixed(0)}% (${Math.round(x * n)}/${n})`);

/** The table and the sentences. */
export function CompareTable({ view }: { view: CompareView }) {
  const r = view.result;
  const n = r.eval_prompts;
  const cls = (measure: VerdictMeasure, m: CompareModel): string | undefined => (bestModels(view, measure).has(m) ? 'best' : undefined);
  return (
    <div>
      <table className="compare-table" data-testid="compare-table">
        <thead>
          <tr>
            <th>model</th>
            <th>held-out loss</th>
            <th>exact match</th>
            <th>check {r.options.checkRegex ? <code>{r.options.checkRegex}</code> : null}</th>
            <th>mean answer tokens</th>
          </tr>
        </thead>
        <tbody>
          {COMPARE_MODELS.map((m) => (
            <tr key={m} data-model={m}>
              <td>{COMPARE_MODEL_LABELS[m]}</td>
              <td className={cls('heldout_loss', m)} data-value={r.heldout_loss[m] ?? ''}>{r.heldout_loss[m]?.toFixed(4) ?? '–'}</td>
              <td className={cls('exact_match', m)} data-value={r.exact_match[m] ?? ''}>{rate(r.exact_match[m], n)}</td>
              <td className={cls('check_rate', m)} data-value={r.check_rate[m] ?? ''}>{rate(r.check_rate[m], n)}</td>
              <td data-value={r.mean_answer_tokens[m] ?? ''}>{r.mean_answer_tokens[m]?.toFixed(1) ?? '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">
        {r.train_examples} training examples, {r.heldout_examples} held-out (loss), greedy answers to the first {n} held-out prompts ({r.options.maxNewTokens} new tokens at most);
        exact match compares answer and reference after trimming and collapsing whitespace. Steps: Shadow-FT {r.steps.shadow}, conventional {r.steps.conventional}.
      </p>
      <ul className="verdicts" data-testid="compare-wording">
        {view.wording.verdicts.map((v) => (
          <li key={v.measure}>{v.text}</li>
        ))}
        {view.wording.disagreements.map((d) => (
          <li key={d} className="warnings">
            {d}
          </li>
        ))}
        {view.wording.notes.map((d) => (
          <li key={d} className="muted">
            {d}
          </li>
        ))}
      </ul>
      {view.samples.length > 0 && (
        <details>
          <summary>Answers ({view.samples.length} prompts)</summary>
          {view.samples.slice(0, 10).map((s) => (
            <div key={s.source} className="sample">
              <p>
                <b>{s.prompt}</b> <span className="muted">({s.source})</span>
              </p>
              <table>
                <tbody>
                  <tr>
                    <td>reference</td>
                    <td className="answer">{s.reference}</td>
                  </tr>
                  {COMPARE_MODELS.map((m) => (
                    <tr key={m}>
                      <td>{COMPARE_MODEL_LABELS[m]}</td>
                      <td className="answer">{s.answers[m]?.text ?? '–'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ))}
        </details>
      )}
    </div>
  );
}
