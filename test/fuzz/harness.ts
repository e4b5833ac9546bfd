// The properties every input must satisfy, whatever its bytes. Shared by the CI fuzz test
// (test/fuzz/parser.fuzz.test.ts) and the long run (test/bench/fuzz.ts).
import {
  parseMessage, readRoutingFields, routingFieldsOf, serializeMessage, SipParseError, SipUri, validateMessage,
  type Headers, type RoutingFields, type SipMessage,
} from '@switchboard/sip';
import { MutantSource, type Mutant } from './mutate.js';
import { allSeeds } from './seeds.js';

export const FRAMINGS = ['datagram', 'stream'] as const;
export type Framing = (typeof FRAMINGS)[number];

/** `parsed`, or the code of the SipParseError that refused the message. */
export type Outcome = string;

export interface Verdict {
  datagram: Outcome;
  stream: Outcome;
  /** Every property the input broke; empty when it behaved. */
  problems: string[];
}

/**
 * The serializer may legitimately grow a message (it adds a Content-Length, writes `Name: `
 * with a space, joins folded lines into one), so a message at the edge of the limits may not
 * fit them once re-serialized: the round trip re-parses without those bounds.
 */
const UNBOUNDED = { maxMessageBytes: 1 << 24, maxHeaders: 1 << 20, maxHeaderLineLength: 1 << 24 };

const REFUSAL_STATUSES = new Set([400, 505, 513]);

function describe(err: unknown): string {
  if (err instanceof Error) {
    const frames = (err.stack ?? '').split('\n').slice(1, 4).map((f) => f.trim()).join(' | ');
    return `${err.name}: ${err.message} [${frames}]`;
  }
  return `non-Error thrown: ${String(err)}`;
}

/** A refusal a transport can answer with: a known status and a one-line reason. */
function checkRefusal(err: SipParseError, where: string, problems: string[]): void {
  if (!REFUSAL_STATUSES.has(err.status) || err.reason.length === 0 || /[\r\n]/.test(err.reason) || typeof err.code !== 'string') {
    problems.push(`${where}: unusable SipParseError ${JSON.stringify({ code: err.code, status: err.status, reason: err.reason })}`);
  }
}

/** What readRoutingFields must return for a message parseMessage accepted. */
export const routingFromModel = routingFieldsOf;

const ROUTING_KEYS = ['kind', 'method', 'status', 'callId', 'branch', 'toTag', 'fromTag', 'cseq', 'cseqMethod'] as const;

function routingDiff(fast: RoutingFields, model: RoutingFields): string | undefined {
  const diffs: string[] = [];
  for (const k of ROUTING_KEYS) {
    if (fast[k] !== model[k]) diffs.push(`${k}: fast=${JSON.stringify(fast[k])} model=${JSON.stringify(model[k])}`);
  }
  return diffs.length === 0 ? undefined : diffs.join('; ');
}

/** Where two models differ in what a round trip must keep (Content-Length aside), or undefined. */
function shapeDiff(a: SipMessage, b: SipMessage): string | undefined {
  if (a.kind !== b.kind) return `kind ${a.kind} became ${b.kind}`;
  if (a.startLine !== b.startLine) return `start line ${JSON.stringify(a.startLine)} became ${JSON.stringify(b.startLine)}`;
  if (a.headerEncoding !== b.headerEncoding) return `header encoding ${a.headerEncoding} became ${b.headerEncoding}`;
  const ha = headerList(a.headers);
  const hb = headerList(b.headers);
  const n = Math.max(ha.length, hb.length);
  for (let i = 0; i < n; i++) {
    const x = ha[i];
    const y = hb[i];
    if (x === undefined || y === undefined || x[0] !== y[0] || x[1] !== y[1] || x[2] !== y[2]) {
      return `header #${i} ${JSON.stringify(x)} became ${JSON.stringify(y)}`;
    }
  }
  if (Buffer.compare(Buffer.from(a.body.buffer, a.body.byteOffset, a.body.byteLength), Buffer.from(b.body.buffer, b.body.byteOffset, b.body.byteLength)) !== 0) {
    return `body of ${a.body.length} bytes became ${b.body.length} bytes`;
  }
  return undefined;
}

function headerList(h: Headers): [string, string, string][] {
  const out: [string, string, string][] = [];
  h.forEachEntry((name, value, key) => {
    if (key !== 'content-length') out.push([key, name, value]);
  });
  return out;
}

