/**
 * Stage dpo's cache of the untrained models' held-out log-probs (app/prefEvalCacheStore.ts), in memory (Node has no
 * IndexedDB): keyed by model identity and held-out pairs (any changed token or Max length is another key), and only
 * finite values are kept.
 */
import { describe, expect, it } from 'vitest';
import { getPrefReference, prefHeldoutKey, restorePrefEvalCache, setPrefReference } from '../../src/app/prefEvalCacheStore';

const row = (ids: number[], labels: number[]) => ({ inputIds: Int32Array.from(ids), labels: Int32Array.from(labels), source: 'x', truncated: false });
const pairs = [{ chosen: row([1, 2, 3], [-100, 2, 3]), rejected: row([1, 2, 4], [-100, 2, 4]), source: 'pref.jsonl row 1' }];

describe('held-out log-probs cache (stage dpo)', () => {
  it('answers only for the same model and the same held-out pairs and Max length', async () => {
    await restorePrefEvalCache();
    const key = prefHeldoutKey(pairs, 64);
    expect(prefHeldoutKey(pairs, 32)).not.toBe(key);
    expect(prefHeldoutKey([{ ...pairs[0]!, rejected: row([1, 2, 5], [-100, 2, 5]) }], 64)).not.toBe(key);
    expect(getPrefReference('model-a', key)).toBeUndefined();
    setPrefReference('model-a', key, { chosen: Float64Array.of(-3.5), rejected: Float64Array.of(-4.25) });
    expect(getPrefReference('model-a', key)).toEqual({ chosen: Float64Array.of(-3.5), rejected: Float64Array.of(-4.25) });
    expect(getPrefReference('model-b', key)).toBeUndefined();
    setPrefReference('model-b', key, { chosen: Float64Array.of(NaN), rejected: Float64Array.of(-1) });
    expect(getPrefReference('model-b', key)).toBeUndefined();
  });
});
