#!/usr/bin/env node
// The `switchboard` command as pnpm links it (`pnpm exec switchboard …`). This file is committed
// and the build's dist/main.js is not: pnpm links a workspace bin only when its target exists at
// install time, which on a fresh clone comes before the first build, so the bin points here and
// this loads the build when it runs.
import module from 'node:module';

// Node 22.1+ keeps the compiled code of the modules below between runs, a faster start of every
// command (issue 20); Node 20 has no such cache for ES modules, so there this does nothing.
module.enableCompileCache?.();
try {
  await import('../dist/main.js');
} catch (error) {
  const missing = error instanceof Error && 'code' in error && error.code === 'ERR_MODULE_NOT_FOUND' && /dist[\\/]main\.js/.test(error.message);
  if (!missing) throw error;
  process.stderr.write('switchboard: the CLI is not built yet: run `pnpm turbo run build` (./scripts/start does) and try again\n');
  process.exitCode = 5;
}
