/**
 * Worker-side state of what the user dropped: the accumulated files (path → Blob), their recognition into a
 * Base/Instruct pair and datasets (src/io), and a plain, structured-cloneable {@link SessionSummary} for the UI.
 * Files accumulate over several drops (a later file with the same path replaces the earlier one); `clear()` forgets all.
 * Runs in the engine worker only (no DOM).
 */
import { loadModel, type LoadedModel } from '../app/loadModel';
import type { LmHeadLayout } from '../io/head';
import type { ChatTemplateSource } from '../io/tokenizer/template';
import type { Conversation } from '../io/dataset/types';
import { readDatasetFile, type DatasetFileFormat, type DatasetSplit } from '../io/dataset/parse';
import { recognizeDrop, type DroppedFile, type IgnoredFile, type RecognizedModel } from '../io/folder';
import { checkPairCompatible } from '../io/pair';
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
}

export type { LoadedModel };

/** One dataset file: its example count, or the error that names the file and row. */
export interface DatasetSummary {
  readonly path: string;
  readonly name: string;
  readonly format: DatasetFileFormat;
  readonly split: DatasetSplit;
  /** Conversations parsed; null when parsing failed. */
  readonly examples: number | null;
  readonly error: string | null;
}

/** Everything the UI shows about the current drop. Plain data (structured-cloneable). */
export interface SessionSummary {
  readonly base: ModelSummary | null;
  readonly instruct: ModelSummary | null;
  /** Base and Instruct loaded and compatible (σ and training can run). */
  readonly pairReady: boolean;
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
}

interface ParsedDataset {
  readonly summary: DatasetSummary;
  readonly conversations: readonly Conversation[];
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function summarise(l: LoadedModel): ModelSummary {
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
  };
}

/** The dropped files and what they were recognised as. */
export class Session {
  private files = new Map<string, Blob>();
  private swapped = false;
  private pairKey = '';
  private pair: LoadedPair | null = null;
  private datasets: ParsedDataset[] = [];
  private summary: SessionSummary = Session.empty();

  private static empty(): SessionSummary {
    return { base: null, instruct: null, pairReady: false, decidedBy: null, otherModels: [], datasets: [], ignored: [], errors: [], warnings: [], trainExamples: 0, heldoutExamples: 0, fileCount: 0 };
  }

  /** Adds files (paths relative to the drop, top folder included) and re-recognises everything. */
  async add(dropped: readonly DroppedFile[]): Promise<SessionSummary> {
    for (const d of dropped) this.files.set(d.path.replace(/\\/g, '/').replace(/^\/+/, ''), d.file);
    return this.refresh();
  }

  /** Forgets every file. */
  clear(): SessionSummary {
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

  /** Conversations of every parsed dataset of a split, in drop order. */
  conversations(split: DatasetSplit): Conversation[] {
    return this.datasets.filter((d) => d.summary.split === split).flatMap((d) => d.conversations);
  }

  private async refresh(): Promise<SessionSummary> {
    const drop = await recognizeDrop([...this.files].map(([path, file]) => ({ path, file })));
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
        const [lb, li] = await Promise.all([loadModel(roles.base), loadModel(roles.instruct)]);
        base = summarise(lb);
        instruct = summarise(li);
        warnings.push(...checkPairCompatible(lb, li)); // each model's own warnings are on its card (ModelSummary.warnings)
        this.pair = { base: lb, instruct: li };
        if (!li.model.hasTokenizer) errors.push(`Instruct ${li.model.files.name}: tokenizer.json and tokenizer_config.json are needed to tokenise the dataset.`);
        else if (!li.model.hasChatTemplate) warnings.push(`Instruct ${li.model.files.name} has no chat template; training needs the Instruct chat template.`);
      } catch (e) {
        errors.push(message(e));
      }
    }
    this.datasets = await Promise.all(
      drop.datasets.map(async (d): Promise<ParsedDataset> => {
        const head = { path: d.path, name: d.name, format: d.format, split: d.split };
        try {
          const conversations = await readDatasetFile(d.file, d.path);
          return { summary: { ...head, examples: conversations.length, error: null }, conversations };
        } catch (e) {
          return { summary: { ...head, examples: null, error: message(e) }, conversations: [] };
        }
      }),
    );
    for (const d of this.datasets) if (d.summary.error) errors.push(d.summary.error);
    const count = (s: DatasetSplit): number => this.datasets.filter((d) => d.summary.split === s).reduce((n, d) => n + (d.summary.examples ?? 0), 0);
    this.summary = {
      base,
      instruct,
      pairReady: this.pair !== null,
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
