import { fileURLToPath } from 'node:url';

/** The repository root, from a compiled file under test/dist/. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const corpusDir = fileURLToPath(new URL('../../../test/conformance/rfc4475/', import.meta.url));
