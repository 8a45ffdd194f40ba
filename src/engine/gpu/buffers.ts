/**
 * GPU buffer helpers: create (with limit checks that name the limit), upload, read back.
 * All sizes are bytes; storage buffers are padded to a multiple of 4 bytes.
 */
import type { GpuContext } from './context';
import { LruCache } from './lru';

/** Thrown when a buffer would exceed a device limit; names the limit, the needed and the actual value. */
export class DeviceLimitError extends Error {
  override name = 'DeviceLimitError';
  constructor(
    readonly limit: string,
    readonly needed: number,
    readonly actual: number,
    what: string,
  ) {
    super(`${what} needs ${needed} bytes but this GPU's ${limit} is ${actual} bytes`);
  }
}

const STORAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST (GPUBufferUsage values)

/** Rounds n up to a multiple of m. */
export function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/**
 * Creates a zero-filled storage buffer (STORAGE | COPY_SRC | COPY_DST).
 * @param byteSize bytes; rounded up to 4 (minimum 4).
 * @throws DeviceLimitError if the size exceeds maxBufferSize or maxStorageBufferBindingSize.
 */
export function createStorage(ctx: GpuContext, byteSize: number, label: string): GPUBuffer {
  const size = Math.max(4, roundUp(byteSize, 4));
  if (size > ctx.limits.maxBufferSize) throw new DeviceLimitError('maxBufferSize', size, ctx.limits.maxBufferSize, label);
  if (size > ctx.limits.maxStorageBufferBindingSize)
    throw new DeviceLimitError('maxStorageBufferBindingSize', size, ctx.limits.maxStorageBufferBindingSize, label);
  return ctx.device.createBuffer({ label, size, usage: STORAGE });
}

/** Creates a storage buffer holding `data` (any typed array; bytes copied as-is). */
export function uploadStorage(ctx: GpuContext, data: ArrayBufferView, label: string): GPUBuffer {
  const buf = createStorage(ctx, data.byteLength, label);
  writeBytes(ctx, buf, 0, data);
  return buf;
}

/** Writes bytes into a buffer at a byte offset; pads the copy to a multiple of 4 bytes. */
export function writeBytes(ctx: GpuContext, buf: GPUBuffer, byteOffset: number, data: ArrayBufferView): void {
  const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  if (bytes.byteLength % 4 === 0) {
    ctx.device.queue.writeBuffer(buf, byteOffset, bytes);
  } else {
    const padded = new Uint8Array(roundUp(bytes.byteLength, 4));
    padded.set(bytes);
    ctx.device.queue.writeBuffer(buf, byteOffset, padded);
  }
}

/** Uniform buffers kept per device, by content; evicted ones are destroyed after the next submitAndWait. */
const UNIFORM_CACHE = 16384;
const uniforms = new WeakMap<GpuContext, LruCache<string, GPUBuffer>>();

/**
 * A small uniform buffer holding 32-bit words (u32 unless given as f32 via `Float32Array`).
 * Uniform buffers are immutable and cached by (label, content): a step that records the same shapes again reuses
 * the buffers (and so the bind groups that hold them) instead of creating one per dispatch. Never write into the
 * returned buffer.
 */
export function uniform(ctx: GpuContext, words: Uint32Array | Float32Array | ArrayBuffer, label: string): GPUBuffer {
  const bytes = words instanceof ArrayBuffer ? new Uint8Array(words) : new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  const u32 = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
  let key = label;
  for (let i = 0; i < u32.length; i++) key += `,${u32[i]}`;
  for (let i = u32.length * 4; i < bytes.byteLength; i++) key += `;${bytes[i]}`;
  let cache = uniforms.get(ctx);
  if (!cache) uniforms.set(ctx, (cache = new LruCache(UNIFORM_CACHE, (b) => ctx.transient.push(b))));
  const hit = cache.get(key);
  if (hit) return hit;
  const size = roundUp(Math.max(16, bytes.byteLength), 16);
  const buf = ctx.device.createBuffer({ label, size, usage: 0x40 | 0x8 /* UNIFORM | COPY_DST */, mappedAtCreation: true });
  new Uint8Array(buf.getMappedRange()).set(bytes);
  buf.unmap();
  cache.set(key, buf);
  return buf;
}

const scratches = new WeakMap<GpuContext, Map<string, GPUBuffer>>();

/**
 * A storage buffer of at least `byteSize` bytes kept per context under `name`, for scratch that a kernel wrapper
 * writes and reads back within its own consecutive dispatches (e.g. a two-pass reduction's partials). Reusing it
 * keeps bind groups cached and allocates nothing per step; a larger request replaces it with one of exactly that
 * size (the old one is destroyed after the next submitAndWait), so the memory plan can count it. Never hold data in it across wrapper calls.
 * @throws DeviceLimitError as {@link createStorage}.
 */
export function scratchBuffer(ctx: GpuContext, name: string, byteSize: number): GPUBuffer {
  let m = scratches.get(ctx);
  if (!m) scratches.set(ctx, (m = new Map()));
  const cur = m.get(name);
  if (cur && cur.size >= byteSize) return cur;
  if (cur) ctx.transient.push(cur);
  const next = createStorage(ctx, byteSize, `scratch.${name}`);
  m.set(name, next);
  return next;
}

/** Packs mixed u32 / f32 fields into one ArrayBuffer for a uniform struct (all 4-byte fields, in order). */
export function packUniform(fields: ReadonlyArray<{ u32: number } | { f32: number } | { i32: number }>): ArrayBuffer {
  const ab = new ArrayBuffer(roundUp(fields.length * 4, 16));
  const dv = new DataView(ab);
  fields.forEach((f, i) => {
    if ('u32' in f) dv.setUint32(i * 4, f.u32, true);
    else if ('i32' in f) dv.setInt32(i * 4, f.i32, true);
    else dv.setFloat32(i * 4, f.f32, true);
  });
  return ab;
}

/**
 * Copies `byteSize` bytes from `src` (at `byteOffset`) to the CPU.
 * Waits for all work submitted before it.
 */
export async function readBytes(ctx: GpuContext, src: GPUBuffer, byteOffset = 0, byteSize = src.size - byteOffset): Promise<ArrayBuffer> {
  const size = roundUp(byteSize, 4);
  const staging = ctx.device.createBuffer({ label: `${src.label}:readback`, size, usage: 0x1 | 0x8 /* MAP_READ | COPY_DST */ });
  const enc = ctx.device.createCommandEncoder();
  enc.copyBufferToBuffer(src, byteOffset, staging, 0, size);
  ctx.device.queue.submit([enc.finish()]);
  await staging.mapAsync(0x1 /* GPUMapMode.READ */);
  const out = staging.getMappedRange().slice(0, byteSize);
  staging.unmap();
  staging.destroy();
  return out;
}

/** Reads `count` f32 values starting at element `offset`. */
export async function readF32(ctx: GpuContext, src: GPUBuffer, offset = 0, count = src.size / 4 - offset): Promise<Float32Array> {
  return new Float32Array(await readBytes(ctx, src, offset * 4, count * 4));
}
