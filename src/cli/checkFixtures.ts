/**
 * `npx shadowft check-fixtures DIR`: runs the engine's kernels (Node, `webgpu` package) on golden fixture folders in the
 * format of shared/fixtures and prints, per quantity, the max abs and rel error and PASS/FAIL, and a SKIP line naming each
 * case a folder holds that the engine does not run yet. Exit code 1 on any failure.
 * DIR is a fixtures root (one subfolder per model) or a single model's folder (has config.json).
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { checkFixtureOnGpu, skippedFixtureCases } from '../engine/check/fixtures';
import type { CheckRow } from '../engine/check/compare';
import { createNodeGpuContext } from '../node/gpu';
import { modelFilesFromDir } from '../node/files';
import type { Command } from './main';

/** Fixture folders under DIR (DIR itself when it holds config.json). */
export async function fixtureFolders(dir: string): Promise<string[]> {
  if (!existsSync(dir)) throw new Error(`${dir} does not exist`);
  if (existsSync(join(dir, 'config.json'))) return [dir];
  const subs = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'config.json')));
  if (subs.length === 0) throw new Error(`${dir} has no config.json and no subfolder with one: not a fixtures folder`);
  return subs.map((e) => join(dir, e.name)).sort();
}

function fmt(r: CheckRow): string {
  return `${r.pass ? 'PASS' : 'FAIL'}  ${r.quantity.padEnd(72)} max_abs ${r.maxAbs.toExponential(3)}  max_rel ${r.maxRel.toExponential(3)}  (${r.tolerance})`;
}

export const checkFixturesCommand: Command = {
  usage: 'check-fixtures DIR     check the WebGPU engine against golden fixtures (shared/fixtures format)',
  async run(args) {
    const dir = args[0];
    if (!dir) throw new Error('missing DIR');
    const folders = await fixtureFolders(dir);
    const ctx = await createNodeGpuContext();
    process.stdout.write(`adapter: ${ctx.adapter.vendor} ${ctx.adapter.architecture} ${ctx.adapter.description}${ctx.adapter.isFallbackAdapter ? ' (fallback)' : ''}\n`);
    let failed = 0;
    let total = 0;
    let skipped = 0;
    for (const folder of folders) {
      const files = await modelFilesFromDir(folder);
      process.stdout.write(`\n== ${files.name}\n`);
      const rows = await checkFixtureOnGpu(ctx, files, (r) => process.stdout.write(`${fmt(r)}\n`));
      total += rows.length;
      failed += rows.filter((r) => !r.pass).length;
      for (const c of skippedFixtureCases(files)) {
        process.stdout.write(`SKIP  ${c.name}: ${c.file} — ${c.reason}\n`);
        skipped++;
      }
    }
    process.stdout.write(`\n${total - failed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
    ctx.device.destroy();
    return failed ? 1 : 0;
  },
};
