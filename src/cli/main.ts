/**
 * `npx shadowft <command>`: command table. Each command returns a process exit code.
 */
import { checkFixturesCommand } from './checkFixtures';
import { mergeCommand } from './merge';
import { similarityCommand } from './similarity';

/** A CLI command: usage line and runner. */
export interface Command {
  readonly usage: string;
  run(args: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  'check-fixtures': checkFixturesCommand,
  similarity: similarityCommand,
  merge: mergeCommand,
};

/** Dispatches argv (without node and script) to a command; prints usage on unknown input. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const cmd = name ? COMMANDS[name] : undefined;
  if (!cmd) {
    process.stderr.write(`usage:\n${Object.values(COMMANDS).map((c) => `  npx shadowft ${c.usage}`).join('\n')}\n`);
    return name === undefined || name === '--help' || name === '-h' ? 0 : 2;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    process.stderr.write(`shadowft ${name}: ${(e as Error).message}\n`);
    return 1;
  }
}
