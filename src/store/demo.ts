/**
 * The bundled demo (public/demo/manifest.json): the stories260K Base/Instruct pair and the story-titles dataset,
 * fetched from the app's own origin and turned into File objects with drop-style paths
 * ("stories260K-base/config.json", "datasets/story-titles.train.alpaca.json").
 */
import type { DroppedFile } from '../worker/client';

/** public/demo/manifest.json. */
interface DemoManifest {
  readonly base: { readonly name: string; readonly files: readonly string[] };
  readonly instruct: { readonly name: string; readonly files: readonly string[] };
  readonly dataset: { readonly train: string; readonly heldout?: string };
}

function isManifest(v: unknown): v is DemoManifest {
  const m = v as Partial<DemoManifest> | null;
  const model = (x: unknown): boolean => typeof x === 'object' && x !== null && typeof (x as { name?: unknown }).name === 'string' && Array.isArray((x as { files?: unknown }).files);
  return typeof m === 'object' && m !== null && model(m.base) && model(m.instruct) && typeof m.dataset?.train === 'string';
}

async function fetchFile(root: string, path: string): Promise<DroppedFile> {
  const res = await fetch(`${root}${path}`);
  if (!res.ok) throw new Error(`demo file ${path}: HTTP ${res.status} ${res.statusText}`);
  const blob = await res.blob();
  // The server's file time (not "now"), so a demo loaded again has the same identity (io/identity.ts) and its caches.
  const lastModified = Date.parse(res.headers.get('last-modified') ?? '') || 0;
  return { path, file: new File([blob], path.split('/').pop() ?? path, { lastModified }) };
}

/**
 * Fetches every demo file listed in the manifest.
 * @param root URL of the demo folder, ending with "/" (default: `${import.meta.env.BASE_URL}demo/`).
 * @throws Error naming the file when a fetch fails or the manifest is malformed.
 */
export async function fetchDemoFiles(root = `${import.meta.env.BASE_URL}demo/`): Promise<DroppedFile[]> {
  const res = await fetch(`${root}manifest.json`);
  if (!res.ok) throw new Error(`demo manifest ${root}manifest.json: HTTP ${res.status}`);
  const manifest: unknown = await res.json();
  if (!isManifest(manifest)) throw new Error(`demo manifest ${root}manifest.json: expected {base, instruct: {name, files}, dataset: {train}}`);
  const paths = [
    ...manifest.base.files.map((f) => `${manifest.base.name}/${f}`),
    ...manifest.instruct.files.map((f) => `${manifest.instruct.name}/${f}`),
    manifest.dataset.train,
    ...(manifest.dataset.heldout ? [manifest.dataset.heldout] : []),
  ];
  return Promise.all(paths.map((p) => fetchFile(root, p)));
}

/** Training file of the bundled demo's task (public/demo/manifest.json dataset.train). */
const DEMO_TRAIN_FILE = 'datasets/story-titles.train.alpaca.json';

/**
 * The check of the demo's task when the bundled demo is loaded: its answers start with a `Title: …` line
 * (shared/models/REFERENCE_RESULTS.md "Format"); null for any other data.
 */
export function demoCheckRegex(session: { readonly datasets: readonly { readonly path: string }[] } | null): string | null {
  return session?.datasets.some((d) => d.path === DEMO_TRAIN_FILE) ? '^Title: ' : null;
}
