/**
 * Seeded pseudo-random numbers for LoRA init, shuffling and dropout masks: mulberry32 (32-bit state) for streams,
 * the PCG hash for counter-based masks and per-step seeds (the same maths as shaders/dropout.wgsl).
 * Not torch's generator: runs are reproducible within the studio, not bit-identical to PyTorch.
 */

/** A function returning uniform floats in [0, 1). */
export type Rng = () => number;

/** mulberry32 generator seeded with a 32-bit integer. */
export function makeRng(seed: number): Rng {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle of 0..n-1 with `rng`. */
export function permutation(n: number, rng: Rng): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = p[i] as number;
    p[i] = p[j] as number;
    p[j] = t;
  }
  return p;
}

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

