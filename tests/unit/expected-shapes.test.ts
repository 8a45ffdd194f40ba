import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/io/checkpoint';
import { readModelConfig } from '../../src/io/config';
import { checkCheckpointShapes, expectedTensorShapes } from '../../src/engine/model/expectedShapes';
import { modelFilesFromDir } from '../../src/node/files';

describe('checkpoint shapes vs config.json (checked at drop time)', () => {
  it('accepts the real stories260K and fixture checkpoints with their own configs', async () => {
    for (const dir of ['../shared/models/stories260K-base', '../shared/fixtures/qwen2-tiny', '../shared/fixtures/qwen3-tiny']) {
      const files = await modelFilesFromDir(dir);
      const cfg = await readModelConfig(files.files.get('config.json')!, `${dir}/config.json`);
      const ckpt = await openCheckpoint(files);
      expect(() => checkCheckpointShapes(cfg, ckpt)).not.toThrow();
      expect(expectedTensorShapes(cfg).size).toBe(ckpt.tensors.size);
    }
  });
  it('names the first tensor whose shape contradicts the config', async () => {
    const files = await modelFilesFromDir('../shared/fixtures/llama-tiny');
    const other = await modelFilesFromDir('../shared/models/stories260K-base');
    const cfg = await readModelConfig(other.files.get('config.json')!, 'stories260K-base/config.json');
    const ckpt = await openCheckpoint(files);
    expect(() => checkCheckpointShapes(cfg, ckpt)).toThrow(/llama-tiny: tensor model\.embed_tokens\.weight has shape \[256, 64\], but config\.json implies \[512, 64\]/);
  });
});
