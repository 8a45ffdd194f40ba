/**
 * Attention with a sliding window (HF `sliding_window_overlay`: row t sees keys t−W+1 … t) and logit soft-capping
 * (Gemma 2/3 `attn_logit_softcapping`), both variants, forward and backward, against the f64 reference
 * (tests/gpu/attentionCheck.ts). T is never a multiple of the 16-row tile or of the 4-row 'small' block; windows
 * below, at and above one tile (the tiled kernels skip whole key tiles outside it), W = 1, W ≥ T; GQA and MQA.
 * Head dims reuse the pipelines tests/gpu/attention.test.ts compiles (the window is a uniform); each soft-cap
 * value is a new pipeline (an override), so there are few of them.
 */
import { describe, expect, it } from 'vitest';
import { checkAttention, runAttention } from './attentionCheck';
import type { AttentionShape, AttentionVariant } from '../../src/engine/kernels/attention';

/** [B, T, H, KV, D, variant, window, softcap] */
type Case = readonly [number, number, number, number, number, AttentionVariant, number | undefined, number | undefined];
const CASES: Case[] = [
  [1, 37, 4, 1, 64, 'tiled', 5, undefined], // MQA; window < tile: most key tiles skipped
  [2, 37, 4, 2, 64, 'tiled', 1, undefined], // W = 1: each row sees only itself
  [1, 53, 2, 1, 64, 'tiled', 16, undefined], // window = one tile, not tile-aligned rows
  [1, 53, 6, 2, 64, 'tiled', 35, undefined], // window spans three tiles
  [2, 19, 6, 2, 32, 'tiled', 7, undefined],
  [1, 51, 4, 2, 8, 'small', 7, undefined], // GQA
  [2, 23, 4, 1, 8, 'small', 1, undefined], // MQA, W = 1
  [1, 83, 3, 1, 16, 'small', 13, undefined],
  [1, 37, 4, 1, 64, 'tiled', undefined, 0.9], // soft-cap alone (a small cap so that tanh bends)
  [1, 37, 4, 2, 64, 'tiled', 6, 0.9], // both
  [1, 51, 4, 2, 8, 'small', undefined, 0.9],
  [2, 23, 4, 1, 8, 'small', 5, 0.9],
];

describe('attention with a sliding window and a soft-cap', () => {
  it.each(CASES)('forward and backward match the f64 reference at B=%i T=%i H=%i KV=%i D=%i (%s) window=%s softcap=%s', async (B, T, H, KV, D, variant, window, softcap) => {
    await checkAttention({ B, T, H, KV, D, scale: 1 / Math.sqrt(D), variant, window, softcap });
  });

  it.each([['tiled', 64], ['small', 8]] as const)('window ≥ T and window 0 give the bits of no window (%s, D=%i)', async (variant, D) => {
    const s: AttentionShape = { B: 1, T: 21, H: 2, KV: 1, D, scale: 1 / Math.sqrt(D), variant };
    const none = await runAttention(s);
    for (const window of [0, 21, 40]) {
      const got = await runAttention({ ...s, window });
      for (const name of ['out', 'lse', 'dq', 'dk', 'dv'] as const) expect(Array.from(got[name]), `${name} window ${window}`).toEqual(Array.from(none[name]));
    }
  });
});
