/**
 * Why an action cannot start yet, from the session summary alone: one sentence naming what to do, or null when the
 * models allow it. Panels show the sentence beside their disabled button (issue 20: a model mismatch used to read
 * "Load a Base and an Instruct model first" with both loaded, and Start stayed enabled without tokenizer files).
 */
import type { SessionSummary } from '../worker/client';

/** What blocks σ and anything else that needs a compatible pair (null: the pair is ready). */
export function pairBlocker(s: SessionSummary | null): string | null {
  if (s?.pairReady) return null;
  if (!s?.base || !s.instruct) {
    // A rejected folder (no config.json, a missing shard, an unsupported model_type, only one model) says why itself.
    return s?.errors[0] ? `No model pair: ${s.errors[0]}` : 'Load a Base and an Instruct model first.';
  }
  return `Base and Instruct do not match: ${s.errors[0] ?? 'see the models panel'}. Drop a matching pair.`;
}

/** What blocks tokenising the data with the Instruct chat template (training, Compare, the dataset preview). */
export function templateBlocker(s: SessionSummary | null): string | null {
  const pair = pairBlocker(s);
  if (pair !== null || !s?.instruct) return pair;
  if (!s.instruct.hasTokenizer) return `Instruct ${s.instruct.name} has no tokenizer files: add tokenizer.json and tokenizer_config.json to its folder.`;
  return null;
}

/** What blocks a training run from the files: the pair, the tokenizer, then training examples. */
export function trainBlocker(s: SessionSummary | null): string | null {
  const t = templateBlocker(s);
  if (t !== null || !s) return t;
  return s.trainExamples === 0 ? 'Drop a training dataset first.' : null;
}
