/**
 * The buffers of one generator (forward only, B = 1): the KV cache of every layer, the activations of one forward
 * over up to maxT rows (the prompt's prefill; a decode step uses row 0 only), and the head's last-row buffers.
 * Unlike training activations (model/activations.ts) nothing is saved per layer: the residual stream is updated in
 * place and every layer reuses the same scratch, so the memory is the cache plus one layer's worth of activations.
 * All f32 except ids (i32).
 */
import type { ModelConfig } from '../../io/config/types';
import type { GpuContext } from '../gpu/context';
import { createStorage } from '../gpu/buffers';
import { vocabChunkRows } from '../model/vocabChunks';
import { ropeKind, type RopeKind } from '../model/rope';

/** Key and value cache of one layer, f32 [maxT, KV, D] each (rows = absolute positions). */
export interface LayerCache {
  readonly k: GPUBuffer;
  readonly v: GPUBuffer;
}

/** Every buffer a generator owns. Shapes use maxT rows (M ≤ maxT per forward). */
export interface GenBuffers {
  readonly maxT: number;
  /** i32 [maxT] token ids of the rows being run */
  readonly ids: GPUBuffer;
  /** residual stream [maxT, C], updated in place layer after layer */
  readonly x: GPUBuffer;
  /** RMSNorm outputs [maxT, C] and their rstd [maxT] (shared by both norms of a layer) */
  readonly h: GPUBuffer;
  readonly rstd: GPUBuffer;
  /** q [maxT, H·D], k, v [maxT, KV·D] after (q/k-norm and) RoPE */
  readonly q: GPUBuffer;
  readonly k: GPUBuffer;
  readonly v: GPUBuffer;
  /** qwen3: projections before q_norm / k_norm and their rstd [maxT·H], [maxT·KV]; null otherwise */
  readonly qPre: GPUBuffer | null;
  readonly kPre: GPUBuffer | null;
  readonly rstdQ: GPUBuffer | null;
  readonly rstdK: GPUBuffer | null;
  /** attention output [maxT, H·D], prefill log-sum-exp [H, maxT] (unused), decode scores [H, maxT] */
  readonly attn: GPUBuffer;
  readonly lse: GPUBuffer;
  readonly scores: GPUBuffer;
  /** gate_proj, up_proj outputs and silu(gate)·up [maxT, I] */
  readonly gate: GPUBuffer;
  readonly up: GPUBuffer;
  readonly act: GPUBuffer;
  /** sandwich norms (Gemma 3): the branch output before its norm (o_proj / down_proj output) [maxT, C]; else null */
  readonly branch: GPUBuffer | null;
  /** RoPE cos/sin of the one position of a decode step [1, D/2], per RoPE kind the model uses */
  readonly stepRope: Readonly<Partial<Record<RopeKind, { readonly cos: GPUBuffer; readonly sin: GPUBuffer }>>>;
  readonly cache: readonly LayerCache[];
  /** last row's residual [C], its final norm [C] and rstd [1] */
  readonly xLast: GPUBuffer;
  readonly hLast: GPUBuffer;
  readonly rstdLast: GPUBuffer;
  /** Vc rows per head chunk (vocabChunks.vocabChunkRows at M = 1), the chunk scratch [Vc] and all logits [V] */
  readonly chunkRows: number;
  readonly logitsChunk: GPUBuffer;
  readonly logits: GPUBuffer;
  /** MAP_READ | COPY_DST staging of the logits [V] */
  readonly readback: GPUBuffer;
  /** bytes of every buffer above */
  readonly bytes: number;
  destroy(): void;
}

/**
 * Bytes {@link createGenBuffers} allocates for `cfg` and maxT, by group (before 4-byte padding): the KV cache
 * (2·L·maxT·KV·D·4), the one-forward activations, and the head's last-row buffers.
 */
export function genBufferBytes(cfg: ModelConfig, maxT: number): { cache: number; activations: number; head: number } {
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: I, numLayers: L, vocabSize: V } = cfg;
  const qk = cfg.qkNorm ? maxT * (H * D + KV * D + H + KV) : 0;
  const branch = cfg.sandwichNorms ? maxT * C : 0;
  const activations = 4 * (maxT * (1 + 2 * C + 1 + 2 * H * D + 2 * KV * D + 3 * I) + 2 * H * maxT + qk + branch + ropeKinds(cfg).length * D);
  return { cache: 2 * L * maxT * KV * D * 4, activations, head: 4 * (3 * C + 1 + 3 * V) };
}

/** The RoPE kinds the layers of `cfg` read (one step table each). */
function ropeKinds(cfg: ModelConfig): RopeKind[] {
  return [...new Set(cfg.layerTypes.map((t) => ropeKind(cfg, t)))];
}

/**
 * Allocates the buffers for generation of up to maxT positions (prompt + new tokens).
 * @throws DeviceLimitError naming the buffer when one exceeds the device limits; VocabChunkError when no vocabulary
 *   chunk fits.
 */
export function createGenBuffers(ctx: GpuContext, cfg: ModelConfig, maxT: number): GenBuffers {
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: I, vocabSize: V } = cfg;
  const owned: GPUBuffer[] = [];
  const make = (floats: number, label: string): GPUBuffer => {
    const b = createStorage(ctx, floats * 4, `generate.${label}`);
    owned.push(b);
    return b;
  };
  try {
    const chunkRows = vocabChunkRows(V, C, 1, ctx.limits);
    const cache = Array.from({ length: cfg.numLayers }, (_, l) => ({ k: make(maxT * KV * D, `cache${l}.k`), v: make(maxT * KV * D, `cache${l}.v`) }));
    const readback = ctx.device.createBuffer({ label: 'generate.logits:readback', size: Math.max(4, V * 4), usage: 0x1 | 0x8 /* MAP_READ | COPY_DST */ });
    owned.push(readback);
    return {
      maxT,
      ids: make(maxT, 'ids'),
      x: make(maxT * C, 'x'),
      h: make(maxT * C, 'h'),
      rstd: make(maxT, 'rstd'),
      q: make(maxT * H * D, 'q'),
      k: make(maxT * KV * D, 'k'),
      v: make(maxT * KV * D, 'v'),
      qPre: cfg.qkNorm ? make(maxT * H * D, 'qPre') : null,
      kPre: cfg.qkNorm ? make(maxT * KV * D, 'kPre') : null,
      rstdQ: cfg.qkNorm ? make(maxT * H, 'rstdQ') : null,
      rstdK: cfg.qkNorm ? make(maxT * KV, 'rstdK') : null,
      attn: make(maxT * H * D, 'attn'),
      lse: make(H * maxT, 'lse'),
      scores: make(H * maxT, 'scores'),
      gate: make(maxT * I, 'gate'),
      up: make(maxT * I, 'up'),
      act: make(maxT * I, 'act'),
      branch: cfg.sandwichNorms ? make(maxT * C, 'branch') : null,
      stepRope: Object.fromEntries(ropeKinds(cfg).map((k) => [k, { cos: make(D / 2, `step.${k}.cos`), sin: make(D / 2, `step.${k}.sin`) }])),
      cache,
      xLast: make(C, 'xLast'),
      hLast: make(C, 'hLast'),
      rstdLast: make(1, 'rstdLast'),
      chunkRows,
      logitsChunk: make(chunkRows, 'logitsChunk'),
      logits: make(V, 'logits'),
      readback,
      bytes: owned.reduce((a, b) => a + b.size, 0),
      destroy: () => owned.forEach((b) => b.destroy()),
    };
  } catch (e) {
    owned.forEach((b) => b.destroy());
    throw e;
  }
}
