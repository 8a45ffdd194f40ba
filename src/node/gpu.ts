/**
 * Node runtime for the engine: the `webgpu` npm package (Dawn) on a Vulkan driver.
 * The only engine file that touches Node; browser code never imports it.
 *
 * Driver choice (env VK_ICD_FILENAMES wins when set): Mesa lavapipe ≥ 25 if installed
 * (Debian 12's own lavapipe 22.x is rejected by Dawn), else Chromium's SwiftShader ICD.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
 * Gives a headless process a valid XDG_RUNTIME_DIR. Some Vulkan drivers probe for a Wayland display when Dawn
 * creates its instance; libwayland-client's `wl_display_connect` then prints "error: XDG_RUNTIME_DIR is invalid or
 * not set in the environment." to stderr (once per probe) when the variable is unset or not an absolute path, though
 * nothing is wrong: no display is needed for compute. With a private, empty directory (mode 0700, as the XDG Base
 * Directory spec requires) the probe finds no socket and says nothing. A WAYLAND_DISPLAY that is an absolute path
 * needs no runtime dir, and a valid XDG_RUNTIME_DIR is kept.
 * @param env the environment to fix (default process.env; native code reads the same variables).
 * @returns the directory set, or null when nothing was changed.
 */
export function ensureRuntimeDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const cur = env.XDG_RUNTIME_DIR;
  if (cur?.startsWith('/') && existsSync(cur)) return null;
  if (env.WAYLAND_DISPLAY?.startsWith('/')) return null;
  const dir = join(tmpdir(), `shadowft-runtime-${process.getuid?.() ?? 'user'}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!statSync(dir).isDirectory()) return null;
  } catch {
    return null; // an unwritable tmpdir only costs the harmless message
  }
  env.XDG_RUNTIME_DIR = dir;
  return dir;
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
  ensureRuntimeDir();
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
