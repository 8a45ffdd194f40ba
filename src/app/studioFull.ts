/**
 * The studio's hold on the last full-parameter run (W_B′ in the worker's memory, app/fullTraining.ts) and the worker
 * methods that read it: what the last run kept, and its two exports (app/fullExports.ts). studio.ts spreads `api`
 * into its API and calls `keep` after each run.
 */
import { exportFullMergedZip, exportTunedBaseZip } from './fullExports';
import type { ExportedZip } from './exports';
import type { TrainedFull } from './fullTraining';
import { throttle, type Operations } from './operations';
import type { ExportProgress } from './progress';
import type { Session } from './session';

/** What the worker holds of the last run's weights (structured-cloneable). */
export interface LastRunWeights {
  /** 'lora': a PEFT adapter (the LoRA exports); 'full': W_B′ of a full-parameter run (tuned Base + merged Instruct); null: none */
  readonly kind: 'lora' | 'full' | null;
  readonly baseModel: string | null;
  readonly instructModel: string | null;
}

/**
 * Creates the holder. `keep(full)` after a run: W_B′ of a full run, or null after a LoRA run (its exports then refer
 * to the adapter).
 */
export function fullRunHolder(session: Session, ops: Operations) {
  let full: TrainedFull | null = null;
  const require = (): TrainedFull => {
    if (!full) throw new Error('No full-parameter run: choose Finetuning type Full and train first (the tuned weights of a run are kept in this tab only, not across a reload).');
    return full;
  };
  return {
    keep(f: TrainedFull | null): void {
      full = f;
    },
    /** true when the last run was a full-parameter one */
    hasFull: (): boolean => full !== null,
    api: {
      /** The tuned Base W_B′ of the last full-parameter run (F32, Base config and tokenizer) as a zip. @throws Error without one, or for another pair. */
      exportTunedBase(opId: number, onProgress: (p: ExportProgress) => void): Promise<ExportedZip> {
        return ops.withOp(opId, (signal) => exportTunedBaseZip(require(), session.requirePair().base.model.files, throttle(100, onProgress), signal));
      },
      /** The merged Instruct W_I + (W_B′ − W_B) of the last full-parameter run (Instruct dtype) as a zip. @throws Error without one, or for another pair. */
      exportFullMerged(opId: number, onProgress: (p: ExportProgress) => void): Promise<ExportedZip> {
        return ops.withOp(opId, (signal) => {
          const { base, instruct } = session.requirePair();
          return exportFullMergedZip(require(), base.model.files, instruct.model.files, throttle(100, onProgress), signal);
        });
      },
    },
  };
}
