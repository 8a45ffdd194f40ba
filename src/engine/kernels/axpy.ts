/**
 * axpy kernel wrapper: y ← y + alpha·x over N f32 elements (residual adds, gradient accumulation).
 * Shader: shaders/axpy.wgsl.
 */
import code from '../../../shaders/axpy.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { packUniform, uniform } from '../gpu/buffers';
import { dispatch, linearGrid, type Binding, type KernelSpec } from '../gpu/pipeline';

const WG = 256;
const spec: KernelSpec = { label: 'axpy.forward', code, entryPoint: 'forward', bindings: ['uniform', 'read', 'rw'], constants: { WG } };

/**
 * Records y ← y + alpha·x.
 * @param n element count (f32); x and y must hold at least n floats.
 */
export function axpy(ctx: GpuContext, enc: GPUCommandEncoder, n: number, alpha: number, x: Binding, y: Binding): void {
  const params = uniform(ctx, packUniform([{ u32: n }, { f32: alpha }]), 'axpy.params');
  dispatch(ctx, enc, spec, [params, x, y], linearGrid(ctx, n, WG));
}
