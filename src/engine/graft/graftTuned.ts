/**
 * Graft a tuned Base onto the Instruct model (Shadow-FT §3.1, full-parameter form): W_I′ = W_I + (W_B′ − W_B) for
 * every tensor, where TUNED (W_B′) is the Base after tuning with any tool. Per element the sum W_I + (W_B′ − W_B) of
 * the exactly upcast stored values is formed in f64, rounded once to f32, then rounded once to the Instruct's dtype
 * (BF16/F16 round-to-nearest-even; fastDtype.ts) — the same value mergekit's task_arithmetic computes with
 * `dtype: float32` except where its f32 (W_B′ − W_B) is itself inexact (it is exact for bf16/f16 inputs).
 * Elements where W_B′ and W_B have the same bits keep the Instruct's value as is, so untouched tensors come out byte
 * for byte. The output is the Instruct's tensor list, shapes and dtypes (shards per HF `save_pretrained`, shards.ts)
 * with its config, tokenizer and template files, produced lazily in chunks like mergedModel.ts.
 * Before that it checks (tunedChecks.ts) the tensor lists, shapes and dtypes, and that TUNED derives from BASE
 * (derivation.ts: closer to the Base than to the Instruct, and nearer the Base than unrelated weights, on most
 * tensors it changed).
 * A TUNED folder holding a PEFT LoRA adapter (LLaMA-Factory writes the same keys) goes to the LoRA merge
 * (mergedModel.ts: W_I + s·B·A), after its modules were checked against the Base.
 */
import { openCheckpoint, type ModelFiles } from '../../io/checkpoint';
import { DTYPE_BYTES, type WeightDType } from '../../io/dtype';
import { encodeSafetensorsHeader } from '../../io/safetensors';
import { encodeF32Fast } from '../analysis/fastDtype';
import { computeSimilarity, type SimilarityReport } from '../analysis/similarity';
import { chunkElements, DEFAULT_CHUNK_BYTES, F32Scratch, readByteChunks, readF32Chunks } from '../analysis/tensorChunks';
import type { LoraAdapter } from '../model/loraTypes';
import { readAdapterFiles } from './adapterFiles';
import { COPIED_FILES, planMergedModel, type MergeProgress, type OutputFile } from './mergedModel';
import { DEFAULT_MAX_SHARD_SIZE, planShards, shardIndexJson } from './shards';
import { judgeDerivation, type DerivationVerdict } from './derivation';
import { checkGraftTensors, GraftError, modelTypeOf, type GraftItem, type VocabMismatch } from './tunedChecks';
import { loraTuningSimilarity } from './tuningSigma';

export { GraftError } from './tunedChecks';

/** Options of {@link planGraftTuned}. */
export interface GraftTunedOptions {
  /** Max tensor bytes per shard (default 5 GB). */
  maxShardSize?: number;
  /** Max bytes read per source per step (default 16 MiB). */
  chunkBytes?: number;
  /** Graft only the shared rows of embed_tokens / lm_head when TUNED/Instruct have another vocabulary size. */
  sharedRowsOnly?: boolean;
  /** Skip the derivation check (derivation.ts; the numbers are still reported). */
  skipDerivationCheck?: boolean;
  /** σ(W_B, W_I) report when already computed (the app's pair heatmap); computed here otherwise. */
  pairReport?: SimilarityReport;
  signal?: AbortSignal;
  /** Progress of the σ passes before planning. */
  onCheckProgress?(p: { bytesDone: number; bytesTotal: number; tensor: string; pass: 'tuning' | 'pair' | 'instruct' }): void;
  /** Progress of producing the output tensors. */
  onProgress?(p: MergeProgress): void;
}

