import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ropeInvFreq } from '../../src/engine/model/rope';

const FIX = '../shared/fixtures';

describe('ropeInvFreq', () => {
  it.each(['llama-tiny', 'qwen2-tiny', 'qwen3-tiny'])('matches HF f32 inv_freq of %s bit for bit', (name) => {
    const fwd = JSON.parse(readFileSync(`${FIX}/${name}/forward.json`, 'utf8')) as { head_dim: number; rope_inv_freq_f32: number[] };
    const cfg = JSON.parse(readFileSync(`${FIX}/${name}/config.json`, 'utf8')) as { rope_theta: number };
    const got = ropeInvFreq({ headDim: fwd.head_dim, ropeTheta: cfg.rope_theta, ropeScaling: null });
    expect(Array.from(got)).toEqual(fwd.rope_inv_freq_f32.map(Math.fround));
  });

  it('applies Llama-3 scaling: high frequencies kept, low divided by factor, smooth in between', () => {
    const scaling = { ropeType: 'llama3' as const, factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 };
    const plain = ropeInvFreq({ headDim: 64, ropeTheta: 500000, ropeScaling: null });
    const scaled = ropeInvFreq({ headDim: 64, ropeTheta: 500000, ropeScaling: scaling });
    for (let d = 0; d < 32; d++) {
      const wavelen = (2 * Math.PI) / (plain[d] as number);
      if (wavelen < 8192 / 4) expect(scaled[d]).toBe(plain[d]);
      else if (wavelen > 8192) expect(scaled[d]).toBeCloseTo((plain[d] as number) / 32, 12);
      else {
        const s = (8192 / wavelen - 1) / (4 - 1);
        const want = (1 - s) * ((plain[d] as number) / 32) + s * (plain[d] as number);
        expect(Math.abs((scaled[d] as number) - want) / want).toBeLessThan(1e-6);
      }
    }
  });
});
