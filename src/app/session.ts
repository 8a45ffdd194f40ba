/**
 * Worker-side state of what the user dropped: the accumulated files (path → Blob), their recognition into a
 * Base/Instruct pair and datasets (src/io), and a plain, structured-cloneable {@link SessionSummary} for the UI.
 * Files accumulate over several drops (a later file with the same path replaces the earlier one); `clear()` forgets all.
 * Runs in the engine worker only (no DOM).
 */
import { loadModel, type LoadedModel } from './loadModel';
import type { LmHeadLayout } from '../io/head';
import type { ChatTemplateSource } from '../io/tokenizer/template';
import type { Conversation, DatasetKind, PreferencePair, SkippedRow } from '../io/dataset/types';
import { readDatasetFile, type DatasetFileFormat, type DatasetSplit } from '../io/dataset/parse';
import { parseDatasetInfo, DEFAULT_ATTR, type DatasetInfoEntry } from '../io/dataset/datasetInfo';
import type { DatasetSchema } from '../io/dataset/rows';
import { recognizeDrop, type DroppedFile, type IgnoredFile, type RecognizedModel } from '../io/folder';
import { checkPairCompatible } from '../io/pair';
import { triageWeightFolders } from './dropTriage';
import { modelIdentity, pairIdentity } from '../io/identity';
import { assignRoles, type RoleAssignment } from '../io/roles';

/** One model as shown to the user. */
export interface ModelSummary {
  readonly name: string;
  /** Folder path inside the drop ("" for loose files). */
  readonly folder: string;
  readonly modelType: string;
  /** L, C, V, H, KV */
  readonly numLayers: number;
  readonly hiddenSize: number;
  readonly vocabSize: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly numTensors: number;
  /** Σ numel over every tensor of the checkpoint. */
  readonly numParams: number;
  /** Σ tensor bytes (file dtype). */
  readonly totalBytes: number;
  /** Distinct tensor dtypes, sorted (e.g. ["BF16"]). */
  readonly dtypes: readonly string[];
  readonly hasTokenizer: boolean;
  readonly hasChatTemplate: boolean;
  /** lm_head as the files hold it (io/head.ts). */
  readonly lmHead: LmHeadLayout;
  readonly chatTemplateSource: ChatTemplateSource | null;
  /** Warnings about this model (e.g. config.json says tied but the checkpoint has its own lm_head). */
  readonly warnings: readonly string[];
  /** Content identity of the folder (io/identity.ts modelIdentity: sizes, times, config.json and headers). */
  readonly identity: string;
}

export type { LoadedModel };

/** Skipped rows listed per file in the summary (the counts are always complete). */
const MAX_LISTED_SKIPS = 20;

/** One dataset file: its kept/skipped rows, or the error that names the file. */
export interface DatasetSummary {
  readonly path: string;
  readonly name: string;
  /** Container (extension). */
  readonly format: DatasetFileFormat;
  /** Detected layout of the rows (alpaca, sharegpt, messages, csv, mixed); null when the file could not be read. */
  readonly schema: DatasetSchema | null;
  /** SFT conversations or preference pairs (chosen/rejected); null when the file could not be read. */
  readonly kind: DatasetKind | null;
  readonly split: DatasetSplit;
  /** Conversations (SFT) or pairs (preference) kept; null when the file could not be read. */
  readonly examples: number | null;
  /** Rows skipped by the parser (count) and the first few with their reason. */
  readonly skippedCount: number;
  readonly skipped: readonly SkippedRow[];
  readonly error: string | null;
  /** Ticked for training (the user can untick; a duplicate starts unticked). */
  readonly enabled: boolean;
  /** Path of an earlier file with exactly the same conversations, or null. */
  readonly duplicateOf: string | null;
  /** The dataset_info.json entry that says how the file is read, or null (layout detected from the keys). */
  readonly datasetInfoName: string | null;
}

