/**
 * Next-token choice from one row of logits [V] on the CPU, in the order of Hugging Face `generate`
 * (transformers generation/utils.py `_get_logits_processor`: TemperatureLogitsWarper, then TopPLogitsWarper, then
 * multinomial sampling of the softmax):
 *  - temperature 0: greedy, argmax (the lowest id among equal maxima, as torch.argmax);
 *  - otherwise p = softmax(logits / T); top-p (1 = off) keeps the smallest set of most probable tokens whose mass
 *    reaches top_p: HF sorts ascending and drops every token whose cumulative mass is ≤ 1 − top_p, always keeping
 *    the most probable one, which is the same as keeping token k (in descending order, ties by lower id) while the
 *    mass of the tokens before it is < top_p; then one uniform draw u ∈ [0, 1) from the seeded mulberry32 stream
 *    (train/rng.ts) picks the token whose cumulative renormalised mass first exceeds u, walking the kept tokens in
 *    descending probability (top-p < 1) or in vocabulary order (top-p 1).
 * Deterministic for a seed; not bit-identical to torch's multinomial (a different generator).
 */
import type { Rng } from '../train/rng';

/** Thrown for invalid sampling settings; names the setting and the allowed range. */
export class SamplingError extends Error {
  override name = 'SamplingError';
}

/** Sampling knobs (the GenerateSettings subset the sampler reads). */
export interface SamplerSettings {
  /** 0 = greedy; > 0 divides the logits */
  readonly temperature: number;
  /** nucleus mass in (0, 1]; 1 = off */
  readonly topP: number;
}

/**
 * Checks temperature ≥ 0 (finite) and 0 < topP ≤ 1.
 * @throws SamplingError naming the setting
 */
export function checkSamplerSettings(s: SamplerSettings): void {
  if (!(Number.isFinite(s.temperature) && s.temperature >= 0)) throw new SamplingError(`temperature must be a finite number ≥ 0 (0 = greedy), got ${s.temperature}`);
  if (!(Number.isFinite(s.topP) && s.topP > 0 && s.topP <= 1)) throw new SamplingError(`top_p must be in (0, 1] (1 = off), got ${s.topP}`);
}

/** Index of the largest logit (lowest index on ties); NaN logits are never chosen unless all are NaN (then 0). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  let bv = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i] as number;
    if (v > bv) {
      bv = v;
      best = i;
    }
  }
  return best;
}

/**
 * The nucleus after temperature: token ids (descending probability, ties by lower id) and their probabilities
 * renormalised over the kept set. With topP 1 every token is kept, in vocabulary order (no sort).
 * @param temperature > 0
 */
export function nucleus(logits: ArrayLike<number>, temperature: number, topP: number): { ids: number[]; probs: Float64Array } {
  const V = logits.length;
  let mx = -Infinity;
  for (let i = 0; i < V; i++) mx = Math.max(mx, (logits[i] as number) / temperature);
  const p = new Float64Array(V);
  let z = 0;
  for (let i = 0; i < V; i++) {
    const e = Math.exp((logits[i] as number) / temperature - mx);
    p[i] = e;
    z += e;
  }
  for (let i = 0; i < V; i++) p[i] = (p[i] as number) / z;
  if (topP >= 1) return { ids: Array.from({ length: V }, (_, i) => i), probs: p };
  // Sort only the tokens above a threshold whose mass already reaches topP: every other token is less probable
  // than all of them, so the nucleus lies inside (the threshold drops 100× until it does; at worst all tokens).
  let order: number[] = [];
  for (let eps = 1e-3 / V; ; eps /= 100) {
    order = [];
    let mass = 0;
    for (let i = 0; i < V; i++) if ((p[i] as number) >= eps) (order.push(i), (mass += p[i] as number));
    if (mass >= topP || order.length === V || eps === 0) break;
  }
  order.sort((a, b) => (p[b] as number) - (p[a] as number) || a - b);
  const ids: number[] = [];
  let before = 0;
  for (const id of order) {
    if (ids.length > 0 && !(before < topP)) break;
    ids.push(id);
    before += p[id] as number;
  }
  const probs = new Float64Array(ids.length);
  ids.forEach((id, k) => (probs[k] = (p[id] as number) / before));
  return { ids, probs };
}

/**
 * Picks the next token: greedy at temperature 0 (rng untouched), else one draw from the nucleus.
 * @throws SamplingError for invalid settings
 */
export function sampleToken(logits: ArrayLike<number>, s: SamplerSettings, rng: Rng): number {
  checkSamplerSettings(s);
  if (s.temperature === 0) return argmax(logits);
  const { ids, probs } = nucleus(logits, s.temperature, s.topP);
  const u = rng();
  let acc = 0;
  for (let k = 0; k < ids.length; k++) {
    acc += probs[k] as number;
    if (u < acc) return ids[k] as number;
  }
  return ids[ids.length - 1] as number;
}