/** Reads, from a parsed message, what the parser leaves to first use: these may refuse, never crash. */
const LAZY: readonly (readonly [string, (m: SipMessage) => unknown])[] = [
  ['expires', (m) => m.headers.expires],
  ['date', (m) => m.headers.date],
  ['route', (m) => m.headers.route.map(String)],
  ['recordRoute', (m) => m.headers.recordRoute.map(String)],
  ['contentType', (m) => m.headers.contentType?.toString()],
  ['contentLength', (m) => m.headers.contentLength],
  ['referTo', (m) => m.headers.referTo?.toString()],
  ['referToReplaces', (m) => m.headers.referToReplaces?.toString()],
  ['referredBy', (m) => m.headers.referredBy?.toString()],
  ['replaces', (m) => m.headers.replaces?.toString()],
  ['event', (m) => m.headers.event?.param('id')],
  ['subscriptionState', (m) => m.headers.subscriptionState?.param('expires')],
  ['referSub', (m) => m.headers.referSub],
  ['supported', (m) => m.headers.supported],
  ['require', (m) => m.headers.require],
  ['allow', (m) => m.headers.allow],
  ['sessionExpires', (m) => m.headers.sessionExpires?.seconds],
  ['minSE', (m) => m.headers.minSE?.seconds],
  ['retryAfter', (m) => m.headers.retryAfter?.seconds],
  ['reason', (m) => m.headers.reason.map(String)],
  ['pAssertedIdentity', (m) => m.headers.pAssertedIdentity.map(String)],
  ['diversion', (m) => m.headers.diversion.map(String)],
  ['isWildcardContact', (m) => m.headers.isWildcardContact],
  ['eager values', (m) => {
    // the eager accessors are cached by now; their values must print
    const h = m.headers;
    return [h.via.map(String), h.from?.toString(), h.to?.toString(), h.contact.map(String), h.cseq?.toString(), h.maxForwards];
  }],
  ['request-uri', (m) => {
    if (m.kind !== 'request') return undefined;
    const u = m.uri;
    return u instanceof SipUri ? [u.toString(), u.decodedUser, u.param('transport'), u.header('Replaces')] : u.toString();
  }],
];

/** Runs every property over one input. Never throws. */
export function check(data: Buffer): Verdict {
  const verdict: Verdict = { datagram: 'parsed', stream: 'parsed', problems: [] };
  const problems = verdict.problems;
  const models: [Framing, SipMessage][] = [];

  for (const framing of FRAMINGS) {
    let msg: SipMessage;
    try {
      msg = parseMessage(data, { framing });
    } catch (err) {
      if (err instanceof SipParseError) {
        verdict[framing] = err.code;
        checkRefusal(err, `${framing} parse`, problems);
      } else {
        verdict[framing] = 'crash';
        problems.push(`${framing}: parseMessage threw ${describe(err)}`);
      }
      continue;
    }
    models.push([framing, msg]);

    try {
      const refusal = validateMessage(msg);
      if (refusal !== undefined) checkRefusal(refusal, `${framing} validateMessage`, problems);
    } catch (err) {
      problems.push(`${framing}: validateMessage threw ${describe(err)}`);
    }

    let wire: Buffer;
    try {
      wire = serializeMessage(msg);
    } catch (err) {
      problems.push(`${framing}: serializeMessage threw ${describe(err)}`);
      continue;
    }
    let again: SipMessage;
    try {
      again = parseMessage(wire, { framing, limits: UNBOUNDED });
    } catch (err) {
      problems.push(`${framing}: the serialized message does not re-parse: ${describe(err)} — serialized ${escapeBytes(wire, 600)}`);
      continue;
    }
    const diff = shapeDiff(msg, again);
    if (diff !== undefined) problems.push(`${framing}: parse→serialize→parse changed the message: ${diff}`);
    else {
      try {
        const wire2 = serializeMessage(again);
        if (!wire2.equals(wire)) problems.push(`${framing}: serializing the re-parsed message gave other bytes: ${escapeBytes(wire2, 600)}`);
      } catch (err) {
        problems.push(`${framing}: serializeMessage of the re-parsed message threw ${describe(err)}`);
      }
    }

    for (const [name, read] of LAZY) {
      try {
        read(msg);
      } catch (err) {
        if (!(err instanceof SipParseError)) problems.push(`${framing}: accessor ${name} threw ${describe(err)}`);
        else checkRefusal(err, `${framing} accessor ${name}`, problems);
      }
    }
  }

  let fast: RoutingFields | undefined;
  try {
    fast = readRoutingFields(data);
  } catch (err) {
    if (!(err instanceof SipParseError)) problems.push(`readRoutingFields threw ${describe(err)}`);
    else if (models.length > 0) problems.push(`readRoutingFields refused (${err.code}) a message parseMessage accepted`);
  }
  if (fast !== undefined) {
    for (const [framing, msg] of models) {
      let model: RoutingFields;
      try {
        model = routingFromModel(msg);
      } catch (err) {
        problems.push(`${framing}: an eager accessor threw after the parse: ${describe(err)}`);
        continue;
      }
      const diff = routingDiff(fast, model);
      if (diff !== undefined) problems.push(`${framing}: readRoutingFields disagrees with the model: ${diff}`);
    }
  }
  return verdict;
}