/** Everything the UI shows about the current drop. Plain data (structured-cloneable). */
export interface SessionSummary {
  readonly base: ModelSummary | null;
  readonly instruct: ModelSummary | null;
  /** Base and Instruct loaded and compatible (σ and training can run). */
  readonly pairReady: boolean;
  /**
   * Identity of the compatible pair, "base identity|instruct identity" (io/identity.ts pairIdentity), or null.
   * Caches (σ, held-out losses, checkpoints) are keyed by it, never by folder names.
   */
  readonly pairId: string | null;
  /** How roles were assigned ("swapped" after the user pressed Swap). */
  readonly decidedBy: RoleAssignment['decidedBy'] | 'swapped' | null;
  /** Recognised models not used as Base/Instruct (only when more than two were dropped). */
  readonly otherModels: readonly string[];
  readonly datasets: readonly DatasetSummary[];
  readonly ignored: readonly IgnoredFile[];
  /** Problems that block a step, each naming the file/tensor. */
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
  /** Σ examples of the train / held-out dataset files that parsed. */
  readonly trainExamples: number;
  readonly heldoutExamples: number;
  readonly fileCount: number;
}

/** A compatible Base/Instruct pair. */
export interface LoadedPair {
  readonly base: LoadedModel;
  readonly instruct: LoadedModel;
  /** io/identity.ts modelIdentity of each side and their pairIdentity. */
  readonly baseId: string;
  readonly instructId: string;
  readonly id: string;
}

interface ParsedDataset {
  readonly summary: DatasetSummary;
  readonly conversations: readonly Conversation[];
  readonly pairs: readonly PreferencePair[];
  readonly skipped: readonly SkippedRow[];
}

/** FNV-1a over the conversations' messages (or the pairs' texts): equal for two files holding the same examples in any container. */
function fingerprint(conversations: readonly Conversation[], pairs: readonly PreferencePair[] = []): string {
  let h = 0x811c9dc5;
  const text = pairs.length ? JSON.stringify(pairs.map((p) => [p.prompt, p.chosen, p.rejected])) : JSON.stringify(conversations.map((c) => c.messages));
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return `${conversations.length + pairs.length}:${h.toString(16)}`;
}

const isDatasetInfo = (path: string): boolean => (path.split('/').pop() ?? path) === 'dataset_info.json';

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function summarise(l: LoadedModel, identity: string): ModelSummary {
  let numParams = 0;
  const dtypes = new Set<string>();
  for (const { info } of l.checkpoint.tensors.values()) {
    numParams += info.shape.reduce((a, b) => a * b, 1);
    dtypes.add(info.dtype);
  }
  const c = l.config;
  return {
    name: l.model.files.name,
    folder: l.model.folder,
    modelType: c.modelType,
    numLayers: c.numLayers,
    hiddenSize: c.hiddenSize,
    vocabSize: c.vocabSize,
    numHeads: c.numHeads,
    numKvHeads: c.numKvHeads,
    numTensors: l.checkpoint.tensors.size,
    numParams,
    totalBytes: l.checkpoint.totalBytes,
    dtypes: [...dtypes].sort(),
    hasTokenizer: l.model.hasTokenizer,
    hasChatTemplate: l.model.hasChatTemplate,
    lmHead: l.lmHead,
    chatTemplateSource: l.chatTemplateSource,
    warnings: l.warnings,
    identity,
  };
}

/** The dropped files and what they were recognised as. */
export class Session {
  private files = new Map<string, Blob>();
  private swapped = false;
  private pairKey = '';
  private pair: LoadedPair | null = null;
  private datasets: ParsedDataset[] = [];
  /** Dataset paths the user unticked / ticked explicitly (a duplicate is unticked unless ticked here). */
  private choice = new Map<string, boolean>();
  private summary: SessionSummary = Session.empty();

  private static empty(): SessionSummary {
    return { base: null, instruct: null, pairReady: false, pairId: null, decidedBy: null, otherModels: [], datasets: [], ignored: [], errors: [], warnings: [], trainExamples: 0, heldoutExamples: 0, fileCount: 0 };
  }

  /** Adds files (paths relative to the drop, top folder included) and re-recognises everything. */
  async add(dropped: readonly DroppedFile[]): Promise<SessionSummary> {
    for (const d of dropped) this.files.set(d.path.replace(/\\/g, '/').replace(/^\/+/, ''), d.file);
    return this.refresh();
  }

