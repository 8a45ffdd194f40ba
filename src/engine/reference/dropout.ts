/**
 * CPU reference of shaders/dropout.wgsl: the same counter-based mask keep(i) = pcg(pcg(i) ^ seed) ≥ floor(p·2^32),
 * kept values scaled by 1/(1 − p) (torch nn.Dropout in training mode; PEFT applies it to the LoRA branch input).
 */

/** PCG hash of a u32 (Jarzynski & Olano 2020), exactly as in WGSL (u32 wrap-around). */
export function pcgHash(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> (((state >>> 28) + 4) >>> 0)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** u32 threshold for drop probability p in [0, 1): floor(p · 2^32). */
export function dropoutThreshold(p: number): number {
  return Math.min(0xffffffff, Math.floor(p * 4294967296));
}

/** Per-element factor: 1/(1 − p) when kept, 0 when dropped. */
export function dropoutFactor(i: number, seed: number, p: number): number {
  return pcgHash((pcgHash(i) ^ seed) >>> 0) >= dropoutThreshold(p) ? Math.fround(1 / (1 - p)) : 0;
}

/** out[i] = x[i]·factor(i). @returns Float64Array [N] */
export function dropoutForwardRef(x: ArrayLike<number>, seed: number, p: number): Float64Array {
  return Float64Array.from({ length: x.length }, (_, i) => (x[i] as number) * dropoutFactor(i, seed, p));
}
