/**
 * Checks before grafting a full tuned Base (W_B′ from any tool, e.g. LLaMA-Factory `finetuning_type: full`) onto the
 * Instruct model: the three checkpoints must describe the same architecture (config.json model_type), hold the same
 * tensor names with the same shapes, and TUNED must store each tensor in BASE's dtype or in F32 (LLaMA-Factory's full
 * fine-tuning upcasts trainable parameters to f32 and saves them so; W_B′ − W_B is then exact in f64). A narrower or
 * other half type (BF16 ↔ F16, F32 Base → BF16 TUNED) is refused: the difference would be rounding noise. The vocabulary tensors (embed_tokens,
 * lm_head) may differ in rows (tokens added during tuning, or an Instruct with extra tokens): that is reported with
 * the counts and refused unless the caller grafts only the shared rows.
 * Only headers and config.json are read here.
 */
import type { Checkpoint, ModelFiles, TensorLocation } from '../../io/checkpoint';
import { isWeightDType } from '../../io/dtype';
import { isVocabTensor } from '../analysis/tensorName';

/** Thrown when BASE / TUNED / INSTRUCT cannot be grafted; the message names the folder, file and tensor. */
export class GraftError extends Error {
  override name = 'GraftError';
}

/** One tensor to write: Instruct location, and the Base/Tuned locations when a delta is added. */
export interface GraftItem {
  readonly name: string;
  readonly instruct: TensorLocation;
  readonly base: TensorLocation;
  readonly tuned: TensorLocation;
  /**
   * Elements (flat, row-major) that get W_I + (W_B′ − W_B): all of them, or for a vocabulary tensor whose row counts
   * differ the shared rows × C; the Instruct's remaining elements are copied unchanged.
   */
  readonly graftElems: number;
  /** Elements per row (last dimension; 1 for a 1-D tensor). */
  readonly rowElems: number;
}

/** A vocabulary tensor whose row counts differ among the three models. */
export interface VocabMismatch {
  readonly tensor: string;
  readonly baseRows: number;
  readonly tunedRows: number;
  readonly instructRows: number;
  /** min of the three: the rows that are grafted when the user opts in. */
  readonly sharedRows: number;
}

/** What the checks found (the items are in the Instruct's file order). */
export interface GraftInputs {
  readonly items: readonly GraftItem[];
  readonly vocab: readonly VocabMismatch[];
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
const numelOf = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);

/**
 * config.json → model_type (or null when absent).
 * @throws GraftError when config.json is missing or not JSON.
 */