  /** Ticks or unticks a dataset file for training. */
  async setDatasetEnabled(path: string, enabled: boolean): Promise<SessionSummary> {
    this.choice.set(path, enabled);
    return this.refresh();
  }

  /** Removes one dataset file from the drop (other files stay). */
  async removeDataset(path: string): Promise<SessionSummary> {
    this.files.delete(path);
    this.choice.delete(path);
    return this.refresh();
  }

  /** Forgets every file. */
  clear(): SessionSummary {
    this.choice.clear();
    this.files.clear();
    this.swapped = false;
    this.pair = null;
    this.datasets = [];
    this.summary = Session.empty();
    return this.summary;
  }

  /** Exchanges the Base and Instruct roles. */
  async swap(): Promise<SessionSummary> {
    this.swapped = !this.swapped;
    return this.refresh();
  }

  /** The last summary. */
  current(): SessionSummary {
    return this.summary;
  }

  /**
   * The compatible pair. @throws Error naming what is missing or incompatible (the summary's first error).
   */
  requirePair(): LoadedPair {
    if (!this.pair) throw new Error(this.summary.errors[0] ?? 'Load a Base and an Instruct model first (drop both folders, or click Load demo).');
    return this.pair;
  }

  /** Conversations of every ticked dataset of a split, in drop order. */
  conversations(split: DatasetSplit): Conversation[] {
    return this.used(split).flatMap((d) => d.conversations);
  }

  /** Preference pairs of every ticked preference dataset of a split, in drop order. */
  pairs(split: DatasetSplit): PreferencePair[] {
    return this.used(split).flatMap((d) => d.pairs);
  }

  /** Name and kind (SFT or preference) of every ticked, readable dataset of a split, in drop order. */
  datasetKinds(split: DatasetSplit): { name: string; kind: DatasetKind | null }[] {
    return this.used(split).map((d) => ({ name: d.summary.name, kind: d.summary.kind }));
  }

  /** Rows the parsers skipped in the ticked datasets of a split. */
  skippedRows(split: DatasetSplit): SkippedRow[] {
    return this.used(split).flatMap((d) => d.skipped);
  }

  private used(split: DatasetSplit): ParsedDataset[] {
    return this.datasets.filter((d) => d.summary.split === split && d.summary.enabled && d.summary.error === null);
  }

