/**
 * Compute pipelines with explicit bind-group layouts, and the dispatch path that records a step once.
 *
 * Record-once (tfjs-backend-webgpu / webgpu-utils habit), all per device:
 * - pipelines are cached under a small stable key (an interned id of the WGSL source + entry point + bindings +
 *   override constants), never a serialisation of the source;
 * - bind groups are cached by (layout, bound buffers and ranges), so a step that binds the same buffers again
 *   creates no GPU object (buffers get a numeric id the first time they are bound; see {@link bufferId});
 * - consecutive dispatches on one encoder share one compute pass (passes.ts); the pass is ended before any other
 *   encoder command, so callers keep using the encoder as usual.
 * Pattern: webgpu-samples / tfjs-backend-webgpu. WGSL is specialised with `override` constants only.
 */
import type { GpuContext } from './context';
import { computePass } from './passes';
import { LruCache } from './lru';

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
  /** Small per-device id of the layout, part of the bind-group cache key. */
  readonly layoutId: number;
}

/** Per-device caches and counters. */
interface DeviceCaches {
  readonly pipelines: Map<string, CachedPipeline>;
  readonly modules: Map<string, GPUShaderModule>;
  readonly layouts: Map<string, { layout: GPUBindGroupLayout; id: number }>;
  readonly bindGroups: LruCache<string, GPUBindGroup>;
  readonly stats: DispatchStats;
}

/** Counters of the dispatch path since the device was first used (or since {@link resetDispatchStats}). */
export interface DispatchStats {
  dispatches: number;
  pipelinesCreated: number;
  bindGroupsCreated: number;
  passesBegun: number;
}

/** Bind groups kept per device; older ones are dropped (they are plain JS objects once unused). */
const BIND_GROUP_CACHE = 16384;
const caches = new WeakMap<GPUDevice, DeviceCaches>();
/** Interned WGSL sources: the same module string always maps to the same small id. */
const codeIds = new Map<string, number>();
const bufferIds = new WeakMap<GPUBuffer, number>();
let nextBufferId = 1;

function cachesOf(device: GPUDevice): DeviceCaches {
  let c = caches.get(device);
  if (!c) {
    c = {
      pipelines: new Map(), modules: new Map(), layouts: new Map(),
      bindGroups: new LruCache(BIND_GROUP_CACHE),
      stats: { dispatches: 0, pipelinesCreated: 0, bindGroupsCreated: 0, passesBegun: 0 },
    };
    caches.set(device, c);
  }
  return c;
}

/** A stable small id for a buffer object (assigned on first use; never reused). */
export function bufferId(b: GPUBuffer): number {
  let id = bufferIds.get(b);
  if (id === undefined) bufferIds.set(b, (id = nextBufferId++));
  return id;
}

function codeId(code: string): number {
  let id = codeIds.get(code);
  if (id === undefined) codeIds.set(code, (id = codeIds.size + 1));
  return id;
}

function bufferType(kind: BindingKind): GPUBufferBindingType {
  return kind === 'read' ? 'read-only-storage' : kind === 'rw' ? 'storage' : 'uniform';
}

/** The cache key of a spec: source id, entry point, bindings and constants (sorted), never the source text. */
export function pipelineKey(spec: KernelSpec): string {
  let key = `${codeId(spec.code)}|${spec.entryPoint}|${spec.bindings.join(',')}|${spec.label}`;
  const c = spec.constants;
  if (c) for (const k of Object.keys(c).sort()) key += `|${k}=${c[k]}`;
  return key;
}

