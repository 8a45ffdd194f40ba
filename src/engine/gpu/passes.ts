/**
 * One compute pass for consecutive dispatches on an encoder. WebGPU makes every dispatch of a pass see the storage
 * writes of the dispatches before it, so merging passes changes no result; it saves a beginComputePass/end pair per
 * dispatch (host time on real GPUs). The pass is ended before any other command is recorded on the encoder: the
 * encoder's own methods are wrapped the first time a pass is opened on it, so callers use the encoder as usual
 * (copyBufferToBuffer, clearBuffer, finish, …).
 * While a {@link GpuProfiler} is active on the device, every dispatch gets a pass of its own with GPU timestamps.
 */
import type { GpuContext } from './context';
import { activeProfiler } from './profiler';

/** Encoder methods that must not be called while a compute pass is open. */
const ENCODER_METHODS = [
  'finish', 'copyBufferToBuffer', 'clearBuffer', 'beginComputePass', 'beginRenderPass', 'resolveQuerySet',
  'copyBufferToTexture', 'copyTextureToBuffer', 'copyTextureToTexture', 'pushDebugGroup', 'popDebugGroup', 'insertDebugMarker',
] as const;

interface OpenPass {
  readonly pass: GPUComputePassEncoder;
  /** true for a timed pass: it holds one dispatch and is ended before the next. */
  readonly single: boolean;
}

const open = new WeakMap<GPUCommandEncoder, OpenPass>();
const wrapped = new WeakSet<GPUCommandEncoder>();

/** Ends the compute pass left open on `enc` by {@link computePass}, if any. */
export function endOpenPass(enc: GPUCommandEncoder): void {
  const p = open.get(enc);
  if (!p) return;
  open.delete(enc);
  p.pass.end();
}

function wrapEncoder(enc: GPUCommandEncoder): void {
  if (wrapped.has(enc)) return;
  wrapped.add(enc);
  const target = enc as unknown as Record<string, unknown>;
  for (const name of ENCODER_METHODS) {
    const original = target[name];
    if (typeof original !== 'function') continue;
    target[name] = function (this: GPUCommandEncoder, ...args: unknown[]): unknown {
      endOpenPass(enc);
      return (original as (...a: unknown[]) => unknown).apply(enc, args);
    };
  }
}

/**
 * The compute pass to record the next dispatch into: the one open on `enc`, or a new one.
 * @param label pass label (the kernel's) when a new pass is begun
 * @param stats counter object whose `passesBegun` is incremented per new pass
 */
export function computePass(ctx: GpuContext, enc: GPUCommandEncoder, label: string, stats: { passesBegun: number }): GPUComputePassEncoder {
  const profiler = activeProfiler(ctx.device);
  const cur = open.get(enc);
  if (cur && !cur.single && !profiler) return cur.pass;
  if (cur) endOpenPass(enc);
  wrapEncoder(enc);
  const timestampWrites = profiler?.nextSlot(label);
  const pass = enc.beginComputePass(timestampWrites ? { label, timestampWrites } : { label });
  // beginComputePass above went through the wrapper (which ends nothing now); remember the new pass.
  open.set(enc, { pass, single: !!profiler });
  stats.passesBegun++;
  return pass;
}
