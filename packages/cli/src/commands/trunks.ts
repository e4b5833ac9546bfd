// switchboard trunks ls | show | set | apply: the cluster's live trunking configuration (one
// value in the KV bucket sb-config, read and written through sb.admin.config.get/set).
import { AdminCallError, AdminErrors, type AdminClient, type ConfigSnapshot } from '@switchboard/admin/client';
import type { Command } from 'commander';
import { asCliError, withAdmin } from '../admin-connection.js';
import { notice, type CliContext } from '../cli-context.js';
import { CliError } from '../exit-codes.js';
import { globalsOf } from '../global-options.js';
import { formatJson } from '../output/json.js';
import { integerIn } from '../option-values.js';
import { fieldsNotKept, parseAssignment, setTrunkFields, trunkOf, type Assignment } from './trunk-fields.js';
import { readTrunkingFile } from './trunking-file.js';
import {
  formatConfigApplied, formatNoChange, formatTrunkChanges, formatTrunkJson, formatTrunkListJson, formatTrunkTable, formatTrunkYaml,
} from './trunks-format.js';

const WRITES = `
A write is validated by the workers with the schema of the trunks file: an invalid one is refused
(exit 4) with the path of the first bad field, and the configuration in force is untouched.
Calls that start after the write get the new configuration; calls in progress keep the one they
started with.`;

const LIST_HELP = `
The customer trunks of the cluster's configuration: DIDS and ROUTES count the trunk's numbers and
routing rules; TRANSFER MODE, MAX CONC and MAX CPS are its transfer mode and limits (- for none).
The configuration's revision goes to stderr. --json prints {"revision", "trunks"}, each trunk whole.`;

const SHOW_HELP = `
Prints the trunk as YAML, as in the trunks file (defaults filled in), after a comment naming the
configuration's revision. --json prints {"revision", "trunk"}. Exit code 2 when there is no such trunk.`;

const SET_HELP = `
Changes fields of one trunk: reads the configuration, sets each <path>=<value> on the trunk, and
writes it back if nobody wrote meanwhile (compare-and-set on the revision read; when somebody did,
it reads again and tries once more, then exits 4).
<path> names a field of the trunk with dots, a list's element by index: transfer.mode,
restrictions.maxCps, routing[0].prefix (or routing.0.prefix). Objects on the way are created.
<value> is JSON when it parses as JSON (10, true, [...], {...}, "text"), else the text itself; a
field that holds text keeps digits as text (numberPlan.countryCode=44); null removes the field.
Quote values for your shell.
Prints each field changed (old → new) and the new revision; --json prints {"revision", "trunk",
"changes"}. Nothing is written when no field would change. A field the workers do not know is
dropped by them: the write is then reported with exit code 4, naming the field.
${WRITES}
Examples:
  switchboard trunks set acme transfer.mode=sip-only
  switchboard trunks set acme restrictions.maxCps=10 restrictions.maxConcurrent=50
  switchboard trunks set acme 'restrictions.blocked=[{"prefix":"+1900","name":"premium-rate"}]'
  switchboard trunks set acme restrictions.maxCps=null`;

const APPLY_HELP = `
Replaces the whole trunking configuration with the file's: YAML or JSON, with the top-level
fields of the trunks file (carriers, trunks, sipTransfers). - reads standard input.
--revision makes it a compare-and-set: refused (exit 4) if the configuration is no longer at that
revision (as \`trunks ls\` prints it). Prints the new revision; --json prints {"revision", "trunking"},
the configuration in force with its defaults filled in.
A file that cannot be read or parsed is a usage error (exit 1).
${WRITES}
Examples:
  switchboard trunks apply -f config/trunks.yaml
  switchboard trunks apply -f trunks.json --revision 12`;

