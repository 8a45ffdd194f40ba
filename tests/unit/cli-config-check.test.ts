/**
 * The CLI paths that write models or recipes validate their model folders exactly as a drop does: a config.json that
 * contradicts the weights (hidden_size 96 on the 64-wide demo) is refused by merge, graft and handoff, naming the
 * tensor and both shapes, and nothing is written; handoff refuses data the studio would refuse (> 50% rows skipped).
 */
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { graftCommand } from '../../src/cli/graft';
import { handoffCommand } from '../../src/cli/handoff';
import { mergeCommand } from '../../src/cli/merge';

const M = '../shared/models';
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'shadowft-cli-check-'));
  dirs.push(d);
  return d;
}

/** A copy of a demo model folder whose config.json says hidden_size 96. */
async function badConfigCopy(model: string, dir: string): Promise<string> {
  const out = join(dir, `${model}-bad`);
  await cp(join(M, model), out, { recursive: true, dereference: true });
  const cfg = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(join(out, 'config.json'), JSON.stringify({ ...cfg, hidden_size: 96 }));
  return out;
}

const SHAPE_ERROR = /model\.embed_tokens\.weight has shape \[512, 64\], but config\.json implies \[512, 96\]/;

describe('CLI model-folder checks', () => {
  it('merge, graft and handoff refuse an Instruct (or Base) whose config.json contradicts its weights', async () => {
    const d = await tmp();
    const bad = await badConfigCopy('stories260K-instruct', d);
    const adapter = join(d, 'adapter');
    await mkdir(adapter);
    await writeFile(join(adapter, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj'] }));
    await expect(mergeCommand.run([bad, adapter, join(d, 'out-merge')])).rejects.toThrow(SHAPE_ERROR);
    const tuned = join(d, 'tuned');
    await cp(join(M, 'stories260K-base'), tuned, { recursive: true, dereference: true });
    await expect(graftCommand.run([join(M, 'stories260K-base'), tuned, bad, join(d, 'out-graft'), '--skip-derivation-check'])).rejects.toThrow(SHAPE_ERROR);
    const badBase = await badConfigCopy('stories260K-base', d);
    await expect(handoffCommand.run([badBase, join(M, 'stories260K-instruct'), '--train', '../shared/datasets/story-titles.train.alpaca.json', '--out', join(d, 'out-handoff')])).rejects.toThrow(SHAPE_ERROR);
    const written = await readdir(d);
    expect(written.filter((n) => n.startsWith('out-') || n.includes('partial'))).toEqual([]);
  });

  it('handoff refuses a training file with more than half of its rows skipped, as the studio does', async () => {
    const d = await tmp();
    const rows = [{ instruction: 'a', output: 'b' }, { instruction: 'c', output: 'd' }, { nothing: 1 }, { nothing: 2 }, { nothing: 3 }, { nothing: 4 }];
    const file = join(d, 'mostly-bad.train.json');
    await writeFile(file, JSON.stringify(rows));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await expect(handoffCommand.run([join(M, 'stories260K-base'), join(M, 'stories260K-instruct'), '--train', file, '--out', join(d, 'out')])).rejects.toThrow(/4 of 6 rows were skipped, more than 50%/);
    } finally {
      err.mockRestore();
    }
    expect((await readdir(d)).filter((n) => n.startsWith('out'))).toEqual([]);
  });
});
