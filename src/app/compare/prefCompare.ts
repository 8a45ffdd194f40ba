/**
 * Compare with the DPO stage (issue 17) from tokenised preference pairs: {@link runCompare} with the held-out loss,
 * answers and check measured on the chosen answers (the held-out pairs' chosen conversations) and the preference
 * measures of the five models (compare/prefMeasures.ts); the runs are DPO LoRA on Base (Shadow-DPO, grafted onto
 * Instruct) and on Instruct (conventional DPO, reference = Instruct) with the same settings, seed, pair order and
 * initialisation (compare/trainRuns.ts). Used by the worker (app/compareSession.ts) and `shadowft compare --stage dpo`.
 */
import type { Conversation, PreferencePair } from '../../io/dataset/types';
import type { TokenizedPairRows } from '../../io/dataset/prefBatches';
import { runCompare, type CompareJob, type CompareOutcome } from './runCompare';

/** A DPO comparison job: {@link CompareJob} with preference pairs instead of SFT examples. */
export interface PrefCompareJob extends Omit<CompareJob, 'train' | 'heldout' | 'heldoutConversations' | 'pairs'> {
  readonly train: readonly TokenizedPairRows[];
  readonly heldout: readonly TokenizedPairRows[];
  /** the held-out pairs as conversations (prompt + chosen answer), in file order: prompts and references ({@link pairConversations}) */
  readonly heldoutConversations: readonly Conversation[];
}

/** Preference pairs as conversations: the prompt's messages, then the chosen answer (the reference of exact match). */
export function pairConversations(pairs: readonly PreferencePair[]): Conversation[] {
  return pairs.map((p) => ({ messages: [...p.prompt, { role: 'assistant' as const, content: p.chosen }], source: p.source, ...(p.file !== undefined ? { file: p.file } : {}), ...(p.row !== undefined ? { row: p.row } : {}) }));
}

/**
 * Runs the DPO comparison (see the file comment).
 * @throws Error when the stage is not dpo or there are no held-out pairs; everything runCompare throws
 */
export async function runPreferenceCompare(job: PrefCompareJob): Promise<CompareOutcome> {
  if (job.settings.stage !== 'dpo') throw new Error('runPreferenceCompare needs stage dpo');
  if (job.heldout.length === 0) throw new Error('Compare needs held-out preference pairs: drop or tick a preference file whose name marks it as held-out.');
  return runCompare({ ...job, train: [], heldout: job.heldout.map((p) => p.chosen), pairs: { train: job.train, heldout: job.heldout } });
}
