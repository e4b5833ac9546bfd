// The loader hooks of module-trace.ts (they run on node's hooks thread).
import { appendFileSync } from 'node:fs';
import type { InitializeHook, ResolveHook } from 'node:module';

let traceFile: string | undefined;

export const initialize: InitializeHook<{ file: string }> = (data) => {
  traceFile = data.file;
};

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  const resolved = await nextResolve(specifier, context);
  // synchronous: the trace is whole when the traced process exits, however it ends
  if (traceFile !== undefined && resolved.url.startsWith('file:')) appendFileSync(traceFile, `${resolved.url}\n`);
  return resolved;
};
