// Mutation fuzzing of the SIP message layer: whatever the bytes, parseMessage returns a
// message or throws SipParseError, what parses survives parse→serialize→parse, and the
// routing fast path agrees with the model. Fixed seed: the same inputs on every run.
//
//   SIP_FUZZ_SEED=123 SIP_FUZZ_COUNT=200000 node --test test/dist/fuzz/
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseMessage } from '@switchboard/sip';
import { formatFailure, mutantSource, parseCount, parseSeed, run, type RunStats } from './harness.js';

const DEFAULT_SEED = 0x3261_4475; // RFC 3261 + RFC 4475
const DEFAULT_COUNT = 50_000;

const seed = parseSeed(process.env['SIP_FUZZ_SEED'], DEFAULT_SEED);
const count = parseCount(process.env['SIP_FUZZ_COUNT'], DEFAULT_COUNT);

function summary(stats: RunStats): string {
  const codes = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c}=${n}`).join(' ');
  return [
    `seed ${stats.seed}, ${stats.count} messages, ${stats.failed} failed`,
    `datagram: parsed ${stats.parsed.datagram}; refused ${codes(stats.refused.datagram)}`,
    `stream: parsed ${stats.parsed.stream}; refused ${codes(stats.refused.stream)}`,
    `slowest: iteration ${stats.slowest.index} (${stats.slowest.bytes} bytes) ${stats.slowest.ms.toFixed(1)} ms`,
  ].join('\n');
}

describe('SIP parser fuzzing', () => {
  test('every seed parses unmutated', () => {
    for (const s of mutantSource().seeds) {
      assert.doesNotThrow(() => parseMessage(s.bytes), s.name);
    }
  });

  // The timeout only turns a hang into a failure; it is far above any normal run.
  test(`${count} mutated messages (seed ${seed})`, { timeout: 15 * 60_000 }, (t) => {
    const stats = run({ seed, count, keep: 5 });
    for (const line of summary(stats).split('\n')) t.diagnostic(line);
    if (stats.failed > 0) {
      assert.fail(
        `${stats.failed} of ${stats.count} mutated messages broke a property (seed ${seed}); the first ${stats.failures.length}:\n` +
          stats.failures.map((f) => formatFailure(seed, f)).join('\n'),
      );
    }
    if (count >= 1_000) {
      // the mutations must reach both sides of the parser, or the run proves little
      for (const framing of ['datagram', 'stream'] as const) {
        const parsed = stats.parsed[framing];
        assert.ok(parsed > count / 100, `${framing}: only ${parsed} of ${count} mutants parsed`);
        assert.ok(count - parsed > count / 100, `${framing}: only ${count - parsed} of ${count} mutants were refused`);
      }
    }
  });
});
