/**
 * "Check this GPU": the golden-fixture self-test run on the worker's own WebGPU device. Fetches the fixture folders
 * bundled with the app (public/fixtures/manifest.json; format of shared/fixtures, see its README), verifies each file's
 * size and sha256 against the manifest, and runs `checkFixtureOnGpu` (engine/check/fixtures.ts — the same code as
 * tests/gpu/fixtures.test.ts and `shadowft check-fixtures`) on each model in turn, streaming every row as progress.
 * Runs in the engine worker; no DOM.
 */
import type { CheckRow } from '../engine/check/compare';
import { checkFixtureOnGpu } from '../engine/check/fixtures';
import type { AdapterSummary, GpuContext } from '../engine/gpu/context';
import type { ModelFiles } from '../io/checkpoint';
import type { GpuCheckProgress } from './progress';

export type { GpuCheckProgress } from './progress';

/** One model of public/fixtures/manifest.json: its folder name, its files (relative paths), their sha256 and sizes. */
export interface FixtureManifestModel {
  readonly name: string;
  readonly files: readonly string[];
  /** Relative path → lowercase hex sha256. */
  readonly sha256: Readonly<Record<string, string>>;
  /** Relative path → size in bytes. */
  readonly bytes: Readonly<Record<string, number>>;
}

/** public/fixtures/manifest.json (only the fields the check reads). */
export interface FixtureManifest {
  readonly models: readonly FixtureManifestModel[];
}

/** Thrown for a malformed manifest or a fixture file that cannot be fetched or does not match the manifest. */
export class GpuCheckError extends Error {
  override name = 'GpuCheckError';
}

/** A fetch: URL → Response (the global fetch in the worker; a disk reader in Node tests). */
export type FetchLike = (url: string) => Promise<Response>;


/** The outcome for one model: every row it produced, or the error that stopped it. */
export interface ModelCheckResult {
  readonly name: string;
  readonly rows: readonly CheckRow[];
  readonly error: string | null;
  /** Wall time of fetch + check, seconds. */
  readonly seconds: number;
}

