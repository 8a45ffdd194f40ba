/**
 * "What tuning changed" for a LoRA tune: σ(W_B′, W_B) per Base tensor with W_B′ = W_B + s·B·A (PEFT
 * get_delta_weight; Shadow-FT §2.3 σ = Σ|W_B′ − W_B| / (Σ|W_B′| + Σ|W_B|)), streamed row block by row block
 * (mergeWeight.ts computes W_B′ in f64, rounded once to f32). Tensors the adapter does not target have σ = 0 and
 * are not read. The result has the same shape as a Base/Instruct {@link SimilarityReport}, so the heatmap and CSV
 * code read it unchanged. (For a full tune, σ(W_B′, W_B) is analysis/similarity.ts computeSimilarity(BASE, TUNED).)
 */
import type { Checkpoint } from '../../io/checkpoint';
import { numel } from '../../io/safetensors';
import type { SimilarityReport, SimilarityRow } from '../analysis/similarity';
import { summariseSimilarity } from '../analysis/similaritySummary';
import { chunkElements, DEFAULT_CHUNK_BYTES, F32Scratch, readF32Chunks } from '../analysis/tensorChunks';
import { layerOf, moduleOf } from '../analysis/tensorName';
import { loraScaling, type LoraAdapter } from '../model/loraTypes';
import { mergeLoraRows } from './mergeWeight';

/** Row order of the σ table: embed_tokens first, layer tensors by layer then name, then the rest by name. */
export function sigmaRowOrder(a: SimilarityRow, b: SimilarityRow): number {
  const g = (r: SimilarityRow): number => (r.tensor === 'model.embed_tokens.weight' ? 0 : r.layer !== null ? 1 : 2);
  return g(a) - g(b) || (a.layer ?? 0) - (b.layer ?? 0) || (a.tensor < b.tensor ? -1 : a.tensor > b.tensor ? 1 : 0);
}

/**
 * σ(W_B + s·B·A, W_B) for every tensor of the Base checkpoint.
 * @param base the Base checkpoint the adapter was trained on (module shapes already checked by the caller).
 * @param adapter lora_A [R, in], lora_B [out, R] per module path; s = loraScaling(settings).
 * @param tunedName display name of the adapter folder (the report's "instruct" side).
 * @throws Error when the Base lacks a targeted weight; the signal's reason when aborted.
 */
export async function loraTuningSimilarity(base: Checkpoint, adapter: LoraAdapter, tunedName: string, opts: { signal?: AbortSignal; chunkBytes?: number } = {}): Promise<SimilarityReport> {
  const s = loraScaling(adapter.settings);
  const r = adapter.settings.r;
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const scratch = new F32Scratch();
  const rows: SimilarityRow[] = [];
  for (const [name, loc] of base.tensors) {
    const shape = loc.info.shape;
    const count = numel(shape);
    const lora = adapter.modules.get(name.replace(/\.weight$/, ''));
    let sigma = 0;
    if (lora && name.endsWith('.weight')) {
      const n = chunkElements(chunkBytes, 4, lora.inFeatures);
      let d = 0;
      let sa = 0;
      let sb = 0;
      for await (const c of readF32Chunks(loc, count, n, opts.signal, scratch)) {
        const merged = mergeLoraRows(c.values, c.start / lora.inFeatures, lora, r, s);
        for (let i = 0; i < merged.length; i++) {
          const x = merged[i] as number;
          const y = c.values[i] as number;
          d += Math.abs(x - y);
          sa += Math.abs(x);
          sb += Math.abs(y);
        }
      }
      sigma = sa + sb === 0 ? 0 : d / (sa + sb);
    } else if (lora) {
      throw new Error(`${tunedName}: adapter module for ${name} does not name a .weight tensor`);
    }
    rows.push({ tensor: name, layer: layerOf(name), module: moduleOf(name), shape, numel: count, sigma });
  }
  for (const path of adapter.modules.keys()) {
    if (!base.tensors.has(`${path}.weight`)) throw new Error(`${tunedName}: adapter module ${path} has no ${path}.weight in ${base.modelName}`);
  }
  rows.sort(sigmaRowOrder);
  return { baseModel: base.modelName, instructModel: tunedName, rows, summary: summariseSimilarity(rows), onlyInBase: [], onlyInInstruct: [], warnings: [] };
}