export async function modelTypeOf(model: ModelFiles): Promise<string | null> {
  const blob = model.files.get('config.json');
  if (!blob) throw new GraftError(`${model.name}: config.json is missing (a full model folder is expected; a LoRA adapter folder has adapter_config.json)`);
  try {
    const t = (JSON.parse(await blob.text()) as { model_type?: unknown }).model_type;
    return typeof t === 'string' ? t : null;
  } catch (e) {
    throw new GraftError(`${model.name}/config.json is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * Checks three opened checkpoints against each other.
 * @param sharedRowsOnly graft only the shared rows of embed_tokens / lm_head when their row counts differ.
 * @returns the tensors to write (Instruct's file order) and the vocabulary mismatches found.
 * @throws GraftError for a tensor missing from one model or present only in TUNED/INSTRUCT, a shape that differs
 *   (other than vocabulary rows), a TUNED dtype other than BASE's or F32, a non-float tensor, or a vocabulary
 *   mismatch without `sharedRowsOnly` (with the row counts).
 */
export function checkGraftTensors(base: Checkpoint, tuned: Checkpoint, instruct: Checkpoint, sharedRowsOnly: boolean): GraftInputs {
  const missingIn = (a: Checkpoint, b: Checkpoint): string[] => [...a.tensors.keys()].filter((k) => !b.tensors.has(k)).sort();
  const list = (xs: string[]): string => xs.slice(0, 5).join(', ') + (xs.length > 5 ? `, … (${xs.length} in all)` : '');
  const extraTuned = missingIn(tuned, base);
  if (extraTuned.length) throw new GraftError(`${tuned.modelName} has tensors ${base.modelName} (Base) lacks: ${list(extraTuned)} — TUNED must be the Base after tuning (same architecture)`);
  const lackTuned = missingIn(base, tuned);
  if (lackTuned.length) throw new GraftError(`${tuned.modelName} lacks tensors of ${base.modelName} (Base): ${list(lackTuned)} (missing shard or another architecture?)`);
  const extraInst = missingIn(instruct, base);
  if (extraInst.length) throw new GraftError(`${instruct.modelName} (Instruct) has tensors ${base.modelName} (Base) lacks: ${list(extraInst)}`);
  const lackInst = missingIn(base, instruct);
  if (lackInst.length) throw new GraftError(`${instruct.modelName} (Instruct) lacks tensors of ${base.modelName} (Base): ${list(lackInst)}`);

  const vocab: VocabMismatch[] = [];
  const items: GraftItem[] = [];
  const fileIdx = new Map(instruct.fileNames.map((f, k) => [f, k]));
  const locs = [...instruct.tensors.values()].sort((p, q) => (fileIdx.get(p.fileName) ?? 0) - (fileIdx.get(q.fileName) ?? 0) || p.info.begin - q.info.begin);
  for (const i of locs) {
    const name = i.info.name;
    const b = base.tensors.get(name) as TensorLocation;
    const t = tuned.tensors.get(name) as TensorLocation;
    for (const [loc, who] of [[b, base.modelName], [t, tuned.modelName], [i, instruct.modelName]] as const) {
      if (!isWeightDType(loc.info.dtype)) throw new GraftError(`${who}/${loc.fileName}: tensor ${name} has dtype ${loc.info.dtype}; only F32, BF16 and F16 tensors can be grafted`);
    }
    if (t.info.dtype !== b.info.dtype && t.info.dtype !== 'F32') {
      throw new GraftError(`${tuned.modelName}/${t.fileName}: tensor ${name} is ${t.info.dtype} but ${base.modelName} (Base) stores it as ${b.info.dtype}; W_B′ − W_B would hold rounding to ${t.info.dtype}, not the update. Save the tuned model as ${b.info.dtype} or F32`);
    }
    const sb = b.info.shape;
    const st = t.info.shape;
    const si = i.info.shape;
    const rowElems = sb.length >= 2 ? (sb[sb.length - 1] as number) : 1;
    if (sameShape(sb, st) && sameShape(sb, si)) {
      items.push({ name, instruct: i, base: b, tuned: t, graftElems: numelOf(sb), rowElems });
      continue;
    }
    const rowsOnly = isVocabTensor(name) && sb.length === 2 && st.length === 2 && si.length === 2 && sb[1] === st[1] && sb[1] === si[1];
    if (!rowsOnly) {
      throw new GraftError(`tensor ${name}: shape ${JSON.stringify(sb)} in ${base.modelName} (Base), ${JSON.stringify(st)} in ${tuned.modelName} (TUNED), ${JSON.stringify(si)} in ${instruct.modelName} (Instruct); they must be equal`);
    }
    const m: VocabMismatch = { tensor: name, baseRows: sb[0] as number, tunedRows: st[0] as number, instructRows: si[0] as number, sharedRows: Math.min(sb[0] as number, st[0] as number, si[0] as number) };
    vocab.push(m);
    items.push({ name, instruct: i, base: b, tuned: t, graftElems: m.sharedRows * rowElems, rowElems });
  }
  if (vocab.length && !sharedRowsOnly) {
    const what = vocab.map((v) => `${v.tensor}: Base ${v.baseRows} rows, TUNED ${v.tunedRows}, Instruct ${v.instructRows}`).join('; ');
    throw new GraftError(`the vocabulary differs (${what}) — tokens were added. Only the ${Math.min(...vocab.map((v) => v.sharedRows))} shared rows can be grafted (the added tokens' rows of TUNED are dropped, the Instruct's own extra rows are kept); choose "graft only the shared rows" (--shared-rows-only) to do that`);
  }
  return { items, vocab };
}
