import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { datasetSplitOf, parseDataset, readDatasetFile } from '../../src/io/dataset/parse';
import { DatasetError } from '../../src/io/dataset/errors';
import type { Conversation } from '../../src/io/dataset/types';

const DIR = '/work/shared/datasets';
const read = (f: string): string => readFileSync(`${DIR}/${f}`, 'utf8');
/** Parses a shared file, which must have no skipped rows. */
const parseFile = (f: string): Conversation[] => {
  const p = parseDataset(read(f), f);
  expect(p.skipped).toEqual([]);
  return p.conversations;
};
/** The conversations of inline text (no skipped rows expected). */
const conversationsOf = (text: string, name: string): Conversation[] => {
  const p = parseDataset(text, name);
  expect(p.skipped).toEqual([]);
  return p.conversations;
};
const messagesOf = (cs: Conversation[]) => cs.map((c) => c.messages);

describe('shared/datasets', () => {
  it.each([
    ['story-titles.train', 300],
    ['story-titles.heldout', 60],
  ])('the four formats of %s give the same %i conversations', (split, n) => {
    const alpaca = parseFile(`${split}.alpaca.json`);
    const sharegpt = parseFile(`${split}.sharegpt.jsonl`);
    const messages = parseFile(`${split}.messages.jsonl`);
    const csv = parseFile(`${split}.csv`);
    expect(alpaca).toHaveLength(n);
    expect(messagesOf(sharegpt)).toEqual(messagesOf(alpaca));
    expect(messagesOf(messages)).toEqual(messagesOf(alpaca));
    expect(messagesOf(csv)).toEqual(messagesOf(alpaca));
    for (const c of alpaca) {
      expect(c.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
      expect(c.messages[1]?.content).toMatch(/^Title: [^\n]{1,60}\n\S/);
    }
  });

  it('matches the README example (train row 2) and labels sources with 1-based rows/lines/items', () => {
    const csv = parseFile('story-titles.train.csv');
    expect(csv[1]?.source).toBe('story-titles.train.csv row 2');
    expect(csv[1]?.messages[0]).toEqual({ role: 'user', content: 'Give me a story with a title about Joe the duck.' });
    expect(csv[1]?.messages[1]?.content.startsWith('Title: Joe and the Forest\nOnce upon a time, there was a duck named Joe.')).toBe(true);
    expect(parseFile('story-titles.train.sharegpt.jsonl')[1]?.source).toBe('story-titles.train.sharegpt.jsonl line 2');
    expect(parseFile('story-titles.train.alpaca.json')[1]?.source).toBe('story-titles.train.alpaca.json item 2');
  });

  it.each([
    ['instruct-sft.messages.jsonl', 1200],
    ['instruct-sft.heldout.messages.jsonl', 100],
  ])('%s: %i conversations equal to the raw JSON lines (some with a system message)', (f, n) => {
    const got = parseFile(f);
    const raw = read(f).trim().split('\n').map((l) => (JSON.parse(l) as { messages: unknown }).messages);
    expect(got).toHaveLength(n);
    expect(messagesOf(got)).toEqual(raw);
    const withSystem = got.filter((c) => c.messages[0]?.role === 'system').length;
    expect(withSystem).toBeGreaterThan(0.1 * n);
    expect(withSystem).toBeLessThan(0.25 * n);
  });

  it('reads Blobs', async () => {
    const got = await readDatasetFile(new Blob([read('story-titles.heldout.csv')]), 'story-titles.heldout.csv');
    expect(got.conversations).toHaveLength(60);
    expect(got.schema).toBe('csv');
  });
});

describe('split from file names', () => {
  it.each([
    ['story-titles.heldout.csv', 'heldout'], ['data-held-out.jsonl', 'heldout'], ['valid.json', 'heldout'], ['val.jsonl', 'heldout'],
    ['my_test_set.csv', 'heldout'], ['eval.jsonl', 'heldout'], ['validation.json', 'heldout'], ['dir/train.jsonl', 'train'],
    ['story-titles.train.csv', 'train'], ['interval-data.json', 'train'], ['contest.csv', 'train'], ['evaluate_me.json', 'train'],
  ])('%s → %s', (name, split) => {
    expect(datasetSplitOf(name)).toBe(split);
  });
});

describe('record layouts', () => {
  it('alpaca: input joined to the instruction with "\\n" (LLaMA-Factory), system and history', () => {
    const [c] = conversationsOf(JSON.stringify([{ instruction: 'Summarise', input: 'a text', output: 'ok', system: 'Be brief.', history: [['hi', 'hello']] }]), 'a.json');
    expect(c?.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
      { role: 'user', content: 'Summarise\na text' },
      { role: 'assistant', content: 'ok' },
    ]);
  });

  it('ShareGPT with a top-level system, user/assistant "from" values, and a system turn', () => {
    const line1 = { system: 'S', conversations: [{ from: 'user', value: 'q' }, { from: 'assistant', value: 'a' }] };
    const line2 = { conversations: [{ from: 'system', value: 'S2' }, { from: 'human', value: 'q' }, { from: 'gpt', value: 'a' }, { from: 'human', value: 'q2' }, { from: 'gpt', value: 'a2' }] };
    const got = conversationsOf(`${JSON.stringify(line1)}\n\n${JSON.stringify(line2)}\n`, 's.jsonl');
    expect(got.map((c) => c.source)).toEqual(['s.jsonl line 1', 's.jsonl line 3']);
    expect(got[0]?.messages).toEqual([{ role: 'system', content: 'S' }, { role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }]);
    expect(got[1]?.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant']);
  });

  it('OpenAI messages with text content parts; a ShareGPT JSON array; a .json file written as JSON Lines; BOM', () => {
    const rec = { messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }, { role: 'assistant', content: 'c' }] };
    expect(conversationsOf(`\uFEFF${JSON.stringify(rec)}`, 'm.jsonl')[0]?.messages[0]).toEqual({ role: 'user', content: 'ab' });
    const sg = [{ conversations: [{ from: 'human', value: 'q' }, { from: 'gpt', value: 'a' }] }];
    expect(conversationsOf(JSON.stringify(sg), 'sg.json')[0]?.messages).toHaveLength(2);
    expect(conversationsOf(`${JSON.stringify(rec)}\n${JSON.stringify(rec)}\n`, 'lines.json').map((c) => c.source)).toEqual(['lines.json line 1', 'lines.json line 2']);
  });

  it('CSV: quoted commas, doubled quotes, quoted newlines, CRLF, optional input/system columns, header case', () => {
    const csv = 'Instruction,input,Output,system,extra\r\n"Say ""hi"", twice",,"hi,\r\nhi",,x\r\nTranslate,chat,Chat,You translate.,y\r\n';
    const got = conversationsOf(csv, 'c.csv');
    expect(got.map((c) => c.messages)).toEqual([
      [{ role: 'user', content: 'Say "hi", twice' }, { role: 'assistant', content: 'hi,\r\nhi' }],
      [{ role: 'system', content: 'You translate.' }, { role: 'user', content: 'Translate\nchat' }, { role: 'assistant', content: 'Chat' }],
    ]);
    expect(got[1]?.source).toBe('c.csv row 2');
  });
});