/** The planned graft. */
export interface GraftTunedPlan {
  /** 'full': W_I + (W_B′ − W_B); 'lora': W_I + s·B·A. */
  readonly kind: 'full' | 'lora';
  /** Shards (+ index when sharded), then the Instruct's config/tokenizer/template files. */
  readonly files: readonly OutputFile[];
  /** σ(W_B′, W_B) per tensor: the "what tuning changed" heatmap. */
  readonly tuning: SimilarityReport;
  /**
   * Paper-figure σ(W_B′, W_B) and σ(W_B, W_I), and their ratio (null when σ(W_B, W_I) is 0 or unknown); for a full
   * TUNED also the derivation check's counts (derivation.ts; null for an adapter, which is applied to the Base's
   * own tensors by construction).
   */
  readonly derivation: { readonly tuned: number | null; readonly pair: number | null; readonly ratio: number | null; readonly verdict: DerivationVerdict | null };
  /** Tensors whose TUNED bits differ from BASE somewhere (sorted); for LoRA the targeted weights. */
  readonly changedTensors: readonly string[];
  /** Vocabulary tensors grafted over their shared rows only. */
  readonly vocab: readonly VocabMismatch[];
  readonly totalTensorBytes: number;
  /** LoRA path only: s used. */
  readonly scaling: number | null;
}

/** True when a folder is a PEFT adapter (adapter_config.json present). */
export function isAdapterFolder(files: ModelFiles): boolean {
  return files.files.has('adapter_config.json');
}


const fmt = (x: number | null): string => (x === null ? 'n/a' : x.toPrecision(4));

/** Paper-figure σ, or the all-tensor mean when the model has no layer tensors. */
function figure(r: SimilarityReport): number | null {
  return r.summary.paperFigure ?? r.summary.allTensors.meanUnweighted;
}

/**
 * Merges rows of a chunk: out[i] = w[i] when t[i] and b[i] have the same bits, else fround(w + (t − b)).
 * @returns whether any element changed. Arrays have equal length; `out` may alias `w`.
 */
export function addDeltaF32(w: Float32Array, t: Float32Array, b: Float32Array, out: Float32Array): boolean {
  const tu = new Uint32Array(t.buffer, t.byteOffset, t.length);
  const bu = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let changed = false;
  for (let i = 0; i < w.length; i++) {
    if (tu[i] === bu[i]) {
      out[i] = w[i] as number;
    } else {
      out[i] = (w[i] as number) + ((t[i] as number) - (b[i] as number));
      changed = true;
    }
  }
  return changed;
}

/** Checks a LoRA adapter's modules against the Base shapes. @throws GraftError naming module and shapes. */
async function checkAdapterOnBase(adapter: LoraAdapter, base: ModelFiles, tunedName: string): Promise<void> {
  const ck = await openCheckpoint(base);
  for (const [path, w] of adapter.modules) {
    const loc = ck.tensors.get(`${path}.weight`);
    if (!loc) throw new GraftError(`${tunedName}: adapter module ${path} has no ${path}.weight in ${base.name} (Base); adapter trained on another model?`);
    const s = loc.info.shape;
    if (s[0] !== w.outFeatures || s[1] !== w.inFeatures) throw new GraftError(`${tunedName}: adapter module ${path} is [${w.outFeatures}, ${w.inFeatures}] but ${base.name} (Base) ${path}.weight is ${JSON.stringify(s)}`);
  }
}

/**
 * Plans the graft of TUNED onto INSTRUCT (see the file comment). Reads headers, configs and — for the checks and the
 * heatmap — σ passes over the weights (BASE×TUNED, TUNED×INSTRUCT, and BASE×INSTRUCT unless `pairReport` is given).
 * @throws GraftError for another family (config model_type), missing/extra tensors, shapes, dtypes, a vocabulary
 *   mismatch without `sharedRowsOnly`, or TUNED not derived from BASE (derivation.ts; which test failed, with counts); AdapterError for a bad
 *   adapter; CheckpointError / SafetensorsError for broken folders (naming the file); the signal's reason.
 */