export function registerTrunkCommands(program: Command, ctx: CliContext): void {
  const trunks = program.command('trunks').description('the live trunking configuration: list, show, change one trunk, apply a file');

  trunks
    .command('ls')
    .alias('list')
    .description('list the customer trunks of the configuration in force')
    .addHelpText('after', LIST_HELP)
    .action(async (_options: unknown, command: Command) => {
      const snapshot = await withAdmin(command, (client) => client.getConfig());
      if (globalsOf(command).json === true) {
        ctx.io.out(formatTrunkListJson(snapshot));
        return;
      }
      ctx.io.err(notice(`configuration revision ${snapshot.revision}`));
      ctx.io.out(formatTrunkTable(snapshot.trunking));
    });

  trunks
    .command('show')
    .description("show one trunk's configuration")
    .argument('<id>', 'the trunk, as `trunks ls` prints it')
    .addHelpText('after', SHOW_HELP)
    .action(async (id: string, _options: unknown, command: Command) => {
      const snapshot = await withAdmin(command, (client) => client.getConfig());
      const trunk = trunkOf(snapshot.trunking, id);
      ctx.io.out(globalsOf(command).json === true ? formatTrunkJson(trunk, snapshot.revision) : formatTrunkYaml(trunk, snapshot.revision));
    });

  trunks
    .command('set')
    .description('change fields of one trunk (compare-and-set)')
    .argument('<id>', 'the trunk')
    .argument('<path=value...>', 'the fields to set, e.g. transfer.mode=sip-only restrictions.maxCps=10')
    .addHelpText('after', SET_HELP)
    .action(async (id: string, args: string[], _options: unknown, command: Command) => {
      const assignments = args.map(parseAssignment);
      await withAdmin(command, (client) => setFields(client, id, assignments, globalsOf(command).json === true, ctx));
    });

  trunks
    .command('apply')
    .description('replace the whole trunking configuration with a YAML or JSON file')
    .requiredOption('-f, --file <file>', 'the trunking configuration (as config/trunks.yaml); - for standard input')
    .option('--revision <n>', 'only if the configuration is still at this revision', integerIn(0, Number.MAX_SAFE_INTEGER))
    .addHelpText('after', APPLY_HELP)
    .action(async (options: { file: string; revision?: number }, command: Command) => {
      const trunking = await readTrunkingFile(options.file);
      const written = await withAdmin(command, async (client) => {
        try {
          return await client.setConfig(trunking, options.revision);
        } catch (error) {
          throw error instanceof AdminCallError ? asCliError(error, 'the configuration') : error;
        }
      });
      ctx.io.out(globalsOf(command).json === true ? formatJson(written) : formatConfigApplied(written));
    });
}

/** `trunks set`: read, change, write with the revision read; once more from a fresh read if somebody wrote meanwhile. */
async function setFields(client: AdminClient, id: string, assignments: readonly Assignment[], json: boolean, ctx: CliContext): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const read: ConfigSnapshot = await client.getConfig();
    const { trunking, trunk, changes } = setTrunkFields(read.trunking, id, assignments);
    if (changes.length === 0) {
      ctx.io.out(json ? formatTrunkJson(trunk, read.revision, []) : formatNoChange(id, read.revision));
      return;
    }
    let written: ConfigSnapshot;
    try {
      written = await client.setConfig(trunking, read.revision);
    } catch (error) {
      if (!(error instanceof AdminCallError)) throw error;
      if (error.code === AdminErrors.conflict && attempt === 1) {
        ctx.io.err(notice(`the configuration changed since revision ${read.revision}: reading it again`));
        continue;
      }
      throw asCliError(error, 'the configuration');
    }
    const kept = trunkOf(written.trunking, id);
    ctx.io.out(json ? formatTrunkJson(kept, written.revision, changes) : formatTrunkChanges(id, changes, read.revision, written.revision));
    const dropped = fieldsNotKept(trunk, kept, assignments);
    if (dropped.length > 0) {
      throw new CliError('refused', `${dropped.join(', ')}: not kept by the workers (not a field of a trunk?): revision ${written.revision} is in force without ${dropped.length === 1 ? 'it' : 'them'}`);
    }
    return;
  }
}
