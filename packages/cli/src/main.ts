#!/usr/bin/env node
// switchboard: the operator's command line (`switchboard --help`).
import { runCli } from './program.js';

// `switchboard cdr ls | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});

const code = await runCli(process.argv.slice(2), {
  io: { out: (text) => void process.stdout.write(text), err: (text) => void process.stderr.write(text) },
  now: () => Date.now(),
  // once: a second Ctrl-C finds no listener and ends the process the usual way
  onInterrupt: (handler) => {
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  },
  terminal: process.stdout.isTTY === true,
});
process.exitCode = code;
// The NATS connection is closed by now; should anything still hold the event loop, exit anyway
// once stdout has taken everything (a slow pipe such as `less` must not lose the end of a listing).
process.stdout.write('', () => setTimeout(() => process.exit(code), 500).unref());
