// What ./scripts/start tells a newcomer, derived from the configuration it runs (SWITCHBOARD_CONFIG
// and its trunking file): the trunks and their domains, who may call from where, a number each
// trunk can dial, where calls to its DIDs go, whether the demo carrier is one of the configured
// carriers (it is started only then), the CDR page and the CLI command. Read from the built
// workspace (@switchboard/config and @switchboard/trunking), so the file is validated exactly as
// the workers validate it; an invalid file leaves the workers to report it.
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { readConfigFile } from '../packages/config/dist/mod.js';
import { cidrContains, ipBytes, parseCidr, TrunkingConfigSchema } from '../packages/trunking/dist/mod.js';

/** Where a PBX on this machine calls from. */
const LOCAL_ADDRESS = '127.0.0.1';
/** Digits after a routing prefix to make an example number: a San Francisco number under +1. */
const FILLER = '4155551234567';

/** The trunking file of a cluster configuration, as the workers resolve it (SWITCHBOARD_TRUNKING_FILE overrides it). */
export function trunkingFileOf(configFile, env = process.env) {
  let named;
  try {
    named = readConfigFile(configFile)?.trunking?.file;
  } catch {
    // an unreadable configuration is the workers' to report, naming the field
  }
  return resolve(dirname(configFile), env.SWITCHBOARD_TRUNKING_FILE || named || 'trunks.yaml');
}

/** The trunking configuration of the file, validated; undefined (and why) when it does not validate. */
export function readTrunking(file) {
  try {
    const parsed = TrunkingConfigSchema.safeParse(readConfigFile(file));
    return parsed.success ? { trunking: parsed.data } : { problem: parsed.error.issues[0]?.message ?? 'invalid' };
  } catch (error) {
    return { problem: error instanceof Error ? error.message : String(error) };
  }
}

/** The configured carrier at the demo carrier's address, if any: only then is the demo carrier worth starting. */
export function demoCarrierOf(trunking, demo) {
  return trunking?.carriers.find((c) => c.addresses.some((a) => a.host === demo.host && a.port === demo.port));
}

/** A number the trunk may dial: its first route whose example is neither blocked nor outside its allowed prefixes. */
export function exampleNumber(trunk) {
  const { allowedPrefixes, blocked } = trunk.restrictions;
  const plus = (p) => (p.startsWith('+') ? p : `+${p}`);
  for (const route of trunk.routing) {
    const prefix = plus(route.prefix);
    const number = prefix + FILLER.slice(0, Math.max(0, 12 - prefix.length));
    const allowed = allowedPrefixes.length === 0 || allowedPrefixes.some((p) => number.startsWith(plus(p)));
    if (allowed && !blocked.some((b) => number.startsWith(plus(b.prefix)))) return number;
  }
  return undefined;
}

function callsFromHere(trunk) {
  const here = ipBytes(LOCAL_ADDRESS);
  return trunk.acl.some((entry) => {
    const block = parseCidr(entry);
    return block !== undefined && here !== undefined && cidrContains(block, here);
  });
}

/**
 * The banner's lines. `o`: configFile, trunkingFile, the parsed trunking (or its problem), the demo
 * carrier's address and whether it runs, the CDR page's address, the CLI command, and whether
 * the file is applied at start (--from-file).
 */
export function bannerLines(o) {
  const shown = (file) => {
    const inside = relative(process.cwd(), file);
    return inside === '' || inside.startsWith('..') || isAbsolute(inside) ? file : inside;
  };
  const lines = [];
  if (o.trunking === undefined) {
    lines.push(`  the trunking file ${shown(o.trunkingFile)} does not validate (${o.problem}): the workers will say where`);
  } else {
    const { trunks, carriers } = o.trunking;
    lines.push(`  trunking of ${shown(o.trunkingFile)}: ${trunks.length} trunk(s), ${carriers.length} carrier(s) (${carriers.map((c) => c.id).join(', ') || 'none'})`);
    for (const trunk of trunks) {
      const who = [
        ...(trunk.acl.length > 0 ? [`calls from ${trunk.acl.join(', ')}${callsFromHere(trunk) ? ' (this machine)' : ''}`] : []),
        ...(trunk.credentials.length > 0 ? [`digest user ${trunk.credentials.map((c) => c.username).join(', ')}`] : []),
      ].join(' or ');
      const number = exampleNumber(trunk);
      const dial = number === undefined ? 'no routed number it may dial' : `dial sip:${number}@${trunk.domain}`;
      lines.push(`  trunk "${trunk.id}" (${who}): ${dial}`);
      if (trunk.dids.length > 0 && trunk.origination.uris.length > 0) {
        lines.push(`    calls from a carrier to its DIDs (${trunk.dids.join(', ')}) go to ${trunk.origination.uris.join(', then ')}`);
      }
    }
    lines.push(o.demoCarrier.runs
      ? `  the demo carrier on ${o.demoCarrier.host}:${o.demoCarrier.port} is carrier "${o.demoCarrier.id}": it rings and answers every call after a second`
      : `  no carrier of the trunking is at ${o.demoCarrier.host}:${o.demoCarrier.port}: the demo carrier is not started`);
  }
  lines.push(`  Call Detail Records page: http://${o.cdrWeb}/`);
  lines.push(`  CLI: ${o.cli}`);
  lines.push(o.fromFile
    ? `  --from-file: the file replaces the cluster's trunking (bucket sb-config) as soon as a worker answers`
    : `  the trunking in force is the cluster's (bucket sb-config, seeded from the file at the first start): a worker\n  logs it when the file differs; ./scripts/start --from-file applies the file`);
  return lines;
}
