/**
 * The comparison's results: one row per model (held-out loss, exact match, check rate, mean answer tokens; for stage
 * dpo first the preference accuracy, reward margin and chosen / rejected log-probs on the held-out pairs), models
 * named by the comparison's kind (app/compare/kind.ts), the winner of each measure marked (none when all tie), the
 * wording (app/compare/wording: verdicts, disagreements, noise rule) and the first answers side by side with the reference.
 */
import { COMPARE_MODELS, resultLabels, type CompareModel, type CompareView, type VerdictMeasure } from '../../worker/client';
import { bestModels } from './bestCells';
import { hasPreference } from './compareCsv';

const rate = (x: number | null, n: number): string => (x === null ? '–' : `${(100 * x).toFixed(0)}% (${Math.round(x * n)}/${n})`);

/** The table and the sentences. */
export function CompareTable({ view }: { view: CompareView }) {
  const r = view.result;
  const n = r.eval_prompts;
  const cls = (measure: VerdictMeasure, m: CompareModel): string | undefined => (bestModels(view, measure).has(m) ? 'best' : undefined);
  const labels = resultLabels(r);
  const pref = hasPreference(r);
  const num = (x: number | null | undefined, d: number): string => (x === null || x === undefined ? '–' : x.toFixed(d));
  const dpo = r.stage === 'dpo';
  const full = r.finetuning_type === 'full';
  return (
    <div>
      <table className="compare-table" data-testid="compare-table">
        <thead>
          <tr>
            <th>model</th>
            {pref && (
              <>
                <th title="held-out pairs whose chosen answer gets the higher implicit reward, against the same model without its tuning">preference accuracy</th>
                <th>reward margin</th>
                <th>log p chosen</th>
                <th>log p rejected</th>
              </>
            )}
            <th>{dpo ? 'held-out loss (chosen)' : 'held-out loss'}</th>
            <th>exact match</th>
            <th>check {r.options.checkRegex ? <code>{r.options.checkRegex}</code> : null}</th>
            <th>mean answer tokens</th>
          </tr>
        </thead>
        <tbody>
          {COMPARE_MODELS.map((m) => (
            <tr key={m} data-model={m}>
              <td>{labels[m]}</td>
              {pref && (
                <>
                  <td className={cls('preference_accuracy', m)} data-value={r.preference_accuracy?.[m] ?? ''} data-testid={`compare-pref-accuracy-${m}`}>{rate(r.preference_accuracy?.[m] ?? null, r.heldout_examples)}</td>
                  <td data-value={r.reward_margin?.[m] ?? ''}>{num(r.reward_margin?.[m], 4)}</td>
                  <td data-value={r.chosen_logps?.[m] ?? ''}>{num(r.chosen_logps?.[m], 2)}</td>
                  <td data-value={r.rejected_logps?.[m] ?? ''}>{num(r.rejected_logps?.[m], 2)}</td>
                </>
              )}
              <td className={cls('heldout_loss', m)} data-value={r.heldout_loss[m] ?? ''}>{r.heldout_loss[m]?.toFixed(4) ?? '–'}</td>
              <td className={cls('exact_match', m)} data-value={r.exact_match[m] ?? ''}>{rate(r.exact_match[m], n)}</td>
              <td className={cls('check_rate', m)} data-value={r.check_rate[m] ?? ''}>{rate(r.check_rate[m], n)}</td>
              <td data-value={r.mean_answer_tokens[m] ?? ''}>{r.mean_answer_tokens[m]?.toFixed(1) ?? '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">
        {r.train_examples} training {dpo ? 'pairs' : 'examples'}, {r.heldout_examples} held-out {dpo ? 'pairs (preference measures; loss on their chosen answers)' : '(loss)'}, greedy answers to the first {n} held-out prompts ({r.options.maxNewTokens} new tokens at most);
        exact match compares answer and reference after trimming and collapsing whitespace. Steps: {dpo ? 'Shadow-DPO' : 'Shadow-FT'} {r.steps.shadow}, conventional {r.steps.conventional}.
        {full && ' Full-parameter: both tuned Instructs are evaluated in the Instruct\'s dtype, rounded once, as downloaded (the Shadow-FT graft W_I + (W_B′ − W_B) and the conventional W_I″); the tuned Base in F32 as trained.'}
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
                      <td>{labels[m]}</td>
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