/** Returns the pipeline for `spec`, creating and caching it on first use. */
export function getPipeline(ctx: GpuContext, spec: KernelSpec): CachedPipeline {
  const { device } = ctx;
  const c = cachesOf(device);
  const key = pipelineKey(spec);
  const hit = c.pipelines.get(key);
  if (hit) return hit;
  let module = c.modules.get(spec.code);
  if (!module) {
    module = device.createShaderModule({ label: spec.label.split('.')[0], code: spec.code });
    c.modules.set(spec.code, module);
  }
  const layoutKey = spec.bindings.join(',');
  let lay = c.layouts.get(layoutKey);
  if (!lay) {
    const layout = device.createBindGroupLayout({
      label: `layout(${layoutKey})`,
      entries: spec.bindings.map((kind, binding) => ({ binding, visibility: 0x4 /* COMPUTE */, buffer: { type: bufferType(kind) } })),
    });
    lay = { layout, id: c.layouts.size + 1 };
    c.layouts.set(layoutKey, lay);
  }
  const pipeline = device.createComputePipeline({
    label: spec.label,
    layout: device.createPipelineLayout({ label: `${spec.label}:pl`, bindGroupLayouts: [lay.layout] }),
    compute: { module, entryPoint: spec.entryPoint, constants: spec.constants ?? {} },
  });
  const entry = { pipeline, layout: lay.layout, layoutId: lay.id };
  c.pipelines.set(key, entry);
  c.stats.pipelinesCreated++;
  return entry;
}

/** A buffer or a sub-range of one, bound at the matching index of `spec.bindings`. */
export type Binding = GPUBuffer | { buffer: GPUBuffer; offset: number; size: number };

function bindGroupFor(ctx: GpuContext, c: DeviceCaches, p: CachedPipeline, label: string, bindings: readonly Binding[]): GPUBindGroup {
  let key = `${p.layoutId}`;
  for (const b of bindings) key += 'offset' in b ? `|${bufferId(b.buffer)}@${b.offset}+${b.size}` : `|${bufferId(b)}`;
  const hit = c.bindGroups.get(key);
  if (hit) return hit;
  const group = ctx.device.createBindGroup({
    label: `${label}:bg`,
    layout: p.layout,
    entries: bindings.map((b, binding) => ({ binding, resource: 'offset' in b ? b : { buffer: b } })),
  });
  c.bindGroups.set(key, group);
  c.stats.bindGroupsCreated++;
  return group;
}

/**
 * Records one dispatch of `spec` into `enc` with `bindings` (same order as spec.bindings). Consecutive dispatches on
 * the same encoder share one compute pass (WebGPU orders storage writes between dispatches of a pass).
 * @param workgroups [x, y, z] workgroup counts; each must be ≤ maxComputeWorkgroupsPerDimension.
 * @throws Error naming the kernel and the limit when a workgroup count is too large, or the binding count is wrong.
 */
export function dispatch(ctx: GpuContext, enc: GPUCommandEncoder, spec: KernelSpec, bindings: readonly Binding[], workgroups: readonly [number, number?, number?]): void {
  if (bindings.length !== spec.bindings.length) throw new Error(`${spec.label}: ${bindings.length} bindings given, ${spec.bindings.length} expected`);
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  const [x, y = 1, z = 1] = workgroups;
  if (x > max || y > max || z > max) throw new Error(`${spec.label}: dispatch (${x}, ${y}, ${z}) exceeds maxComputeWorkgroupsPerDimension ${max}`);
  if (x === 0 || y === 0 || z === 0) return;
  const c = cachesOf(ctx.device);
  const p = getPipeline(ctx, spec);
  const group = bindGroupFor(ctx, c, p, spec.label, bindings);
  const pass = computePass(ctx, enc, spec.label, c.stats);
  pass.setPipeline(p.pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(x, y, z);
  c.stats.dispatches++;
}

/** The dispatch counters of `ctx`'s device (live object). */
export function dispatchStats(ctx: GpuContext): DispatchStats {
  return cachesOf(ctx.device).stats;
}

/** Resets the dispatch counters of `ctx`'s device to zero. */
export function resetDispatchStats(ctx: GpuContext): void {
  const s = cachesOf(ctx.device).stats;
  s.dispatches = s.pipelinesCreated = s.bindGroupsCreated = s.passesBegun = 0;
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
