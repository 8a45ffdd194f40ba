import { describe, expect, it } from 'vitest';
import { evalBatches } from '../../src/engine/train/evalBatches';
import { EvalCache, heldoutKey } from '../../src/engine/train/evalCache';
import type { TokenizedExample } from '../../src/io/dataset/types';

/** An example of n tokens whose ids encode (row, position), labels on the second half. */
function ex(row: number, n: number): TokenizedExample {
  const inputIds = Int32Array.from({ length: n }, (_, t) => row * 1000 + t);
  const labels = Int32Array.from({ length: n }, (_, t) => (t >= n / 2 ? row * 1000 + t : -100));
  return { inputIds, labels, truncated: false, source: `row ${row}` };
}

describe('evalBatches', () => {
  const lengths = [5, 17, 3, 17, 9, 1, 12, 8, 8, 2];
  const examples = lengths.map((n, i) => ex(i, n));

  it('packs rows longest first into batches of at most maxTokens padded tokens, each row exactly once', () => {
    const batches = evalBatches(examples, 40, 100, 0);
    const seen: number[] = [];
    let prevT = Infinity;
    for (const b of batches) {
      expect(b.batchSize * b.seqLen).toBeLessThanOrEqual(40);
      expect(b.seqLen).toBeLessThanOrEqual(prevT);
      prevT = b.seqLen;
      for (let r = 0; r < b.batchSize; r++) seen.push(Math.floor((b.inputIds[r * b.seqLen] as number) / 1000));
    }
    expect(seen.sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
    // Longest first: the two 17-token rows share the first batch (2·17 = 34 ≤ 40; a third row would need 51).
    expect(batches[0]).toMatchObject({ batchSize: 2, seqLen: 17 });
  });

  it('keeps the label-token count (num_items) of the examples, so the mean loss is unchanged', () => {
    const items = (bs: ReturnType<typeof evalBatches>) => bs.reduce((a, b) => a + b.numItems, 0);
    // Each example of n tokens has labels at t ≥ n/2 and t ≥ 1 (the HF shift drops position 0).
    const want = lengths.reduce((a, n) => a + Array.from({ length: n }, (_, t) => t).filter((t) => t >= n / 2 && t >= 1).length, 0);
    expect(items(evalBatches(examples, 40, 100, 0))).toBe(want);
    expect(items(evalBatches(examples, 17, 100, 0))).toBe(want);
  });

  it('cuts rows at maxLength and refuses a row longer than a batch holds', () => {
    const cut = evalBatches(examples, 40, 10, 0);
    expect(Math.max(...cut.map((b) => b.seqLen))).toBe(10);
    expect(() => evalBatches(examples, 16, 100, 0)).toThrow(/row 2 has 17 tokens, more than the 16 tokens/);
  });
});

describe('heldoutKey and EvalCache', () => {
  it('changes with any token, label, row boundary or Max length', () => {
    const a = [ex(1, 6), ex(2, 4)];
    const k = heldoutKey(a, 64);
    expect(heldoutKey([ex(1, 6), ex(2, 4)], 64)).toBe(k);
    expect(heldoutKey(a, 65)).not.toBe(k);
    const b = [ex(1, 6), ex(2, 4)];
    (b[1]!.inputIds as Int32Array)[3] = 7;
    expect(heldoutKey(b, 64)).not.toBe(k);
    const c = [ex(1, 6), ex(2, 4)];
    (c[0]!.labels as Int32Array)[0] = 5;
    expect(heldoutKey(c, 64)).not.toBe(k);
    const whole = [{ ...ex(1, 10) }];
    const split = [{ ...ex(1, 10), inputIds: ex(1, 10).inputIds.slice(0, 6), labels: ex(1, 10).labels.slice(0, 6) }, { ...ex(1, 10), inputIds: ex(1, 10).inputIds.slice(6), labels: ex(1, 10).labels.slice(6) }];
    expect(heldoutKey(whole, 64)).not.toBe(heldoutKey(split, 64));
  });

  it('answers only for the same model identity and key, and never stores NaN', () => {
    const cache = new EvalCache();
    cache.set('id-1', 'k', 1.25);
    cache.set('id-1', 'nan', NaN);
    expect(cache.get('id-1', 'k')).toBe(1.25);
    expect(cache.get('id-2', 'k')).toBeUndefined();
    expect(cache.get('id-1', 'other')).toBeUndefined();
    expect(cache.get('id-1', 'nan')).toBeUndefined();
  });

  it('reports each remembered loss for storage and takes stored ones back without reporting them again', () => {
    const kept: [string, string, number][] = [];
    const cache = new EvalCache((id, k, loss) => kept.push([id, k, loss]));
    cache.set('id-1', 'k', 1.25);
    cache.set('id-1', 'nan', NaN);
    expect(kept).toEqual([['id-1', 'k', 1.25]]);
    // After a reload: a new cache filled from storage answers the same.
    const again = new EvalCache((id, k, loss) => kept.push([id, k, loss]));
    again.restore([{ modelId: 'id-1', key: 'k', loss: 1.25 }, { modelId: 'id-2', key: 'k', loss: Infinity }]);
    expect(again.get('id-1', 'k')).toBe(1.25);
    expect(again.get('id-2', 'k')).toBeUndefined();
    expect(kept.length).toBe(1);
  });
});
