/**
 * CLI commands `similarity` and `merge` on disk: a PEFT adapter folder written by buildAdapterFiles is merged into
 * the llama-tiny Instruct model (sharded), and the written folder re-reads with the fixture's merged weights
 * (merge.safetensors, case 4); the σ CSV matches sigma.json (case 3).
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Papa from 'papaparse';
import { afterAll, describe, expect, it } from 'vitest';
import { mergeCommand } from '../../src/cli/merge';
import { similarityCommand } from '../../src/cli/similarity';
import { buildAdapterFiles } from '../../src/engine/graft/adapterFiles';
import { openCheckpoint } from '../../src/io/checkpoint';
import { decodeToF32 } from '../../src/io/dtype';
import { readTensorBytes } from '../../src/io/safetensors';
import { modelFilesFromDir } from '../../src/node/files';
import { expectMergeClose, FIX, fixtureAdapter, openSt, rawOf } from './adapter-fixture';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('shadowft CLI (similarity, merge)', () => {
  it('merge writes a sharded model folder equal to the fixture merge; refuses a non-empty OUT_DIR', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'shadowft-merge-'));
    dirs.push(tmp);
    const adapterDir = join(tmp, 'adapter');
    const outDir = join(tmp, 'out');
    const files = buildAdapterFiles(await fixtureAdapter('llama-tiny'), { baseModelNameOrPath: 'llama-tiny-instruct' });
    await mkdir(adapterDir);
    await writeFile(join(adapterDir, 'adapter_config.json'), files['adapter_config.json']);
    await writeFile(join(adapterDir, 'adapter_model.safetensors'), new Uint8Array(await files['adapter_model.safetensors'].arrayBuffer()));
    const instructDir = join(FIX, 'llama-tiny', 'model-instruct');
    expect(await mergeCommand.run([instructDir, adapterDir, outDir, '--max-shard-size', '150kB'])).toBe(0);
    const names = (await readdir(outDir)).sort();
    expect(names).toEqual(['config.json', 'model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'model.safetensors.index.json']);
    const ck = await openCheckpoint(await modelFilesFromDir(outDir));
    const gold = await openSt(join(FIX, 'llama-tiny', 'merge.safetensors'));
    const inst = await openSt(join(instructDir, 'model.safetensors'));
    for (const [name, loc] of ck.tensors) {
      const got = await readTensorBytes(loc.file, loc.info);
      if (gold.header.tensors.has(name)) expectMergeClose(decodeToF32(got, 'F32'), decodeToF32(await rawOf(gold, name), 'F32'), name);
      else expect(got, name).toEqual(await rawOf(inst, name));
    }
    await expect(mergeCommand.run([instructDir, adapterDir, outDir])).rejects.toThrow(/is not empty.*--force/);
    expect(await mergeCommand.run([instructDir, adapterDir, outDir, '--force', '--max-shard-size', '150kB'])).toBe(0);
    expect((await readdir(outDir)).length).toBe(5);
    await expect(mergeCommand.run([instructDir, adapterDir, outDir, '--force'])).rejects.toThrow(/would not overwrite \(model-00001-of-00003\.safetensors, .*model\.safetensors\.index\.json\)/);
  });

  it('similarity writes a CSV matching sigma.json', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'shadowft-sigma-'));
    dirs.push(tmp);
    const csvPath = join(tmp, 'sigma.csv');
    expect(await similarityCommand.run([join(FIX, 'qwen3-tiny'), join(FIX, 'qwen3-tiny', 'model-instruct'), '--csv', csvPath])).toBe(0);
    const gold = JSON.parse(await readFile(join(FIX, 'qwen3-tiny', 'sigma.json'), 'utf8')) as { per_tensor: Record<string, { sigma: number }> };
    const rows = Papa.parse<Record<string, string>>((await readFile(csvPath, 'utf8')).trimEnd(), { header: true }).data;
    expect(rows.length).toBe(Object.keys(gold.per_tensor).length);
    for (const r of rows) {
      const want = gold.per_tensor[r.tensor as string]?.sigma as number;
      expect(Math.abs(Number(r.sigma) - want), r.tensor).toBeLessThanOrEqual(1e-9 * want);
    }
    await expect(similarityCommand.run([join(FIX, 'qwen3-tiny')])).rejects.toThrow(/expected BASE_DIR INSTRUCT_DIR/);
  });
});