export async function planGraftTuned(base: ModelFiles, tuned: ModelFiles, instruct: ModelFiles, opts: GraftTunedOptions = {}): Promise<GraftTunedPlan> {
  const baseCk = await openCheckpoint(base);
  if (isAdapterFolder(tuned)) {
    const adapter = await readAdapterFiles(tuned);
    await checkAdapterOnBase(adapter, base, tuned.name);
    const tuning = await loraTuningSimilarity(baseCk, adapter, tuned.name, { signal: opts.signal, chunkBytes: opts.chunkBytes });
    const mopts = { signal: opts.signal, ...(opts.maxShardSize ? { maxShardSize: opts.maxShardSize } : {}), ...(opts.chunkBytes ? { chunkBytes: opts.chunkBytes } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) };
    const plan = await planMergedModel(instruct, adapter, mopts);
    const pairFig = opts.pairReport ? figure(opts.pairReport) : null;
    const tunedFig = figure(tuning);
    return { kind: 'lora', files: plan.files, tuning, derivation: { tuned: tunedFig, pair: pairFig, ratio: pairFig && tunedFig !== null ? tunedFig / pairFig : null, verdict: null }, changedTensors: plan.mergedTensors, vocab: [], totalTensorBytes: plan.totalTensorBytes, scaling: plan.scaling };
  }
  const [tb, tt, ti] = await Promise.all([modelTypeOf(base), modelTypeOf(tuned), modelTypeOf(instruct)]);
  if (tt !== tb) throw new GraftError(`${tuned.name}/config.json has model_type ${JSON.stringify(tt)} but ${base.name} (Base) has ${JSON.stringify(tb)}: TUNED is another model family`);
  if (ti !== tb) throw new GraftError(`${instruct.name}/config.json has model_type ${JSON.stringify(ti)} but ${base.name} (Base) has ${JSON.stringify(tb)}`);
  const tunedCk = await openCheckpoint(tuned);
  const instCk = await openCheckpoint(instruct);
  const { items, vocab } = checkGraftTensors(baseCk, tunedCk, instCk, opts.sharedRowsOnly === true);

  const tuning = await computeSimilarity(baseCk, tunedCk, { signal: opts.signal, chunkBytes: opts.chunkBytes, onProgress: (p) => opts.onCheckProgress?.({ ...p, pass: 'tuning' }) });
  const pair = opts.pairReport ?? (await computeSimilarity(baseCk, instCk, { signal: opts.signal, chunkBytes: opts.chunkBytes, onProgress: (p) => opts.onCheckProgress?.({ ...p, pass: 'pair' }) }));
  const toInstruct = await computeSimilarity(tunedCk, instCk, { signal: opts.signal, chunkBytes: opts.chunkBytes, onProgress: (p) => opts.onCheckProgress?.({ ...p, pass: 'instruct' }) });
  const tunedFig = figure(tuning);
  const pairFig = figure(pair);
  const ratio = pairFig ? (tunedFig ?? 0) / pairFig : null;
  const verdict = judgeDerivation(tuning, toInstruct, { tuned: tuned.name, base: base.name, instruct: instruct.name });
  if (!opts.skipDerivationCheck && verdict.refusal !== null) {
    const top = [...tuning.rows].sort((a, b) => b.sigma - a.sigma).slice(0, 3).map((r) => `${r.tensor} ${fmt(r.sigma)}`).join(', ');
    throw new GraftError(`${verdict.refusal} Largest σ(TUNED, Base): ${top}. (--skip-derivation-check grafts anyway)`);
  }
  const changedTensors = tuning.rows.filter((r) => r.sigma > 0).map((r) => r.tensor).sort();
  return { kind: 'full', ...buildFiles(items, instruct, opts), tuning, derivation: { tuned: tunedFig, pair: pairFig, ratio, verdict }, changedTensors, vocab, scaling: null };
}

