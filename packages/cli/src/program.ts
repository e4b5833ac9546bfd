// The `switchboard` command: global options, the command groups, and how a run ends.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { asNotice, notice, type CliContext } from './cli-context.js';
import { registerCallCommands } from './commands/calls.js';
import { registerCdrCommands } from './commands/cdr.js';
import { registerStatsCommand } from './commands/stats.js';
import { registerTrunkCommands } from './commands/trunks.js';
import { registerWorkerCommands } from './commands/workers.js';
import { CliError, EXIT_CODES, exitCodesHelp } from './exit-codes.js';
import { addGlobalOptions } from './global-options.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export function createProgram(ctx: CliContext): Command {
  // Settings made before the first .command() are inherited by every subcommand.
  const program = new Command('switchboard')
    .description('Operate a Switchboard cluster: asks its workers over NATS.')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.io.out(text),
      writeErr: (text) => ctx.io.err(text),
      outputError: (text, write) => write(asNotice(text)),
    })
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('afterAll', exitCodesHelp());
  addGlobalOptions(program);
  registerCallCommands(program, ctx);
  registerWorkerCommands(program, ctx);
  registerTrunkCommands(program, ctx);
  registerStatsCommand(program, ctx);
  registerCdrCommands(program, ctx);
  return program;
}

/** Runs one command line (without `node` and the script) and answers its exit code. */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  try {
    await createProgram(ctx).parseAsync(argv, { from: 'user' });
    return EXIT_CODES.ok;
  } catch (error) {
    // Commander has printed its own message (or the help) already.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    if (error instanceof CliError) {
      ctx.io.err(notice(error.message));
      return error.exitCode;
    }
    ctx.io.err(notice(`unexpected error: ${(error as Error).stack ?? String(error)}`));
    return EXIT_CODES.internal;
  }
}
