/**
 * Size checks for kernel bindings: a binding must hold the bytes a kernel will touch and must not
 * exceed the device's maxStorageBufferBindingSize. Errors name the kernel, the tensor and the numbers.
 */
import type { GpuContext } from './context';
import { DeviceLimitError } from './buffers';
import type { Binding } from './pipeline';

/** Bytes visible through a binding (whole buffer, or the bound sub-range). */
export function bindingBytes(b: Binding): number {
  return b.size;
}

/**
 * Checks that `b` covers `neededBytes` and that this range fits one storage binding.
 * @param kernel kernel label, e.g. "matmul".
 * @param tensor tensor role with its shape, e.g. "a [M=7, K=5] f32".
 * @throws DeviceLimitError when neededBytes > maxStorageBufferBindingSize (split the tensor);
 *   Error when the binding holds fewer than neededBytes bytes.
 */
export function requireBinding(ctx: GpuContext, kernel: string, tensor: string, b: Binding, neededBytes: number): void {
  const max = ctx.limits.maxStorageBufferBindingSize;
  if (neededBytes > max) throw new DeviceLimitError('maxStorageBufferBindingSize', neededBytes, max, `${kernel}: ${tensor}`);
  const have = bindingBytes(b);
  if (have < neededBytes) throw new Error(`${kernel}: ${tensor} needs ${neededBytes} bytes but its binding holds ${have} bytes`);
}

/**
 * Checks that every size is a non-negative integer below 2^31 (kernels index with u32).
 * @throws Error naming the kernel and the bad size.
 */
export function requireSizes(kernel: string, sizes: Readonly<Record<string, number>>): void {
  for (const [k, v] of Object.entries(sizes)) {
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** 31) throw new Error(`${kernel}: ${k} = ${v}; expected a non-negative integer below 2^31`);
  }
}
