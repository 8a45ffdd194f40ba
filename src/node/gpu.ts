/**
 * Node runtime for the engine: the `webgpu` npm package (Dawn) on a Vulkan driver.
 * The only engine file that touches Node; browser code never imports it.
 *
 * Driver choice (env VK_ICD_FILENAMES wins when set): Mesa lavapipe ≥ 25 if installed
 * (Debian 12's own lavapipe 22.x is rejected by Dawn), else Chromium's SwiftShader ICD.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createGpuContext, type GpuContext } from '../engine/gpu/context';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
/** Mesa ≥ 23 installs lvp_icd.json; older and multi-arch builds name it lvp_icd.<arch>.json. */
const LAVAPIPE_CANDIDATES = ['/usr/share/vulkan/icd.d/lvp_icd.json', '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'];

function lavapipeUsable(path: string): boolean {
  if (!existsSync(path)) return false;
  try {
    const api = JSON.parse(readFileSync(path, 'utf8')) as { ICD?: { api_version?: string } };
    // Debian 12's Mesa 22.3 lavapipe reports Vulkan 1.3.230 and is rejected by Dawn; backports (25.x) report ≥ 1.4.
    const v = (api.ICD?.api_version ?? '0.0.0').split('.').map(Number);
    return (v[0] ?? 0) > 1 || ((v[0] ?? 0) === 1 && (v[1] ?? 0) >= 4);
  } catch {
    return false;
  }
}

/** Picks a Vulkan ICD for Dawn when none is set. Returns the path used (or undefined: system default). */
export function chooseVulkanDriver(): string | undefined {
  if (process.env.VK_ICD_FILENAMES) return process.env.VK_ICD_FILENAMES;
  const lavapipe = LAVAPIPE_CANDIDATES.find(lavapipeUsable);
  const pick = lavapipe ?? (existsSync(SWIFTSHADER) ? SWIFTSHADER : undefined);
  if (pick) process.env.VK_ICD_FILENAMES = pick;
  return pick;
}

/**
 * Creates a GPU context in Node.
 * @throws WebGpuUnavailableError when Dawn finds no adapter (install chromium or mesa-vulkan-drivers).
 */
export async function createNodeGpuContext(): Promise<GpuContext> {
  return createGpuContext(await nodeGpuApi());
}

/** The process's one Dawn `GPU` entry point (created on first call, kept alive), e.g. for app/studio.ts createStudio. */
export async function nodeGpuApi(): Promise<GPU> {
  chooseVulkanDriver();
  if (!nodeGpu) {
    const { create, globals } = (await import('webgpu')) as { create: (o: string[]) => GPU; globals: object };
    Object.assign(globalThis, globals);
    nodeGpu = create([]);
  }
  return nodeGpu;
}

/**
 * The Dawn instance must outlive every adapter and device made from it: if the `GPU` object is
 * garbage-collected, Dawn tears down under live devices and the process aborts in SwiftShader.
 */
let nodeGpu: GPU | undefined;
