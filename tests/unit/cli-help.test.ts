/**
 * `npx shadowft <command> --help` (src/cli/main.ts) prints that command's usage on stdout and exits 0 without
 * running it; `npx shadowft` alone lists every command; an unknown command exits 2.
 */
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import { captureCli } from '../support/captureCli';

describe('shadowft --help', () => {
  it('prints the usage of one command for --help and -h, and runs nothing', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await captureCli(() => main(['merge', flag]));
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^usage: npx shadowft merge /);
      expect(r.err).toBe('');
    }
  });

  it('lists every command without arguments and refuses an unknown one', async () => {
    const all = await captureCli(() => main([]));
    expect(all.code).toBe(0);
    for (const c of ['similarity', 'merge', 'inspect', 'handoff', 'dataset']) expect(all.err).toContain(`npx shadowft ${c} `);
    const bad = await captureCli(() => main(['nope']));
    expect(bad.code).toBe(2);
  });
});
