import { describe, expect, it } from 'vitest';
import { makeBatches, shuffledOrder } from '../../src/io/dataset/batches';
import type { TokenizedExample } from '../../src/io/dataset/types';

/** Example i of length len: ids 10*i+t, labels -100 on the first `prompt` tokens, the id elsewhere. */
function ex(i: number, len: number, prompt: number): TokenizedExample {
  const inputIds = Int32Array.from({ length: len }, (_, t) => 10 * i + t + 1);
  const labels = Int32Array.from(inputIds, (v, t) => (t < prompt ? -100 : v));
  return { inputIds, labels, truncated: false, source: `ex${i}` };
}
const EXAMPLES = [ex(0, 5, 2), ex(1, 3, 1), ex(2, 7, 0), ex(3, 2, 2), ex(4, 6, 3)];

/** HF num_items_in_batch of some examples, computed from the examples: labels ≠ -100 at t ≥ 1 (after the shift). */
const items = (es: TokenizedExample[], cap = Infinity): number =>
  es.reduce((n, e) => n + [...e.labels].filter((l, t) => t >= 1 && t < cap && l !== -100).length, 0);

describe('makeBatches', () => {
  it('right-pads each batch to its longest row with pad id and -100 labels; counts shifted label tokens', () => {
    const batches = makeBatches(EXAMPLES, 2, { padTokenId: 9 });
    expect(batches.map((b) => [b.batchSize, b.seqLen])).toEqual([[2, 5], [2, 7], [1, 6]]);
    const [b0] = batches;
    expect([...(b0?.inputIds ?? [])]).toEqual([1, 2, 3, 4, 5, 11, 12, 13, 9, 9]);
    expect([...(b0?.labels ?? [])]).toEqual([-100, -100, 3, 4, 5, -100, 12, 13, -100, -100]);
    expect(batches.map((b) => b.numItems)).toEqual([items(EXAMPLES.slice(0, 2)), items(EXAMPLES.slice(2, 4)), items(EXAMPLES.slice(4))]);
    expect(batches.map((b) => b.numItems)).toEqual([5, 6, 3]); // by hand: (3 + 2), (6 + 0), (3)
  });

  it('a label at position 0 is never counted (nothing predicts it)', () => {
    const e = ex(0, 4, 0);
    expect(makeBatches([e], 1)[0]?.numItems).toBe(3);
  });

  it('dropLast drops a short last batch', () => {
    expect(makeBatches(EXAMPLES, 2, { dropLast: true }).map((b) => b.batchSize)).toEqual([2, 2]);
    expect(makeBatches(EXAMPLES, 5, { dropLast: true })).toHaveLength(1);
  });

  it('maxLength caps T and cuts rows (positional and options forms agree)', () => {
    const a = makeBatches(EXAMPLES, 2, 4, { padTokenId: 0 });
    const b = makeBatches(EXAMPLES, 2, { maxLength: 4 });
    expect(a).toEqual(b);
    expect(a.map((x) => x.seqLen)).toEqual([4, 4, 4]);
    expect(a[1]?.inputIds.slice(0, 4)).toEqual(EXAMPLES[2]?.inputIds.slice(0, 4));
    expect(a.map((x) => x.numItems)).toEqual([items(EXAMPLES.slice(0, 2), 4), items(EXAMPLES.slice(2, 4), 4), items(EXAMPLES.slice(4), 4)]);
  });

  it('a seed shuffles deterministically into a permutation; shuffle: false keeps the order', () => {
    const order = shuffledOrder(50, 7);
    expect([...order].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(shuffledOrder(50, 7)).toEqual(order);
    expect(shuffledOrder(50, 8)).not.toEqual(order);
    const shuffled = makeBatches(EXAMPLES, 1, { seed: 3 });
    expect(shuffled.map((b) => b.inputIds[0])).toEqual(shuffledOrder(5, 3).map((i) => EXAMPLES[i]?.inputIds[0]));
    expect(makeBatches(EXAMPLES, 1, { seed: 3, shuffle: false }).map((b) => b.inputIds[0])).toEqual([1, 11, 21, 31, 41]);
  });

  it('rejects bad sizes and inconsistent examples', () => {
    expect(() => makeBatches(EXAMPLES, 0)).toThrow('batch size must be a positive integer, got 0');
    expect(() => makeBatches(EXAMPLES, 2, { maxLength: 0 })).toThrow('max length must be a positive integer, got 0');
    expect(() => makeBatches(EXAMPLES, 2, { shuffle: true })).toThrow('makeBatches: shuffle needs a seed');
    const bad = { ...ex(0, 3, 0), labels: new Int32Array(2) };
    expect(() => makeBatches([bad], 1)).toThrow('ex0: input_ids has 3 tokens but labels has 2');
    expect(makeBatches([], 4)).toEqual([]);
  });
});
