/**
 * `npx shadowft <command>`: command table. Each command returns a process exit code (2 for usage errors).
 */
import { unknownFlagMessage } from './unknownFlag';

/** A CLI command: usage line and runner. */
export interface Command {
  readonly usage: string;
  run(args: string[]): Promise<number>;
}

/** Commands load lazily, so `similarity` and `merge` never load the WebGPU runtime or WGSL. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  'check-fixtures': async () => (await import('./checkFixtures')).checkFixturesCommand,
  similarity: async () => (await import('./similarity')).similarityCommand,
  merge: async () => (await import('./merge')).mergeCommand,
  profile: async () => (await import('./profile')).profileCommand,
  graft: async () => (await import('./graft')).graftCommand,
  handoff: async () => (await import('./handoff')).handoffCommand,
  dataset: async () => (await import('./dataset')).datasetCommand,
  inspect: async () => (await import('./inspect')).inspectCommand,
  generate: async () => (await import('./generate')).generateCommand,
  compare: async () => (await import('./compare')).compareCommand,
  train: async () => (await import('./train')).trainCommand,
};

/** Dispatches argv (without node and script) to a command; prints usage on unknown input, and a command's usage for `--help` / `-h`. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const load = name ? COMMANDS[name] : undefined;
  if (!load) {
    const all = await Promise.all(Object.values(COMMANDS).map((l) => l()));
    process.stderr.write(`usage:\n${all.map((c) => `  npx shadowft ${c.usage}`).join('\n')}\n`);
    return name === undefined || name === '--help' || name === '-h' ? 0 : 2;
  }
  let usage = '';
  try {
    const cmd = await load();
    usage = cmd.usage;
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(`usage: npx shadowft ${cmd.usage}\n`);
      return 0;
    }
    return await cmd.run(rest);
  } catch (e) {
    const flag = unknownFlagMessage(e, usage);
    if (flag !== null) {
      process.stderr.write(`shadowft ${name}: ${flag}\n`);
      return 2;
    }
    process.stderr.write(`shadowft ${name}: ${(e as Error).message}\n`);
    return 1;
  }
}
