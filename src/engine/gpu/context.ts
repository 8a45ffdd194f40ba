/**
 * The GPU context: one GPUDevice with the adapter's limits, read once.
 *
 * Every engine function takes a {@link GpuContext}; the runtime (browser Worker or Node with the
 * `webgpu` package) only supplies the `GPU` object (navigator.gpu or `create([])`).
 * Source of the pattern: webgpu-utils / tfjs-backend-webgpu (request the adapter's limits, never assume).
 */

/** Device limits the engine depends on, copied from the adapter once (bytes or counts). */
export interface DeviceLimits {
  /** Largest single GPUBuffer, bytes. */
  readonly maxBufferSize: number;
  /** Largest range of a buffer bound as storage, bytes. */
  readonly maxStorageBufferBindingSize: number;
  /** Storage buffers one compute stage may bind. */
  readonly maxStorageBuffersPerShaderStage: number;
  /** Workgroup (shared) memory, bytes. */
  readonly maxComputeWorkgroupStorageSize: number;
  /** Threads per workgroup. */
  readonly maxComputeInvocationsPerWorkgroup: number;
  /** Workgroups per dispatch dimension. */
  readonly maxComputeWorkgroupsPerDimension: number;
  /** Alignment of a storage binding's offset, bytes. */
  readonly minStorageBufferOffsetAlignment: number;
}

/** Adapter description shown to users and in errors. */
export interface AdapterSummary {
  readonly vendor: string;
  readonly architecture: string;
  readonly description: string;
  readonly isFallbackAdapter: boolean;
  readonly features: readonly string[];
}

/** A device plus what the engine needs to know about it. */
export interface GpuContext {
  readonly device: GPUDevice;
  readonly limits: DeviceLimits;
  readonly adapter: AdapterSummary;
  /** Resolves when the device is lost (message names the reason). */
  readonly lost: Promise<string>;
  /** Buffers to destroy once the work submitted so far has finished (uniforms, scratch). */
  readonly transient: GPUBuffer[];
}

/** Thrown when no WebGPU adapter or device can be had; message says what to enable. */
export class WebGpuUnavailableError extends Error {
  override name = 'WebGpuUnavailableError';
}

const LIMIT_KEYS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupsPerDimension',
  'minStorageBufferOffsetAlignment',
] as const;

/**
 * Requests an adapter and a device that has the adapter's own limits for the keys above.
 * @param gpu `navigator.gpu` in a browser/worker, or `create([])` from the `webgpu` package in Node.
 * @throws WebGpuUnavailableError when requestAdapter() returns null or requestDevice() fails.
 */
export async function createGpuContext(gpu: GPU | undefined, powerPreference: GPUPowerPreference = 'high-performance'): Promise<GpuContext> {
  if (!gpu) throw new WebGpuUnavailableError('WebGPU is not available in this browser (navigator.gpu is undefined). Use a recent Chrome/Edge, or start Chromium with --enable-unsafe-webgpu.');
  const adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter) throw new WebGpuUnavailableError('requestAdapter() returned null: no WebGPU adapter. On Linux Chromium needs --enable-unsafe-webgpu and a Vulkan driver.');
  const requiredLimits: Record<string, number> = {};
  for (const k of LIMIT_KEYS) if (!k.startsWith('min')) requiredLimits[k] = adapter.limits[k];
  let device: GPUDevice;
  try {
    // timestamp-query (when offered) lets the profiler time kernels; it costs nothing unless queries are written.
    const requiredFeatures: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
    device = await adapter.requestDevice({ label: 'shadowft', requiredLimits, requiredFeatures });
  } catch (e) {
    throw new WebGpuUnavailableError(`requestDevice() failed with the adapter's own limits: ${(e as Error).message}`);
  }
  const limits = Object.fromEntries(LIMIT_KEYS.map((k) => [k, device.limits[k]])) as unknown as DeviceLimits;
  const info = adapter.info;
  const lost = device.lost.then((l) => `WebGPU device lost (${l.reason}): ${l.message}`);
  return {
    device,
    limits,
    adapter: {
      vendor: info.vendor,
      architecture: info.architecture,
      description: info.description,
      isFallbackAdapter: (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
      features: [...adapter.features].sort(),
    },
    lost,
    transient: [],
  };
}

/**
 * Runs `fn` (encoding and/or submitting GPU work) inside validation and out-of-memory error scopes and throws what the
 * device reported, prefixed with `label` (the labelled kernel, pass or buffer is named in the device's message).
 * @throws GpuCommandError with the first validation, then out-of-memory, error; whatever `fn` throws otherwise.
 */
export async function withErrorScopes<T>(ctx: GpuContext, label: string | null, fn: () => T): Promise<T> {
  ctx.device.pushErrorScope('out-of-memory');
  ctx.device.pushErrorScope('validation');
  let result: T;
  try {
    result = fn();
  } finally {
    const validation = await ctx.device.popErrorScope();
    const oom = await ctx.device.popErrorScope();
    const at = label ? `${label}: ` : '';
    if (validation) throw new GpuCommandError('validation', `${at}${validation.message}`);
    if (oom) throw new GpuCommandError('out-of-memory', `${at}${oom.message}`);
  }
  return result;
}

/**
 * Submits the command buffers, waits for the queue, then destroys the transient buffers. Validation and
 * out-of-memory errors raised by the submit are caught in error scopes and thrown with the message (which names the
 * labelled kernel, pass or buffer).
 * @throws GpuCommandError with the first validation or out-of-memory error the device reports.
 */
export async function submitAndWait(ctx: GpuContext, commands: GPUCommandBuffer[]): Promise<void> {
  try {
    await withErrorScopes(ctx, null, () => ctx.device.queue.submit(commands));
  } finally {
    await ctx.device.queue.onSubmittedWorkDone();
    for (const b of ctx.transient.splice(0)) b.destroy();
  }
}

/** A WebGPU validation or out-of-memory error caught in an error scope; the message names the labelled object. */
export class GpuCommandError extends Error {
  override name = 'GpuCommandError';
  constructor(readonly kind: 'validation' | 'out-of-memory', message: string) {
    super(`WebGPU ${kind} error: ${message}`);
  }
}
