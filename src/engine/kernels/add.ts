/**
 * Elementwise residual add y += x (shaders/add.wgsl): the normed branch of a Gemma 3 layer added to the residual
 * stream. Its backward is the identity (the residual gradient is shared), so there is no backward entry point.
 */
import code from '../../../shaders/add.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { packUniform, uniform } from '../gpu/buffers';
import { requireBinding, requireSizes } from '../gpu/check';
import { dispatch, linearGrid, type Binding, type KernelSpec } from '../gpu/pipeline';

const WG = 256;
const spec: KernelSpec = { label: 'add.forward', code, entryPoint: 'forward', bindings: ['uniform', 'read', 'rw'], constants: { WG } };

/**
 * Records y[i] += x[i] for i < n (f32).
 * @throws Error naming the tensor when a binding holds fewer than n floats; DeviceLimitError when n·4 bytes exceed
 *   maxStorageBufferBindingSize.
 */
export function addInPlace(ctx: GpuContext, enc: GPUCommandEncoder, args: { readonly n: number; readonly x: Binding; readonly y: Binding }): void {
  requireSizes('add', { n: args.n });
  requireBinding(ctx, 'add', `x [n=${args.n}] f32`, args.x, args.n * 4);
  requireBinding(ctx, 'add', `y [n=${args.n}] f32`, args.y, args.n * 4);
  const params = uniform(ctx, packUniform([{ u32: args.n }]), 'add.params');
  dispatch(ctx, enc, spec, [params, args.x, args.y], linearGrid(ctx, args.n, WG));
}