  private async refresh(): Promise<SessionSummary> {
    const drop = triageWeightFolders(await recognizeDrop([...this.files].map(([path, file]) => ({ path, file }))));
    const errors: string[] = [];
    const warnings: string[] = [];
    const models = drop.models;
    const key = models.map((m) => m.folder).join('\n');
    if (key !== this.pairKey) this.swapped = false;
    this.pairKey = key;
    let base: ModelSummary | null = null;
    let instruct: ModelSummary | null = null;
    let decidedBy: SessionSummary['decidedBy'] = null;
    this.pair = null;
    // The real reason first: a folder with config.json that cannot be used (e.g. a missing shard), a lone model
    // that does not load (e.g. an unsupported model_type); only then that a second model is needed.
    for (const r of drop.rejectedModels) errors.push(`${r.folder || 'dropped files'}: ${r.reason}`);
    if (models.length === 1) {
      const only = models[0] as RecognizedModel;
      try {
        warnings.push(...(await loadModel(only)).warnings);
        if (drop.rejectedModels.length === 0) errors.push(`Only one model folder found (${only.files.name}); drop the second one (Base and Instruct are both needed).`);
      } catch (e) {
        errors.push(message(e));
      }
    }
    if (models.length > 2) errors.push(`${models.length} model folders found (${models.map((m) => m.folder || m.files.name).join(', ')}); Base and Instruct are the first two. Clear and drop exactly two.`);
    if (models.length >= 2) {
      const a = assignRoles(models[0] as RecognizedModel, models[1] as RecognizedModel);
      const roles = this.swapped ? { base: a.instruct, instruct: a.base } : a;
      decidedBy = this.swapped ? 'swapped' : a.decidedBy;
      if (a.decidedBy === 'ambiguous' && !this.swapped) warnings.push(`Could not tell Base from Instruct by folder name or chat template; assumed Base = ${a.base.files.name}. Use Swap if that is wrong.`);
      try {
        const [lb, li, baseId, instructId] = await Promise.all([loadModel(roles.base), loadModel(roles.instruct), modelIdentity(roles.base.files), modelIdentity(roles.instruct.files)]);
        base = summarise(lb, baseId);
        instruct = summarise(li, instructId);
        warnings.push(...checkPairCompatible(lb, li)); // each model's own warnings are on its card (ModelSummary.warnings)
        this.pair = { base: lb, instruct: li, baseId, instructId, id: pairIdentity(baseId, instructId) };
        if (!li.model.hasTokenizer) errors.push(`Instruct ${li.model.files.name}: tokenizer.json and tokenizer_config.json are needed to tokenise the dataset.`);
        else if (!li.model.hasChatTemplate) warnings.push(`Instruct ${li.model.files.name} has no chat template; training needs the Instruct chat template.`);
      } catch (e) {
        errors.push(message(e));
      }
    }
    // LLaMA-Factory data folders: dataset_info.json says how its files are read (io/dataset/datasetInfo).
    const info = new Map<string, DatasetInfoEntry>();
    for (const d of drop.datasets.filter((x) => isDatasetInfo(x.path))) {
      try {
        const parsed = parseDatasetInfo(await d.file.text(), d.path);
        for (const [k, v] of parsed.entries) info.set(k, v);
        warnings.push(...parsed.unusable);
      } catch (e) {
        errors.push(message(e));
      }
    }
    const seen = new Map<string, string>();
    const parsed = await Promise.all(
      drop.datasets.filter((x) => !isDatasetInfo(x.path)).map(async (d) => {
        const entry = info.get(d.path);
        try {
          return { d, entry, result: await readDatasetFile(d.file, d.path, entry?.attr ?? DEFAULT_ATTR), error: null };
        } catch (e) {
          return { d, entry, result: null, error: message(e) };
        }
      }),
    );
    this.datasets = parsed.map(({ d, entry, result, error }): ParsedDataset => {
      let duplicateOf: string | null = null;
      if (result && result.conversations.length + result.pairs.length > 0) {
        const fp = fingerprint(result.conversations, result.pairs);
        duplicateOf = seen.get(fp) ?? null;
        if (duplicateOf === null) seen.set(fp, d.path);
      }
      const enabled = this.choice.get(d.path) ?? duplicateOf === null;
      const summary: DatasetSummary = {
        path: d.path, name: d.name, format: d.format, split: d.split, schema: result?.schema ?? null, kind: result?.kind ?? null,
        examples: result ? result.conversations.length + result.pairs.length : null, skippedCount: result?.skipped.length ?? 0,
        skipped: result?.skipped.slice(0, MAX_LISTED_SKIPS) ?? [], error, enabled, duplicateOf, datasetInfoName: entry?.attr.name ?? null,
      };
      return { summary, conversations: result?.conversations ?? [], pairs: result?.pairs ?? [], skipped: result?.skipped ?? [] };
    });
    for (const d of this.datasets) {
      if (d.summary.error && d.summary.enabled) errors.push(d.summary.error);
      if (d.summary.duplicateOf) warnings.push(`${d.summary.path} holds the same examples as ${d.summary.duplicateOf}${d.summary.enabled ? '' : '; it is unticked so they are not trained twice'}.`);
    }
    const count = (s: DatasetSplit): number => this.used(s).reduce((n, d) => n + (d.summary.examples ?? 0), 0);
    this.summary = {
      base,
      instruct,
      pairReady: this.pair !== null,
      pairId: this.pair?.id ?? null,
      decidedBy,
      otherModels: models.slice(2).map((m) => m.files.name),
      datasets: this.datasets.map((d) => d.summary),
      ignored: drop.ignored,
      errors,
      warnings,
      trainExamples: count('train'),
      heldoutExamples: count('heldout'),
      fileCount: this.files.size,
    };
    return this.summary;
  }
}