/** The whole check: adapter, per-model results and the totals (rows passed/failed, models that errored). */
export interface GpuCheckResult {
  readonly adapter: AdapterSummary;
  readonly models: readonly ModelCheckResult[];
  readonly passed: number;
  readonly failed: number;
  /** Models that could not be checked. */
  readonly errors: number;
  readonly seconds: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates a parsed manifest.json.
 * @param where the manifest's URL, used in errors.
 * @throws GpuCheckError naming the model and field when a field is missing or has the wrong type, or a listed file
 *   has no sha256/bytes entry.
 */
export function parseFixtureManifest(v: unknown, where: string): FixtureManifest {
  if (!isRecord(v) || !Array.isArray(v['models']) || v['models'].length === 0) throw new GpuCheckError(`${where}: expected {"models": [...]} with at least one model`);
  const models = v['models'].map((m: unknown, i): FixtureManifestModel => {
    if (!isRecord(m) || typeof m['name'] !== 'string' || !/^[\w.-]+$/.test(m['name'])) throw new GpuCheckError(`${where}: models[${i}].name must be a folder name`);
    const name = m['name'];
    const files = m['files'];
    const sha256 = m['sha256'];
    const bytes = m['bytes'];
    if (!Array.isArray(files) || !files.every((f) => typeof f === 'string' && !f.startsWith('/') && !f.split('/').includes('..'))) {
      throw new GpuCheckError(`${where}: models[${i}] (${name}).files must be a list of relative paths`);
    }
    if (!isRecord(sha256) || !isRecord(bytes)) throw new GpuCheckError(`${where}: models[${i}] (${name}) needs "sha256" and "bytes" objects`);
    for (const f of files as string[]) {
      const h = sha256[f];
      const n = bytes[f];
      if (typeof h !== 'string' || !/^[0-9a-f]{64}$/.test(h)) throw new GpuCheckError(`${where}: ${name}/${f} has no 64-hex-digit sha256`);
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new GpuCheckError(`${where}: ${name}/${f} has no byte size`);
    }
    return { name, files: files as string[], sha256: sha256 as Record<string, string>, bytes: bytes as Record<string, number> };
  });
  return { models };
}

function hex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Fetches one fixture model folder as ModelFiles (relative path → Blob, e.g. "model-instruct/model.safetensors").
 * @param root absolute URL of the fixtures folder, ending with "/".
 * @returns the files and how they were verified ("sha256", or "size" where crypto.subtle is unavailable: insecure context).
 * @throws GpuCheckError naming the file on an HTTP error, a size mismatch or a sha256 mismatch; the signal's reason when aborted.
 */
export async function fetchFixtureModel(root: string, model: FixtureManifestModel, fetchFn: FetchLike, signal?: AbortSignal): Promise<{ files: ModelFiles; bytes: number; verified: 'sha256' | 'size' }> {
  const subtle = globalThis.crypto?.subtle as SubtleCrypto | undefined;
  const entries = await Promise.all(
    model.files.map(async (path): Promise<[string, Blob]> => {
      const url = new URL(`${model.name}/${path}`, root).href;
      const res = await fetchFn(url);
      if (!res.ok) throw new GpuCheckError(`fixture ${model.name}/${path}: HTTP ${res.status} ${res.statusText} from ${url}`);
      const blob = await res.blob();
      signal?.throwIfAborted();
      const want = model.bytes[path];
      if (blob.size !== want) throw new GpuCheckError(`fixture ${model.name}/${path}: ${blob.size} bytes, the manifest says ${String(want)}`);
      if (subtle) {
        const got = hex(await subtle.digest('SHA-256', await blob.arrayBuffer()));
        if (got !== model.sha256[path]) throw new GpuCheckError(`fixture ${model.name}/${path}: sha256 ${got} ≠ manifest ${String(model.sha256[path])} (a stale or corrupted copy)`);
      }
      return [path, blob];
    }),
  );
  return { files: { name: model.name, files: new Map(entries) }, bytes: entries.reduce((s, [, b]) => s + b.size, 0), verified: subtle ? 'sha256' : 'size' };
}

const isAbort = (e: unknown): boolean => typeof e === 'object' && e !== null && 'name' in e && e.name === 'AbortError';

/**
 * Runs the fixture check of every model in `root`/manifest.json on `ctx`, one after another.
 * A model that fails to fetch or to run is reported ('check-model-error') and the next one is checked.
 * Cancellation is checked after every row; rows "logits" and "loss" are let through because checkFixtureOnGpu frees
 * its GPU buffers only in the try/finally that starts after them (so an abort never leaves buffers allocated).
 * @param root absolute URL of the fixtures folder, ending with "/" (the app's `${BASE_URL}fixtures/`).
 * @throws GpuCheckError for a missing/malformed manifest; the signal's reason (AbortError) when cancelled.
 */
export async function runGpuCheck(ctx: GpuContext, root: string, onProgress: (p: GpuCheckProgress) => void, signal?: AbortSignal, fetchFn: FetchLike = (u) => fetch(u, signal ? { signal } : {})): Promise<GpuCheckResult> {
  const t0 = performance.now();
  const manifestUrl = new URL('manifest.json', root).href;
  const res = await fetchFn(manifestUrl);
  if (!res.ok) throw new GpuCheckError(`fixture manifest ${manifestUrl}: HTTP ${res.status} ${res.statusText}`);
  let json: unknown;
  try {
    json = await res.json();
  } catch (e) {
    throw new GpuCheckError(`fixture manifest ${manifestUrl} is not JSON: ${(e as Error).message}`);
  }
  const manifest = parseFixtureManifest(json, manifestUrl);
  onProgress({ status: 'check-start', adapter: ctx.adapter, models: manifest.models.map((m) => m.name) });
  const models: ModelCheckResult[] = [];
  for (const m of manifest.models) {
    signal?.throwIfAborted();
    const start = performance.now();
    const seconds = (): number => (performance.now() - start) / 1000;
    const rows: CheckRow[] = [];
    try {
      const fetched = await fetchFixtureModel(root, m, fetchFn, signal);
      onProgress({ status: 'check-fetched', model: m.name, files: fetched.files.files.size, bytes: fetched.bytes, verified: fetched.verified });
      await checkFixtureOnGpu(ctx, fetched.files, (row) => {
        rows.push(row);
        onProgress({ status: 'check-row', model: m.name, row });
        if (row.quantity !== 'logits' && row.quantity !== 'loss') signal?.throwIfAborted();
      });
      const failed = rows.filter((r) => !r.pass).length;
      onProgress({ status: 'check-model-done', model: m.name, passed: rows.length - failed, failed, seconds: seconds() });
      models.push({ name: m.name, rows, error: null, seconds: seconds() });
    } catch (e) {
      if (signal?.aborted || isAbort(e)) throw signal?.reason ?? e;
      const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      onProgress({ status: 'check-model-error', model: m.name, message, seconds: seconds() });
      models.push({ name: m.name, rows, error: message, seconds: seconds() });
    }
  }
  const all = models.flatMap((m) => m.rows);
  const failed = all.filter((r) => !r.pass).length;
  return { adapter: ctx.adapter, models, passed: all.length - failed, failed, errors: models.filter((m) => m.error !== null).length, seconds: (performance.now() - t0) / 1000 };
}
