// The `switchboard` command: global options, the command groups, and how a run ends.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { asNotice, notice, type CliContext } from './cli-context.js';
import { CliError, EXIT_CODES, exitCodesHelp } from './exit-codes.js';
import { addGlobalOptions } from './global-options.js';

/** This package's version: dist/program.js is one folder below package.json, the bundle (dist/bundle/) two. */
function packageVersion(): string {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version: string };
      if (pkg.name === '@switchboard/cli') return pkg.version;
    } catch {
      // not at this depth
    }
  }
  return 'unknown';
}

const VERSION = packageVersion();

/** Adds one command group (`calls`, with its subcommands) to the program. */
export type RegisterGroup = (program: Command, ctx: CliContext) => void;

/**
 * The command groups in the order help lists them. Each is imported only when the command line
 * chooses it: a group's module brings its dependencies (the NATS client, @switchboard/cdr, yaml),
 * and loading all of them took most of a run's ~390 ms (issue 20: `workers ls` must not pay for
 * `cdr`'s or `trunks`').
 */
export const COMMAND_GROUPS = {
  calls: async () => (await import('./commands/calls.js')).registerCallCommands,
  workers: async () => (await import('./commands/workers.js')).registerWorkerCommands,
  trunks: async () => (await import('./commands/trunks.js')).registerTrunkCommands,
  stats: async () => (await import('./commands/stats.js')).registerStatsCommand,
  cdr: async () => (await import('./commands/cdr.js')).registerCdrCommands,
} satisfies Record<string, () => Promise<RegisterGroup>>;

export type CommandGroup = keyof typeof COMMAND_GROUPS;

function isGroup(name: string): name is CommandGroup {
  return Object.hasOwn(COMMAND_GROUPS, name);
}

/** The program with its global options and the command groups `argv` needs (all of them when it names none). */
export async function createProgram(ctx: CliContext, argv: readonly string[] = []): Promise<Command> {
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
  const chosen = chosenGroup(program, argv);
  const groups = chosen === undefined ? Object.keys(COMMAND_GROUPS).filter(isGroup) : [chosen];
  const registers = await Promise.all(groups.map((name) => COMMAND_GROUPS[name]()));
  for (const register of registers) register(program, ctx);
  return program;
}

/**
 * The group the command line runs (`calls` of `--json calls ls`, of `help calls`), read as
 * commander will read it: the first operand after the global options and their values. Anything
 * else before it (an unknown option, `--help`, which asks for the whole program's help) or an
 * operand that is no group (a typo commander suggests a group for) answers undefined: every group
 * is then loaded, so what commander prints is what it printed with all of them.
 */
export function chosenGroup(program: Command, argv: readonly string[]): CommandGroup | undefined {
  const takesValue = new Map<string, 'required' | 'optional' | 'none'>();
  for (const option of program.options) {
    const kind = option.required ? 'required' : option.optional ? 'optional' : 'none';
    for (const flag of [option.long, option.short]) if (flag !== undefined) takesValue.set(flag, kind);
  }
  let helpCommand = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') return undefined;
    if (arg.startsWith('-') && arg !== '-') {
      const [flag = arg, inline] = arg.split('=', 2);
      const kind = takesValue.get(flag);
      if (kind === undefined) return undefined;
      if (inline === undefined && (kind === 'required' || (kind === 'optional' && !(argv[i + 1] ?? '-').startsWith('-')))) i++;
      continue;
    }
    if (arg === 'help' && !helpCommand) {
      helpCommand = true;
      continue;
    }
    return isGroup(arg) ? arg : undefined;
  }
  return undefined;
}

/** Runs one command line (without `node` and the script) and answers its exit code. */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  try {
    await (await createProgram(ctx, argv)).parseAsync(argv, { from: 'user' });
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
