/**
 * Parquet datasets read with hyparquet: a file written by tests/support/parquetWriter.ts (Parquet spec, uncompressed
 * PLAIN pages) with alpaca columns, a null input (same as empty, LLaMA-Factory), a non-empty input (joined with "\n")
 * and a bad row (empty output) that is skipped and reported with its 1-based row.
 */
import { describe, expect, it } from 'vitest';
import { readDatasetFile } from '../../src/io/dataset/parse';
import { DatasetError } from '../../src/io/dataset/errors';
import { writeStringParquet } from '../support/parquetWriter';

describe('Parquet datasets', () => {
  const bytes = writeStringParquet([
    { name: 'instruction', optional: false, values: ['Say hi', 'Translate', 'Broken', 'Empty input'] },
    { name: 'input', optional: true, values: [null, 'chat', 'x', ''] },
    { name: 'output', optional: true, values: ['hi', 'Chat', null, 'ok'] },
  ]);
  it('rows become alpaca conversations; a bad row is skipped (file, row, reason)', async () => {
    const got = await readDatasetFile(new Blob([bytes.slice().buffer as ArrayBuffer]), 'sft.parquet');
    expect(got.schema).toBe('alpaca');
    expect(got.conversations.map((c) => [c.row, c.messages])).toEqual([
      [1, [{ role: 'user', content: 'Say hi' }, { role: 'assistant', content: 'hi' }]],
      [2, [{ role: 'user', content: 'Translate\nchat' }, { role: 'assistant', content: 'Chat' }]],
      [4, [{ role: 'user', content: 'Empty input' }, { role: 'assistant', content: 'ok' }]],
    ]);
    expect(got.skipped).toEqual([{ file: 'sft.parquet', row: 3, reason: "column 'output' is empty" }]);
  });
  it('the writer is deterministic, and a file that is not Parquet is refused by name', async () => {
    expect(writeStringParquet([{ name: 'a', optional: false, values: ['x'] }])).toEqual(writeStringParquet([{ name: 'a', optional: false, values: ['x'] }]));
    await expect(readDatasetFile(new Blob(['not parquet']), 'x.parquet')).rejects.toThrow(DatasetError);
    await expect(readDatasetFile(new Blob(['not parquet']), 'x.parquet')).rejects.toThrow(/^x\.parquet: not a readable Parquet file/);
  });
});
