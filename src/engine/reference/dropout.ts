/**
 * CPU reference of shaders/dropout.wgsl: the same counter-based mask keep(i) = pcg(pcg(i) ^ seed) ≥ floor(p·2^32),
 * kept values scaled by 1/(1 − p) (torch nn.Dropout in training mode; PEFT applies it to the LoRA branch input).
 */
import { dropoutThreshold, pcgHash } from '../train/rng';

export { dropoutThreshold, pcgHash };

/** Per-element factor: 1/(1 − p) when kept, 0 when dropped. */
export function dropoutFactor(i: number, seed: number, p: number): number {
  return pcgHash((pcgHash(i) ^ seed) >>> 0) >= dropoutThreshold(p) ? Math.fround(1 / (1 - p)) : 0;
}

/** out[i] = x[i]·factor(i). @returns Float64Array [N] */
export function dropoutForwardRef(x: ArrayLike<number>, seed: number, p: number): Float64Array {
  return Float64Array.from({ length: x.length }, (_, i) => (x[i] as number) * dropoutFactor(i, seed, p));
}
