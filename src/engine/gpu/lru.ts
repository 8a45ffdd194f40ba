/**
 * A size-bounded map that forgets the least recently used entry first (Map keeps insertion order; a hit is
 * re-inserted at the end). Used for per-device caches of bind groups and uniform buffers.
 */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();

  /**
   * @param capacity most entries kept (≥ 1)
   * @param onEvict called with each value pushed out (e.g. to destroy a GPU buffer once the queue is idle)
   * @throws RangeError when capacity is not a positive integer
   */
  constructor(readonly capacity: number, private readonly onEvict?: (value: V) => void) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`LruCache capacity must be a positive integer, got ${capacity}`);
  }

  /** Number of entries held. */
  get size(): number {
    return this.map.size;
  }

  /** The value under `key` (and marks it most recently used), or undefined. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  /** Stores `value` under `key`, evicting the least recently used entry when full. */
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value as K;
      const v = this.map.get(oldest) as V;
      this.map.delete(oldest);
      this.onEvict?.(v);
    }
  }
}
