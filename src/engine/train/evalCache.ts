/**
 * Held-out losses of the untrained Base and Instruct models, remembered per model identity and held-out data:
 * they do not depend on the training settings, so a second run on the same pair and data skips two of its four
 * evaluations. The key is the model's content identity (io/identity.ts modelIdentity: file sizes and times, the
 * hashes of config.json and of the safetensors headers — re-dropped changed weights get a new identity and are
 * never answered from the cache) plus a hash of the held-out input_ids and labels and Max length.
 */
import type { TokenizedExample } from '../../io/dataset/types';

/**
 * A 64-bit FNV-1a hash (two 32-bit lanes) of the examples' input_ids and labels, with Max length, as hex.
 * Equal examples give equal keys; any changed token, label or row boundary changes it.
 */
export function heldoutKey(examples: readonly TokenizedExample[], maxLength: number): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ maxLength;
  const mix = (x: number) => {
    h1 = Math.imul(h1 ^ (x & 0xffff), 0x01000193) >>> 0;
    h1 = Math.imul(h1 ^ (x >>> 16), 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ (x >>> 0), 0x85ebca6b) >>> 0;
    h2 = (h2 ^ (h2 >>> 13)) >>> 0;
  };
  mix(maxLength);
  mix(examples.length);
  for (const e of examples) {
    mix(e.inputIds.length);
    for (let i = 0; i < e.inputIds.length; i++) mix(e.inputIds[i] as number);
    for (let i = 0; i < e.labels.length; i++) mix((e.labels[i] as number) + 1000);
  }
  return `${h1.toString(16).padStart(8, '0')}${h2.toString(16).padStart(8, '0')}`;
}

/** Losses per model identity and held-out key (nats per label token). */
export class EvalCache {
  private readonly byModel = new Map<string, Map<string, number>>();

  /** @param onSet called after each loss remembered by {@link set} (e.g. to persist it); not by {@link restore} */
  constructor(private readonly onSet?: (modelId: string, key: string, loss: number) => void) {}

  /** Puts back losses remembered earlier (e.g. read from storage); non-finite ones are ignored. */
  restore(entries: Iterable<{ readonly modelId: string; readonly key: string; readonly loss: number }>): void {
    for (const e of entries) this.put(e.modelId, e.key, e.loss);
  }

  /** The remembered loss of the model with identity `modelId` on the held-out data of `key`, if any. */
  get(modelId: string, key: string): number | undefined {
    return this.byModel.get(modelId)?.get(key);
  }

  /** Remembers a finite loss (NaN — an aborted evaluation — is never stored). */
  set(modelId: string, key: string, loss: number): void {
    if (this.put(modelId, key, loss)) this.onSet?.(modelId, key, loss);
  }

  private put(modelId: string, key: string, loss: number): boolean {
    if (!Number.isFinite(loss)) return false;
    let m = this.byModel.get(modelId);
    if (!m) this.byModel.set(modelId, (m = new Map()));
    m.set(key, loss);
    return true;
  }
}
