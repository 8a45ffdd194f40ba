/**
 * Held-out preference metrics of a stage-dpo run (Shadow-DPO): for Base → Base + LoRA and Instruct → Instruct +
 * grafted LoRA, the preference accuracy (implicit reward r = β(π − ref) of chosen > rejected, against the same model
 * without the adapter), the mean reward margin and the mean chosen/rejected log-probs (LLaMA-Factory's
 * rewards/accuracies, rewards/margins, logps/chosen, logps/rejected). Before training every reward is 0 (the model is
 * its own reference), so the accuracy starts at 0.
 */
import type { PrefEvalView } from '../store/types';

const ROWS = [
  { label: 'Base', model: 'base' },
  { label: 'Base + LoRA (DPO)', model: 'base+lora' },
  { label: 'Instruct', model: 'instruct' },
  { label: 'Instruct + grafted LoRA (Shadow-DPO)', model: 'instruct+graft' },
] as const;

const num = (x: number | undefined, digits: number): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));

/** The table, or nothing without metrics. */
export function PrefEvalTable({ evals }: { evals: readonly PrefEvalView[] | undefined }) {
  if (!evals || evals.length === 0) return null;
  return (
    <table className="evals" data-testid="pref-eval-table">
      <caption>Held-out preference metrics (rewards against the same model without the adapter)</caption>
      <thead>
        <tr><th>Model</th><th>Accuracy</th><th>Margin</th><th>log p chosen</th><th>log p rejected</th><th>Loss</th></tr>
      </thead>
      <tbody>
        {ROWS.map((r) => {
          const e = evals.find((x) => x.model === r.model);
          return (
            <tr key={r.model} data-model={r.model}>
              <td>{r.label}</td>
              <td data-testid={`pref-accuracy-${r.model}`}>{e ? `${(100 * e.metrics.accuracy).toFixed(1)}%` : '–'}</td>
              <td>{num(e?.metrics.margin, 4)}</td>
              <td>{num(e?.metrics.logpsChosen, 2)}</td>
              <td>{num(e?.metrics.logpsRejected, 2)}</td>
              <td>{num(e?.loss, 4)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
