/**
 * The full-parameter branch of `shadowft train --finetuning-type full` (engine/train/runFull.ts): trains every weight of
 * the Base, then writes, each atomically, DIR/tuned-base/ (W_B′ in F32 with the Base's config and tokenizer:
 * graft/tunedBase.ts) and DIR/merged/ (the Instruct with W_I′ = W_I + (W_B′ − W_B) for every tensor, in the Instruct's
 * layout and dtype with one rounding: graft/graftTuned.ts, the same code as `shadowft graft`).
 * Checkpoints (--checkpoint-every, SIGINT) and --resume go through the job's onCheckpoint / resume as for LoRA; a
 * full-parameter checkpoint holds the f32 weights and AdamW m, v of every trained tensor: 12 bytes per parameter.
 */
import { join } from 'node:path';
import type { ModelFiles } from '../io/checkpoint';
import { planGraftTuned } from '../engine/graft/graftTuned';
import { tunedBaseFiles } from '../engine/graft/tunedBase';
import { runFullTraining } from '../engine/train/runFull';
import type { TrainJob } from '../engine/train/run';
import { modelFilesFromDir } from '../node/files';
import { writeFolderAtomically } from './atomicDir';

/** What the full branch writes, or that it was cancelled. */
export interface FullRunOutput {
  readonly status: 'complete' | 'cancelled';
  readonly steps: number;
  readonly totalSteps: number;
  /** DIR/tuned-base and DIR/merged (complete runs) */
  readonly dirs: readonly string[];
}

/**
 * Runs the job as a full-parameter run and writes its two folders under `outDir` (see the file comment).
 * @param say one log line (stderr + run.log)
 * @throws as runFullTraining; GraftError when the tuned Base cannot be grafted (the tuned Base is kept).
 */
export async function runFullCli(job: TrainJob, baseFiles: ModelFiles, instructFiles: ModelFiles, outDir: string, say: (line: string) => void): Promise<FullRunOutput> {
  const r = await runFullTraining(job);
  if (r.status === 'cancelled') return { status: 'cancelled', steps: r.steps, totalSteps: r.totalSteps, dirs: [] };
  const shapes = new Map([...job.base.tensors].map(([name, loc]) => [name, loc.info.shape]));
  const tunedDir = join(outDir, 'tuned-base');
  await writeFolderAtomically(tunedDir, tunedBaseFiles(baseFiles, [...r.tensors].map(([name, values]) => ({ name, shape: shapes.get(name) ?? [values.length], read: async () => values }))));
  say(`wrote the tuned Base (W_B′, F32) to ${tunedDir}`);
  const plan = await planGraftTuned(baseFiles, await modelFilesFromDir(tunedDir), instructFiles, { skipDerivationCheck: true, ...(job.signal ? { signal: job.signal } : {}) });
  const d = plan.derivation;
  say(`graft: σ(W_B′, W_B) = ${d.tuned?.toPrecision(4) ?? 'n/a'}, σ(W_B, W_I) = ${d.pair?.toPrecision(4) ?? 'n/a'}; ${plan.changedTensors.length} tensors changed`);
  const mergedDir = join(outDir, 'merged');
  await writeFolderAtomically(mergedDir, plan.files);
  say(`wrote the merged Instruct (W_I + (W_B′ − W_B), one rounding to the Instruct's dtype) to ${mergedDir}`);
  return { status: 'complete', steps: r.steps, totalSteps: r.totalSteps, dirs: [tunedDir, mergedDir] };
}
