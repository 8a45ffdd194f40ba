/**
 * Compute pipelines with explicit bind-group layouts, cached per device (WeakMap keyed by device,
 * then by label + entry point + bindings + override constants + source).
 * Pattern: webgpu-samples / tfjs-backend-webgpu. WGSL is specialised with `override` constants only.
 */
import type { GpuContext } from './context';

/** How a binding is declared in WGSL: `var<storage, read>`, `var<storage, read_write>`, or `var<uniform>`. */
export type BindingKind = 'read' | 'rw' | 'uniform';

/** Everything a compute pipeline depends on. */
export interface KernelSpec {
  /** Shown in GPU errors, e.g. "rmsnorm.forward". */
  readonly label: string;
  /** WGSL source (imported from shaders/*.wgsl with ?raw). */
  readonly code: string;
  readonly entryPoint: string;
  /** Bindings of group 0, in binding order 0..n-1. */
  readonly bindings: readonly BindingKind[];
  /** Values for the shader's `override` declarations. */
  readonly constants?: Readonly<Record<string, number>>;
}

/** A cached pipeline with its explicit layout. */
export interface CachedPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

const cache = new WeakMap<GPUDevice, Map<string, CachedPipeline>>();
const modules = new WeakMap<GPUDevice, Map<string, GPUShaderModule>>();

function bufferType(kind: BindingKind): GPUBufferBindingType {
  return kind === 'read' ? 'read-only-storage' : kind === 'rw' ? 'storage' : 'uniform';
}

/** Returns the pipeline for `spec`, creating and caching it on first use. */
export function getPipeline(ctx: GpuContext, spec: KernelSpec): CachedPipeline {
  const { device } = ctx;
  let byKey = cache.get(device);
  if (!byKey) cache.set(device, (byKey = new Map()));
  const constants = spec.constants ?? {};
  const key = JSON.stringify([spec.label, spec.entryPoint, spec.bindings, Object.entries(constants).sort(), spec.code.length, spec.code]);
  const hit = byKey.get(key);
  if (hit) return hit;
  let mods = modules.get(device);
  if (!mods) modules.set(device, (mods = new Map()));
  let module = mods.get(spec.code);
  if (!module) {
    module = device.createShaderModule({ label: spec.label.split('.')[0], code: spec.code });
    mods.set(spec.code, module);
  }
  const layout = device.createBindGroupLayout({
    label: `${spec.label}:layout`,
    entries: spec.bindings.map((kind, binding) => ({ binding, visibility: 0x4 /* COMPUTE */, buffer: { type: bufferType(kind) } })),
  });
  const pipeline = device.createComputePipeline({
    label: spec.label,
    layout: device.createPipelineLayout({ label: `${spec.label}:pl`, bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: spec.entryPoint, constants },
  });
  const entry = { pipeline, layout };
  byKey.set(key, entry);
  return entry;
}

/** A buffer or a sub-range of one, bound at the matching index of `spec.bindings`. */
export type Binding = GPUBuffer | { buffer: GPUBuffer; offset: number; size: number };

/**
 * Records one dispatch of `spec` into `enc` with `bindings` (same order as spec.bindings).
 * @param workgroups [x, y, z] workgroup counts; each must be ≤ maxComputeWorkgroupsPerDimension.
 * @throws Error naming the kernel and the limit when a workgroup count is too large.
 */
export function dispatch(ctx: GpuContext, enc: GPUCommandEncoder, spec: KernelSpec, bindings: readonly Binding[], workgroups: readonly [number, number?, number?]): void {
  if (bindings.length !== spec.bindings.length) throw new Error(`${spec.label}: ${bindings.length} bindings given, ${spec.bindings.length} expected`);
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  const [x, y = 1, z = 1] = workgroups;
  if (x > max || y > max || z > max) throw new Error(`${spec.label}: dispatch (${x}, ${y}, ${z}) exceeds maxComputeWorkgroupsPerDimension ${max}`);
  if (x === 0 || y === 0 || z === 0) return;
  const { pipeline, layout } = getPipeline(ctx, spec);
  const group = ctx.device.createBindGroup({
    label: `${spec.label}:bg`,
    layout,
    entries: bindings.map((b, binding) => ({ binding, resource: 'offset' in b ? b : { buffer: b } })),
  });
  const pass = enc.beginComputePass({ label: spec.label });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(x, y, z);
  pass.end();
}

/**
 * Workgroup grid for `n` threads of a 1-D kernel using the 2-D linearisation
 * `i = gid.x + gid.y * (num_workgroups.x * WG)`, so n can exceed 65535 × WG.
 */
export function linearGrid(ctx: GpuContext, n: number, wg: number): [number, number] {
  const groups = Math.ceil(n / wg);
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= max) return [groups, 1];
  const y = Math.ceil(groups / max);
  return [Math.ceil(groups / y), y];
}
