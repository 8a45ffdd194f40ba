/**
 * The in-memory checkpoints of a full-parameter comparison (finetuning_type full): the tuned weights of both runs
 * (engine/train/runFull.ts returns them as f32 tensors) and the Shadow-FT graft W_I + (W_B′ − W_B) (Shadow-FT §3.1,
 * full form), each built as one safetensors file in memory (io/safetensors.ts safetensorsBlob) and opened with the
 * same reader as a dropped folder (io/checkpoint.ts openCheckpoint), so the evaluation loads them like any model.
 *
 * Dtypes: both tuned Instruct models are measured as the user downloads them, in the Instruct's dtype — the
 * conventional W_I″ rounded once (round-to-nearest-even; LLaMA-Factory saves a full tune in the model's torch_dtype),
 * so neither Instruct variant gains from F32 weights the other lacks; the tuned Base stays F32, as
 * `shadowft train --finetuning-type full` writes tuned-base/ (graft/tunedBase.ts); the graft is — per element
 * fround(W_I + (W_B′ − W_B)) on the exactly upcast stored values, rounded once to the Instruct's dtype
 * (round-to-nearest-even; engine/graft/graftTuned.ts addDeltaF32 + encodeF32Fast, the code `shadowft graft` and
 * the full `train` export write with), elements that training left bit-identical keeping the Instruct's bytes.
 */
import { openCheckpoint, readTensor, type Checkpoint } from '../../io/checkpoint';
import { decodeToF32, isWeightDType, type WeightDType } from '../../io/dtype';
import { safetensorsBlob } from '../../io/safetensors';
import { encodeF32Fast } from '../../engine/analysis/fastDtype';
import { addDeltaF32 } from '../../engine/graft/graftTuned';

/** One tensor of an in-memory checkpoint. */
interface MemoryTensor {
  readonly name: string;
  readonly dtype: WeightDType;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

/** Opens tensors held in memory as a checkpoint named `modelName` (one safetensors file, metadata {"format": "pt"}). */
async function memoryCheckpoint(modelName: string, tensors: readonly MemoryTensor[]): Promise<Checkpoint> {
  const blob = safetensorsBlob(tensors.map((t) => ({ ...t, byteLength: t.data.byteLength })), { format: 'pt' });
  return openCheckpoint({ name: modelName, files: new Map([['model.safetensors', blob]]) });
}

/** The f32 values of `name` in `tuned`. @throws Error naming the tensor and its sizes when absent or mis-sized. */
function tunedOf(tuned: ReadonlyMap<string, Float32Array>, name: string, elements: number, what: string): Float32Array {
  const t = tuned.get(name);
  if (!t) throw new Error(`${what}: the full-parameter run returned no tensor ${name}`);
  if (t.length !== elements) throw new Error(`${what}: ${name} has ${t.length} values after training, expected ${elements}`);
  return t;
}

/**
 * The tuned weights of a full run as a checkpoint with `like`'s tensor list and shapes (the checkpoint trained).
 * @param tuned every tensor of the run by HF name, f32 (runFullTraining's `tensors`)
 * @param dtype 'F32' keeps the trained values; 'like' rounds each tensor once to `like`'s stored dtype (RNE)
 * @throws Error naming a tensor of `like` that the run did not return or returned with another size
 */
export async function tunedCheckpoint(modelName: string, like: Checkpoint, tuned: ReadonlyMap<string, Float32Array>, dtype: 'F32' | 'like' = 'F32'): Promise<Checkpoint> {
  const tensors: MemoryTensor[] = [];
  for (const [name, loc] of like.tensors) {
    const stored = loc.info.dtype;
    if (!isWeightDType(stored)) continue;
    const n = loc.info.shape.reduce((a, b) => a * b, 1);
    const out = dtype === 'like' ? stored : 'F32';
    tensors.push({ name, dtype: out, shape: loc.info.shape, data: encodeF32Fast(tunedOf(tuned, name, n, modelName), out) });
  }
  return memoryCheckpoint(modelName, tensors);
}

/**
 * The Shadow-FT graft W_I + (W_B′ − W_B) of every tensor, in the Instruct's layout and dtypes with one rounding
 * (see the file comment): exactly the values a download of the grafted Instruct holds.
 * @param tuned W_B′ by HF name, f32 (runFullTraining on the Base)
 * @throws Error naming the tensor when the Base lacks it or its shape differs from the Instruct's (another vocabulary
 *   size cannot be grafted here), or when the run did not return it
 */
export async function graftCheckpoint(modelName: string, base: Checkpoint, instruct: Checkpoint, tuned: ReadonlyMap<string, Float32Array>): Promise<Checkpoint> {
  const tensors: MemoryTensor[] = [];
  for (const [name, loc] of instruct.tensors) {
    const dtype = loc.info.dtype;
    if (!isWeightDType(dtype)) continue;
    const b = base.tensors.get(name);
    if (!b) throw new Error(`${base.modelName}: the Base has no ${name}, which ${instruct.modelName} has; the graft W_I + (W_B′ − W_B) needs the same tensors`);
    if (JSON.stringify(b.info.shape) !== JSON.stringify(loc.info.shape)) throw new Error(`${name}: ${base.modelName} (Base) has shape ${JSON.stringify(b.info.shape)} but ${instruct.modelName} has ${JSON.stringify(loc.info.shape)}; the full comparison grafts equal shapes only`);
    const wi = await readTensor(instruct, name);
    const wb = await readTensor(base, name);
    const w = decodeToF32(wi.bytes, dtype);
    addDeltaF32(w, tunedOf(tuned, name, w.length, base.modelName), decodeToF32(wb.bytes, wb.info.dtype), w);
    tensors.push({ name, dtype, shape: loc.info.shape, data: encodeF32Fast(w, dtype) });
  }
  return memoryCheckpoint(modelName, tensors);
}
