/**
 * The worker's exports (src/app/exports.ts) in Node: "Save to folder…" streams the same bytes as the zips hold,
 * into <instruct>-shadowft-lora/ and <instruct>-shadowft-merged/, through a fake FileSystemDirectoryHandle that
 * records every write; untargeted tensors are copied byte for byte and the adapter zip round-trips.
 */
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import type { LoraAdapter, LoraModuleWeights } from '../../src/engine/model/loraTypes';
import { modelFilesFromDir } from '../../src/node/files';
import { exportAdapterZip, exportMergedZip, saveExportsToFolder, type ExportProgress, type TrainedAdapter } from '../../src/app/exports';

/** A directory handle that keeps written files in memory (the subset of the API exports.ts uses). */
class FakeDir {
  readonly dirs = new Map<string, FakeDir>();
  readonly files = new Map<string, Uint8Array>();
  constructor(readonly name: string) {}
  async getDirectoryHandle(name: string): Promise<FakeDir> {
    const d = this.dirs.get(name) ?? new FakeDir(name);
    this.dirs.set(name, d);
    return d;
  }
  async getFileHandle(name: string) {
    const chunks: Uint8Array[] = [];
    return {
      createWritable: async () => ({
        write: async (c: Uint8Array) => void chunks.push(new Uint8Array(c)),
        close: async () => void this.files.set(name, Buffer.concat(chunks)),
        abort: async () => undefined,
      }),
    };
  }
}

function adapter(): LoraAdapter {
  let seed = 1;
  const rand = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.2;
  const modules = new Map<string, LoraModuleWeights>();
  for (let l = 0; l < 5; l++) {
    modules.set(`model.layers.${l}.self_attn.q_proj`, { a: Float32Array.from({ length: 2 * 64 }, rand), b: Float32Array.from({ length: 64 * 2 }, rand), inFeatures: 64, outFeatures: 64 });
  }
  return { settings: { r: 2, alpha: 4, dropout: 0, useRslora: false, targetModules: ['q_proj'] }, modules };
}

const unzipByName = async (blob: Blob): Promise<Map<string, Uint8Array>> => new Map(Object.entries(unzipSync(new Uint8Array(await blob.arrayBuffer()))));

describe('worker exports', () => {
  it('saves to a folder exactly what the zips contain', async () => {
    const instruct = await modelFilesFromDir('public/demo/stories260K-instruct');
    const t: TrainedAdapter = { adapter: adapter(), baseModel: 'stories260K-base', instructModel: 'stories260K-instruct' };
    const root = new FakeDir('out');
    const progress: ExportProgress[] = [];
    const written = await saveExportsToFolder(t, instruct, root as unknown as FileSystemDirectoryHandle, (p) => progress.push(p), new AbortController().signal);
    expect(written).toEqual(['stories260K-instruct-shadowft-lora', 'stories260K-instruct-shadowft-merged']);
    const loraDir = root.dirs.get('stories260K-instruct-shadowft-lora') as FakeDir;
    const mergedDir = root.dirs.get('stories260K-instruct-shadowft-merged') as FakeDir;
    expect([...loraDir.files.keys()].sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors']);
    expect([...mergedDir.files.keys()]).toContain('model.safetensors');
    expect([...mergedDir.files.keys()]).toContain('config.json');
    expect(progress.at(-1)?.bytesDone).toBe(progress.at(-1)?.bytesTotal);

    const az = await exportAdapterZip(t);
    expect(az.fileName).toBe('stories260K-instruct-shadowft-lora.zip');
    const adapterZip = await unzipByName(az.blob);
    for (const [name, bytes] of loraDir.files) expect(Buffer.compare(Buffer.from(adapterZip.get(`stories260K-instruct-shadowft-lora/${name}`) ?? []), Buffer.from(bytes)), name).toBe(0);

    const mz = await exportMergedZip(t, instruct, () => undefined, new AbortController().signal);
    const mergedZip = await unzipByName(mz.blob);
    expect(mergedZip.size).toBe(mergedDir.files.size);
    for (const [name, bytes] of mergedDir.files) expect(Buffer.compare(Buffer.from(mergedZip.get(`stories260K-instruct-shadowft-merged/${name}`) ?? []), Buffer.from(bytes)), name).toBe(0);

    // The merged model differs from the Instruct file only inside the q_proj tensors.
    const orig = new Uint8Array(await (instruct.files.get('model.safetensors') as Blob).arrayBuffer());
    const merged = mergedDir.files.get('model.safetensors') as Uint8Array;
    expect(merged.byteLength).toBe(orig.byteLength);
    const n = Number(new DataView(orig.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(orig.subarray(8, 8 + n))) as Record<string, { data_offsets: [number, number] }>;
    let changedQ = 0;
    for (const [name, h] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const [b, e] = h.data_offsets;
      const same = Buffer.compare(Buffer.from(orig.subarray(8 + n + b, 8 + n + e)), Buffer.from(merged.subarray(8 + n + b, 8 + n + e))) === 0;
      if (name.endsWith('q_proj.weight')) changedQ += same ? 0 : 1;
      else expect(same, `${name} copied byte for byte`).toBe(true);
    }
    expect(changedQ).toBe(5);
  });

  it('stops when aborted', async () => {
    const instruct = await modelFilesFromDir('public/demo/stories260K-instruct');
    const c = new AbortController();
    c.abort(new DOMException('Cancelled by the user', 'AbortError'));
    const t: TrainedAdapter = { adapter: adapter(), baseModel: 'b', instructModel: 'i' };
    await expect(saveExportsToFolder(t, instruct, new FakeDir('x') as unknown as FileSystemDirectoryHandle, () => undefined, c.signal)).rejects.toThrow(/Cancelled/);
  });
});
