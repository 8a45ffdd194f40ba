/**
 * The bulk converters of engine/analysis/fastDtype.ts agree bit for bit (any NaN for a NaN) with the reference per-value helpers of
 * src/io/dtype.ts: every one of the 65,536 BF16 and F16 bit patterns decoded, and F32 edge cases plus 200,000
 * random bit patterns encoded to BF16 and F16 (round-to-nearest-even ties, subnormals, overflow, inf, NaN).
 */
import { describe, expect, it } from 'vitest';
import { decodeF32Fast, encodeF32Fast } from '../../src/engine/analysis/fastDtype';
import { decodeToF32, encodeFromF32 } from '../../src/io/dtype';

const bitsOf = (f: Float32Array): Uint32Array => new Uint32Array(f.slice().buffer);

function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return -2;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe('fast dtype conversions vs src/io/dtype.ts', () => {
  it('decodes all BF16 and F16 bit patterns exactly like decodeToF32', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const bytes = new Uint8Array(all.buffer);
    for (const dt of ['BF16', 'F16'] as const) {
      const fast = decodeF32Fast(bytes, dt);
      const ref = decodeToF32(bytes, dt);
      // F16 NaNs: the reference returns JS's canonical NaN, the fast path keeps the payload; both must be NaN.
      const nan = (x: Float32Array): number[] => Array.from(x, (v) => (Number.isNaN(v) ? 1 : 0));
      expect(nan(fast)).toEqual(nan(ref));
      const keep = (x: Float32Array): Uint32Array => bitsOf(x).map((b, k) => (Number.isNaN(x[k] as number) ? 0 : b));
      const i = firstMismatch(keep(fast), keep(ref));
      expect(i, `${dt}: first differing pattern ${i}`).toBe(-1);
    }
    const f32 = new Float32Array([1.5, -0, 3.4e38, 1e-45]);
    const unaligned = new Uint8Array(f32.byteLength + 1).subarray(1);
    unaligned.set(new Uint8Array(f32.buffer));
    expect(Array.from(decodeF32Fast(unaligned, 'F32'))).toEqual(Array.from(f32));
  });

  it('encodes F32 edge cases and random bit patterns exactly like encodeFromF32', () => {
    const u = new Uint32Array(200_000 + 64);
    let s = 12345;
    for (let i = 0; i < 200_000; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      u[i] = s;
    }
    const edges = [0, 0x80000000, 1, 0x7f7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffc00001, 0x3f808000, 0x3f818000, 0x3f807fff,
      0x477fe000, 0x477fefff, 0x477ff000, 0x38800000, 0x387fffff, 0x33800000, 0x33000000, 0x33000001, 0x337fffff, 0x7f7f8000, 0x007fffff, 0x00400000];
    edges.forEach((e, k) => (u[200_000 + k] = e));
    const f = new Float32Array(u.buffer);
    for (const dt of ['BF16', 'F16'] as const) {
      const i = firstMismatch(encodeF32Fast(f, dt), encodeFromF32(f, dt));
      expect(i, `${dt}: first differing input bits 0x${(u[Math.max(0, i >> 1)] ?? 0).toString(16)}`).toBe(-1);
    }
    expect(firstMismatch(encodeF32Fast(f, 'F32'), new Uint8Array(u.buffer))).toBe(-1);
  });
});
