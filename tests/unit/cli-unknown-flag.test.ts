import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { editDistance, unknownFlagMessage, usageFlags } from '../../src/cli/unknownFlag';
import { main } from '../../src/cli/main';

const USAGE = 'train BASE INSTRUCT --train FILE [--max-steps N --max-length T --lr LR] --out DIR';

function parseError(args: string[]): unknown {
  try {
    parseArgs({ args, options: { train: { type: 'string' }, 'max-steps': { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (e) {
    return e;
  }
  return null;
}

describe('unknown CLI flags', () => {
  it('measures edit distance', () => {
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('--max-step', '--max-steps')).toBe(1);
  });

  it('lists the usage flags once each', () => {
    expect(usageFlags(USAGE)).toEqual(['--train', '--max-steps', '--max-length', '--lr', '--out']);
  });

  it('suggests the closest flag and prints the usage', () => {
    const msg = unknownFlagMessage(parseError(['--max-step', '3']), USAGE);
    expect(msg).toContain('unknown flag --max-step.');
    expect(msg).toContain('Did you mean --max-steps');
    expect(msg).toContain(`usage: npx shadowft ${USAGE}`);
  });

  it('suggests nothing for a flag far from all', () => {
    const msg = unknownFlagMessage(parseError(['--zzzzzzzz']), USAGE);
    expect(msg).not.toContain('Did you mean');
  });

  it('leaves other errors alone', () => {
    expect(unknownFlagMessage(new Error('x'), USAGE)).toBeNull();
  });

  it('answers exit status 2 from main for an unknown flag', async () => {
    expect(await main(['similarity', 'a', 'b', '--jsn', 'x'])).toBe(2);
  });
});
