/**
 * Frozen model weights on the GPU, kept in their file dtype (DESIGN.md "Precision and memory").
 *
 * A packed weight is a storage buffer of u32 words holding the raw little-endian safetensors bytes:
 * F32 is 1 value per word; BF16 and F16 are 2 values per word, element i in the low half when i is
 * even. Kernels read element i through an `override W_DTYPE: u32` (see {@link weightDtypeCode}):
 *   0 (F32):  bitcast<f32>(w[i])
 *   1 (BF16): bitcast<f32>(((w[i >> 1] >> (16 * (i & 1))) & 0xffff) << 16)   (exact upcast)
 *   2 (F16):  unpack2x16float(w[i >> 1])[i & 1]                               (exact upcast)
 */
import type { GpuContext } from './context';
import { uploadStorage } from './buffers';
import { DTYPE_BYTES, type WeightDType } from '../../io/dtype';

/** A frozen weight tensor resident on the GPU in its file dtype. */
export interface PackedWeight {
  /** Storage buffer of u32 words with the raw bytes (padded with zeros to a multiple of 4 bytes). */
  buffer: GPUBuffer;
  /** Dtype of the stored elements. */
  dtype: WeightDType;
  /** Tensor shape, row-major (e.g. [N, K] for an nn.Linear weight). */
  shape: readonly number[];
  /** Tensor name (safetensors key), used for buffer labels and errors. */
  label: string;
}

/** The `W_DTYPE` override value kernels use to decode a packed weight: F32 → 0, BF16 → 1, F16 → 2. */
export function weightDtypeCode(dtype: WeightDType): 0 | 1 | 2 {
  switch (dtype) {
    case 'F32':
      return 0;
    case 'BF16':
      return 1;
    case 'F16':
      return 2;
  }
}

/** Number of elements of a shape (1 for a scalar []). */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Bytes that `count` elements of `dtype` occupy in a packed weight buffer (before padding to 4). */
export function packedBytes(dtype: WeightDType, count: number): number {
  return count * DTYPE_BYTES[dtype];
}

/**
 * Uploads raw safetensors bytes of a float tensor as a packed weight (bytes copied as-is, padded to 4).
 * @param bytes little-endian tensor data, exactly numel(shape) · DTYPE_BYTES[dtype] bytes.
 * @throws Error naming `label` when the byte length does not match the shape, or a shape entry is not a
 *   non-negative integer; DeviceLimitError when the buffer exceeds maxBufferSize / maxStorageBufferBindingSize.
 */
export function uploadWeight(ctx: GpuContext, bytes: Uint8Array, dtype: WeightDType, shape: readonly number[], label: string): PackedWeight {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`uploadWeight: ${label} has shape [${shape.join(', ')}]; every dimension must be a non-negative integer`);
  }
  const want = packedBytes(dtype, numel(shape));
  if (bytes.byteLength !== want) {
    throw new Error(`uploadWeight: ${label} (${dtype} [${shape.join(', ')}]) needs ${want} bytes but ${bytes.byteLength} were given`);
  }
  const buffer = uploadStorage(ctx, bytes, label);
  return { buffer, dtype, shape: [...shape], label };
}

/**
 * Uploads f32 values as an F32 packed weight (convenience for tests, LoRA factors and norms).
 * @param values f32, numel(shape) values.
 * @throws Error naming `label` when values.length ≠ numel(shape).
 */
export function uploadF32Weight(ctx: GpuContext, values: Float32Array, shape: readonly number[], label: string): PackedWeight {
  if (values.length !== numel(shape)) {
    throw new Error(`uploadF32Weight: ${label} has ${values.length} values but shape [${shape.join(', ')}] needs ${numel(shape)}`);
  }
  return uploadWeight(ctx, new Uint8Array(values.buffer, values.byteOffset, values.byteLength), 'F32', shape, label);
}