/** The bytes as a JSON string (non-ASCII as \u00XX, so `Buffer.from(JSON.parse(s), 'latin1')` restores them), cut at `max` chars. */
export function escapeBytes(data: Buffer, max = 2_000): string {
  const json = JSON.stringify(data.toString('latin1')).replace(/[\u007f-\u00ff]/g, (c) => '\\u00' + c.charCodeAt(0).toString(16).padStart(2, '0'));
  return json.length <= max ? json : `${json.slice(0, max)}…(${data.length} bytes in all)`;
}

export interface Failure {
  index: number;
  mutant: Mutant;
  problems: string[];
}

export interface RunStats {
  seed: number;
  count: number;
  /** Messages parseMessage accepted, per framing. */
  parsed: Record<Framing, number>;
  /** SipParseError codes, per framing. */
  refused: Record<Framing, Map<string, number>>;
  /** Inputs that broke a property. */
  failed: number;
  /** The first few failures in full. */
  failures: Failure[];
  /** The slowest single check, to spot super-linear inputs. */
  slowest: { index: number; ms: number; bytes: number };
}

export interface RunOptions {
  seed: number;
  count: number;
  /** How many failures to keep in full (all are counted). */
  keep?: number;
  /** Called every `progressEvery` inputs. */
  onProgress?: (done: number, stats: RunStats) => void;
  progressEvery?: number;
}

let source: MutantSource | undefined;

/** The mutant source over every seed (loaded once). */
export function mutantSource(): MutantSource {
  return (source ??= new MutantSource(allSeeds()));
}

export function run(opts: RunOptions): RunStats {
  const src = mutantSource();
  const keep = opts.keep ?? 10;
  const stats: RunStats = {
    seed: opts.seed,
    count: 0,
    parsed: { datagram: 0, stream: 0 },
    refused: { datagram: new Map(), stream: new Map() },
    failed: 0,
    failures: [],
    slowest: { index: -1, ms: 0, bytes: 0 },
  };
  for (let i = 0; i < opts.count; i++) {
    const mutant = src.generate(opts.seed, i);
    const t0 = performance.now();
    const v = check(mutant.bytes);
    const ms = performance.now() - t0;
    if (ms > stats.slowest.ms) stats.slowest = { index: i, ms, bytes: mutant.bytes.length };
    stats.count++;
    for (const framing of FRAMINGS) {
      const o = v[framing];
      if (o === 'parsed') stats.parsed[framing]++;
      else stats.refused[framing].set(o, (stats.refused[framing].get(o) ?? 0) + 1);
    }
    if (v.problems.length > 0) {
      stats.failed++;
      if (stats.failures.length < keep) stats.failures.push({ index: i, mutant, problems: v.problems });
    }
    if (opts.onProgress !== undefined && (i + 1) % (opts.progressEvery ?? 100_000) === 0) opts.onProgress(i + 1, stats);
  }
  return stats;
}

/** A failure, written so it can be reproduced. */
export function formatFailure(seed: number, f: Failure): string {
  return [
    `seed ${seed}, iteration ${f.index} (from ${f.mutant.seed} by ${f.mutant.ops.join(' + ') || 'no mutation'}, ${f.mutant.bytes.length} bytes)`,
    ...f.problems.map((p) => `  - ${p}`),
    `  message: ${escapeBytes(f.mutant.bytes)}`,
    `  reproduce: SIP_FUZZ_SEED=${seed} node test/dist/bench/fuzz.js --index ${f.index}`,
  ].join('\n');
}

/** Parses a seed given as decimal or 0x hex. */
export function parseSeed(text: string | undefined, fallback: number): number {
  if (text === undefined || text.trim() === '') return fallback;
  const n = Number(text.trim());
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new Error(`bad fuzz seed ${JSON.stringify(text)}: want an integer in [0, 2^32)`);
  return n;
}

export function parseCount(text: string | undefined, fallback: number): number {
  if (text === undefined || text.trim() === '') return fallback;
  const n = Number(text.trim().replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 1) throw new Error(`bad fuzz count ${JSON.stringify(text)}: want a positive integer`);
  return n;
}
