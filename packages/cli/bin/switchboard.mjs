#!/usr/bin/env node
// The `switchboard` command as pnpm links it (`pnpm exec switchboard …`). This file is committed
// and the build's output is not: pnpm links a workspace bin only when its target exists at
// install time, which on a fresh clone comes before the first build, so the bin points here and
// this loads the build when it runs.
//
// It loads dist/bundle/switchboard.js, the CLI bundled by the build (esbuild, split so that a run
// still loads only its command group): a command starts sooner than from dist/main.js's ~200
// modules (test/bench/cli.ts, issue 20).
import module from 'node:module';

// Node 22.1+ keeps the compiled code between runs; Node 20 has no such cache for ES modules.
module.enableCompileCache?.();
try {
  await import('../dist/bundle/switchboard.js');
} catch (error) {
  const missing = error instanceof Error && 'code' in error && error.code === 'ERR_MODULE_NOT_FOUND' && /dist[\\/]bundle[\\/]switchboard\.js/.test(error.message);
  if (!missing) throw error;
  process.stderr.write('switchboard: the CLI is not built yet: run `pnpm turbo run build` (./scripts/start does) and try again\n');
  process.exitCode = 5;
}