/** The output files of the full graft (shards streaming W_I + (W_B′ − W_B), index, copied files). */
function buildFiles(items: readonly GraftItem[], instruct: ModelFiles, opts: GraftTunedOptions): { files: OutputFile[]; totalTensorBytes: number } {
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const sized = items.map((t) => ({ ...t, byteLength: t.instruct.info.end - t.instruct.info.begin }));
  const totalTensorBytes = sized.reduce((s, t) => s + t.byteLength, 0);
  const doneByShard: number[] = [];
  const tick = (shard: number, tensor: string, n: number): void => {
    doneByShard[shard] = (doneByShard[shard] ?? 0) + n;
    opts.onProgress?.({ bytesDone: doneByShard.reduce((a, b) => a + b, 0), bytesTotal: totalTensorBytes, tensor });
  };
  type Scratch = { readonly i: F32Scratch; readonly b: F32Scratch; readonly t: F32Scratch };

  async function* tensorParts(t: GraftItem, shard: number, scratch: Scratch): AsyncGenerator<Uint8Array<ArrayBuffer>> {
    const dtype = t.instruct.info.dtype as WeightDType;
    const bpe = Math.max(DTYPE_BYTES[dtype], DTYPE_BYTES[t.base.info.dtype], 4);
    const n = chunkElements(chunkBytes, bpe, t.rowElems);
    const gi = readF32Chunks(t.instruct, t.graftElems, n, opts.signal, scratch.i);
    const gb = readF32Chunks(t.base, t.graftElems, n, opts.signal, scratch.b);
    const gt = readF32Chunks(t.tuned, t.graftElems, n, opts.signal, scratch.t);
    for (;;) {
      const [ci, cb, ct] = await Promise.all([gi.next(), gb.next(), gt.next()]);
      if (ci.done || cb.done || ct.done) break;
      const w = ci.value.values;
      addDeltaF32(w, ct.value.values, cb.value.values, w);
      const bytes = encodeF32Fast(w, dtype);
      tick(shard, t.name, bytes.byteLength);
      yield bytes;
    }
    // Rows of the Instruct beyond the shared vocabulary rows: unchanged.
    const { info } = t.instruct;
    const rest = info.begin + t.graftElems * DTYPE_BYTES[dtype];
    for await (const c of readByteChunks(t.instruct.file, rest, info.end, chunkBytes, `${t.instruct.fileName}: ${t.name}`, opts.signal)) {
      tick(shard, t.name, c.byteLength);
      yield c;
    }
  }

  const shards = planShards(sized, opts.maxShardSize ?? DEFAULT_MAX_SHARD_SIZE);
  const files: OutputFile[] = shards.map((s, k) => {
    const header = encodeSafetensorsHeader(s.tensors.map((t) => ({ name: t.name, dtype: t.instruct.info.dtype, shape: t.instruct.info.shape, byteLength: t.byteLength })), { format: 'pt' }) as Uint8Array<ArrayBuffer>;
    return {
      name: s.fileName,
      size: header.byteLength + s.tensors.reduce((a, t) => a + t.byteLength, 0),
      parts: async function* () {
        doneByShard[k] = 0;
        yield header;
        // One set of decode buffers per parts() call: its tensors are produced one after the other.
        const scratch = { i: new F32Scratch(), b: new F32Scratch(), t: new F32Scratch() };
        for (const t of s.tensors) yield* tensorParts(t, k, scratch);
      },
    };
  });
  if (shards.length > 1) {
    const bytes = new TextEncoder().encode(shardIndexJson(shards)) as Uint8Array<ArrayBuffer>;
    files.push({ name: 'model.safetensors.index.json', size: bytes.byteLength, parts: async function* () { yield bytes; } });
  }
  for (const [name, blob] of [...instruct.files].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (!COPIED_FILES.test(name)) continue;
    files.push({ name, size: blob.size, parts: () => readByteChunks(blob, 0, blob.size, chunkBytes, `${instruct.name}/${name}`, opts.signal) });
  }
  return { files, totalTensorBytes };
}
