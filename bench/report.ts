/**
 * Result lines of a bench file: each line is printed at once (a long run cut short still shows what it measured)
 * and kept for the summary printed at the end. The first line names the adapter.
 */
import type { GpuContext } from '../src/engine/gpu/context';

/** A bench file's report. */
export interface BenchReport {
  /** Prints `line` now and keeps it for the summary. */
  emit(line: string): void;
  /** Prints every kept line under "summary:". */
  printSummary(): void;
}

/** Starts a report whose first line is the adapter of `ctx`. */
export function benchReport(ctx: GpuContext): BenchReport {
  const lines: string[] = [];
  const emit = (line: string): void => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };
  emit(`adapter: ${ctx.adapter.architecture || ctx.adapter.description} (${ctx.adapter.vendor})`);
  return { emit, printSummary: () => process.stdout.write(`\nsummary:\n${lines.join('\n')}\n`) };
}
