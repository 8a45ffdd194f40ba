/**
 * Worker side of "Export for a cluster" (src/app/handoff: LLaMA-Factory YAMLs, ShareGPT data, mergekit config,
 * README, as one zip) and "Graft a tuned Base" (engine/graft/graftTuned.ts: check a dropped TUNED folder — full
 * model or PEFT/LLaMA-Factory LoRA adapter — against the loaded pair, report σ(W_B′, W_B) per tensor, then stream
 * the grafted Instruct model into a zip).
 */
import { downloadZip } from 'client-zip';
import { buildHandoff } from './handoff/handoff';
import { similarityCsv } from '../engine/analysis/similarityCsv';
import type { SimilarityReport } from '../engine/analysis/similarity';
import { planGraftTuned, type GraftTunedPlan } from '../engine/graft/graftTuned';
import type { VocabMismatch } from '../engine/graft/tunedChecks';
import { zipWithProgress } from './zipExport';
import type { TrainSettings } from '../engine/train/types';
import type { ModelFiles } from '../io/checkpoint';
import type { DroppedFile } from '../io/folder';
import type { ExportedZip } from './exports';
import type { ExportProgress } from './progress';
import type { Session } from './session';

/** Options of the cluster export (the UI's choices). */
export interface HandoffOptions {
  readonly finetuningType: 'lora' | 'full';
  /** How the YAMLs name the models on the cluster (default: the folder names). */
  readonly basePath?: string;
  readonly instructPath?: string;
}

/**
 * The cluster export of the loaded pair and datasets with `settings`, as a zip with one top folder.
 * @throws HandoffError (see buildHandoff); Error when no pair or no training data is loaded.
 */
export async function exportHandoffZip(session: Session, settings: TrainSettings, opts: HandoffOptions): Promise<ExportedZip> {
  const { base, instruct } = session.requirePair();
  const dpo = settings.stage === 'dpo';
  const train = session.conversations('train');
  const trainPairs = session.pairs('train');
  if ((dpo ? trainPairs.length : train.length) === 0) throw new Error(dpo ? 'Drop a preference dataset first (chosen/rejected pairs): the DPO export converts it for LLaMA-Factory.' : 'Drop a training dataset first: the export converts it for LLaMA-Factory.');
  const heldout = session.conversations('heldout');
  const basePath = opts.basePath?.trim();
  const instructPath = opts.instructPath?.trim();
  const heldoutPairs = session.pairs('heldout');
  const files = await buildHandoff({
    base: base.model.files,
    instruct: instruct.model.files,
    basePath: basePath || base.model.files.name,
    instructPath: instructPath || instruct.model.files.name,
    bareModelNames: !basePath || !instructPath,
    train,
    heldout: heldout.length ? heldout : null,
    ...(dpo ? { trainPairs, heldoutPairs: heldoutPairs.length ? heldoutPairs : null } : {}),
    settings,
    finetuningType: opts.finetuningType,
  });
  const folder = `${instruct.model.files.name}-shadowft-llamafactory`;
  const lastModified = new Date();
  const enc = new TextEncoder();
  const entries = files.map((f) => {
    const bytes = enc.encode(f.text);
    return { name: `${folder}/${f.name}`, input: bytes, size: bytes.byteLength, lastModified };
  });
  const blob = await downloadZip(entries, { metadata: entries, buffersAreUTF8: true }).blob();
  return { fileName: `${folder}.zip`, blob };
}

/** Options of the graft (the UI's checkboxes). */
export interface GraftOptions {
  readonly sharedRowsOnly: boolean;
  readonly skipDerivationCheck: boolean;
}

/** What the checks found: shown before the user downloads the grafted model. */
export interface GraftCheckResult {
  readonly tunedName: string;
  readonly kind: 'full' | 'lora';
  /** σ(W_B′, W_B) per tensor. */
  readonly tuning: SimilarityReport;
  readonly csv: string;
  readonly derivation: GraftTunedPlan['derivation'];
  readonly changedTensors: readonly string[];
  readonly vocab: readonly VocabMismatch[];
  readonly totalTensorBytes: number;
  readonly scaling: number | null;
}

/** Dropped files of one folder → ModelFiles (the common top folder becomes the name). */
export function tunedFolder(files: readonly DroppedFile[]): ModelFiles {
  const tops = new Set(files.map((f) => (f.path.includes('/') ? f.path.split('/')[0] : '')));
  const top = tops.size === 1 ? ([...tops][0] as string) : '';
  const map = new Map<string, Blob>();
  for (const f of files) map.set(top ? f.path.slice(top.length + 1) : f.path, f.file);
  return { name: top || 'tuned', files: map };
}

/**
 * Checks TUNED against the loaded pair and plans the graft (nothing is written yet).
 * @param pairReport the σ(W_B, W_I) report when the app already has it.
 * @throws GraftError / AdapterError / CheckpointError naming the file or tensor; the signal's reason.
 */
export async function prepareGraft(session: Session, files: readonly DroppedFile[], opts: GraftOptions, pairReport: SimilarityReport | null, signal: AbortSignal): Promise<{ plan: GraftTunedPlan; result: GraftCheckResult }> {
  const { base, instruct } = session.requirePair();
  const tuned = tunedFolder(files);
  const plan = await planGraftTuned(base.model.files, tuned, instruct.model.files, {
    sharedRowsOnly: opts.sharedRowsOnly,
    skipDerivationCheck: opts.skipDerivationCheck,
    signal,
    ...(pairReport ? { pairReport } : {}),
  });
  const { kind, tuning, derivation, changedTensors, vocab, totalTensorBytes, scaling } = plan;
  return { plan, result: { tunedName: tuned.name, kind, tuning, csv: similarityCsv(tuning), derivation, changedTensors, vocab, totalTensorBytes, scaling } };
}

/** Streams a planned graft into a zip (folder `<instruct>-shadowft-grafted`). */
export async function exportGraftZip(plan: GraftTunedPlan, instructName: string, onProgress: (p: ExportProgress) => void, signal: AbortSignal): Promise<ExportedZip> {
  return zipWithProgress(plan.files, `${instructName}-shadowft-grafted`, onProgress, signal);
}