describe('malformed inputs name the file, the 1-based row/line/item and what was expected', () => {
  const ok = '{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}';
  it.each([
    ['story.csv', 'instruction,output\na,b\nc,d\ne,f\ng,h\ni,j\nk,l\nm,\n', "story.csv row 7: column 'output' is empty"],
    ['s.csv', 'instruction,output\n,b\n', "s.csv row 1: column 'instruction' is empty (and so is 'input')"],
    ['s.csv', 'prompt,response\na,b\n', "s.csv header: missing columns 'instruction', 'output' (found: prompt, response); expected instruction,output with optional input, system"],
    ['s.csv', 'instruction,output\na,b\nc,d,e\n', 's.csv row 2: expected 2 fields (instruction, output), found 3'],
    ['s.csv', 'instruction,output\na,b\nc,"d\n', 's.csv row 2: Quoted field unterminated (fields containing commas, quotes or newlines must be double-quoted, with " written as "")'],
    ['s.csv', 'instruction,output,output\na,b,c\n', "s.csv header: column 'output' appears twice"],
    ['s.csv', '', 's.csv: the file is empty; expected a header row with columns instruction,output'],
    ['s.csv', 'instruction,output\n', 's.csv: the header has no example rows after it'],
    ['m.jsonl', `${ok}\n${ok}\n{"messages": [}\n`, 'm.jsonl line 3: not valid JSON ('],
    ['m.jsonl', `${ok}\n{"messages":[{"role":"user","content":"q"}]}`, 'm.jsonl line 2: expected at least one user message followed by an assistant answer'],
    ['m.jsonl', '{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"},{"role":"user","content":"q2"}]}', "m.jsonl line 1: the last message must be the assistant's answer"],
    ['m.jsonl', '{"messages":[{"role":"assistant","content":"a"},{"role":"user","content":"q"}]}', 'm.jsonl line 1: message 1: expected a user message, found assistant (turns must alternate user, assistant)'],
    ['m.jsonl', '{"messages":[{"role":"user","content":"q"},{"role":"system","content":"s"},{"role":"assistant","content":"a"}]}', 'm.jsonl line 1: message 2: a system message is only allowed first (turns must alternate user, assistant)'],
    ['m.jsonl', '{"messages":[{"role":"user","content":"q"},{"role":"tool","content":"a"}]}', 'm.jsonl line 1: messages[1]: "role" is "tool"; expected system, user or assistant'],
    ['m.jsonl', '{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"  "}]}', 'm.jsonl line 1: message 2 (assistant) is empty'],
    ['m.jsonl', '\n\n', 'm.jsonl: no examples (the file is empty)'],
    ['s.jsonl', '{"conversations":[{"from":"human","value":"q"},{"from":"function_call","value":"x"}]}', 's.jsonl line 1: conversations[1]: tool turns (observation / function_call) are not trained by the studio yet'],
    ['a.json', '{"instruction":"q","output":"a"}', 'a.json: expected a JSON array of examples ([{"instruction": ..., "output": ...}, ...]), got object'],
    ['a.json', '[{"instruction":"q","output":"a"},{"instruction":"q"}]', "a.json item 2: field 'output' is missing"],
    ['a.json', '[{"instruction":"q","output":42}]', "a.json item 1: field 'output' must be a string, got number"],
    ['a.json', '[{"prompt":"q","completion":"a"}]', "a.json item 1: unknown record layout (keys: prompt, completion); expected 'instruction'/'output' (alpaca), 'conversations' (ShareGPT) or 'messages' (OpenAI)"],
    ['a.json', '[]', 'a.json: the array holds no examples'],
    ['a.json', '[{"instruction": ', 'a.json: not valid JSON ('],
    ['d.txt', 'x', 'd.txt: unsupported dataset file; expected .json (alpaca/ShareGPT array), .jsonl (ShareGPT or OpenAI messages), .csv (instruction,output) or .parquet'],
  ])('%s: %s', (name, text, msg) => {
    // A file that cannot be read throws; a bad row is skipped and reported as (file, row, reason).
    let got: string;
    try {
      const p = parseDataset(text, name);
      const s = p.skipped[0];
      expect(s).toBeDefined();
      const kind = name.endsWith('.csv') ? 'row' : name.endsWith('.jsonl') ? 'line' : 'item';
      got = `${s?.file} ${kind} ${s?.row}: ${s?.reason}`;
      expect(p.conversations.length).toBe(p.rows - p.skipped.length);
    } catch (e) {
      expect(e).toBeInstanceOf(DatasetError);
      got = (e as Error).message;
    }
    expect(got.startsWith(msg), got).toBe(true);
  });
});
