/** Runs a CLI entry in-process with stdout and stderr captured (tests of src/cli commands). */
import { vi } from 'vitest';

/** Output of one captured run: the exit code and everything written to stdout / stderr. */
export interface CapturedRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Calls `run()` with process.stdout/stderr.write captured; restores them even when it throws. */
export async function captureCli(run: () => Promise<number>): Promise<CapturedRun> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    const code = await run();
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
