// The architecture's rules as checks over a repository's files (STYLE.md: "one package, one
// face", pure packages, files short enough to read). Each check takes the repository root, so
// a test can run it on a small fixture tree and see it fail, and returns what breaks the rule.
// Imports are read with TypeScript's own pre-processor (the scanner, no type checking): it
// knows comments and strings from imports, and sees `import type` and dynamic `import()` too.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** A workspace package: its directory (relative to the root, `/`-separated) and package.json. */
interface WorkspacePackage {
  dir: string;
  name: string;
  dependsOn: string[];
  /** The subpaths its `exports` offer (`.`, `./testing`…): the only ways in from outside. */
  entries: Set<string>;
}

/**
 * A cycle: the files (or packages) of one strongly connected component, one loop through
 * them, and every import inside it (any of these may be the one to cut).
 */
export interface Cycle {
  members: string[];
  loop: string[];
  edges: Record<string, string[]>;
}

export interface ImportViolation {
  file: string;
  specifier: string;
}

export interface LongFile {
  file: string;
  lines: number;
}

export const MAX_LINES = 500;

/** The packages that do no I/O and know nothing of the cluster: parse, state machines, routing decisions. */
export const PURE_PACKAGES = ['@switchboard/sip', '@switchboard/transactions', '@switchboard/trunking'];

/** What a pure package must not import: sockets, files, HTTP, NATS, the actor system, the logger, the config loader. */
const IMPURE = [/^(node:)?(net|dgram|fs|http)(\/|$)/, /^@nats-io\//, /^nact(\/|$)/, /^pino(\/|$)/, /^@switchboard\/config(\/|$)/];

const SCOPE = '@switchboard/';

function toPosix(path: string): string {
  return path.split(sep).join('/');
}

function isTestFile(path: string): boolean {
  return /\.test\.(ts|mts|tsx)$/.test(path);
}

function isSource(path: string): boolean {
  return /\.(ts|mts|tsx)$/.test(path) && !path.endsWith('.d.ts');
}

/** Every file under `dir` (relative to `root`), leaving out build output and installed packages. */
function walk(root: string, dir: string): string[] {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  const out: string[] = [];
  for (const name of readdirSync(abs).sort()) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = `${dir}/${name}`;
    if (statSync(join(root, path)).isDirectory()) out.push(...walk(root, path));
    else out.push(path);
  }
  return out;
}

function read(root: string, path: string): string {
  return readFileSync(join(root, path), 'utf8');
}

export function importsOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** The workspace's packages: `packages/*` and `test`, as pnpm-workspace.yaml lists them. */
export function workspacePackages(root: string): WorkspacePackage[] {
  const dirs = existsSync(join(root, 'packages')) ? readdirSync(join(root, 'packages')).sort().map((d) => `packages/${d}`) : [];
  dirs.push('test');
  const out: WorkspacePackage[] = [];
  for (const dir of dirs) {
    const file = join(root, dir, 'package.json');
    if (!existsSync(file)) continue;
    const json = JSON.parse(readFileSync(file, 'utf8')) as {
      name?: string; exports?: unknown;
      dependencies?: Record<string, string>; devDependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>; optionalDependencies?: Record<string, string>;
    };
    const dependsOn = Object.keys({ ...json.dependencies, ...json.devDependencies, ...json.peerDependencies, ...json.optionalDependencies }).sort();
    const exportsField = json.exports;
    const entries = new Set<string>(
      typeof exportsField === 'object' && exportsField !== null && Object.keys(exportsField).every((k) => k.startsWith('.')) ? Object.keys(exportsField) : ['.'],
    );
    out.push({ dir, name: json.name ?? dir, dependsOn, entries });
  }
  return out;
}

/** Tarjan's strongly connected components; the ones that are cycles (more than one node, or a node importing itself). */
export function cyclesOf(graph: ReadonlyMap<string, readonly string[]>): Cycle[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (;;) {
      const w = stack.pop();
      if (w === undefined) break;
      onStack.delete(w);
      component.push(w);
      if (w === v) break;
    }
    components.push(component.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return components
    .filter((c) => c.length > 1 || (graph.get(c[0] ?? '') ?? []).includes(c[0] ?? ''))
    .map((members) => ({ members, loop: loopThrough(graph, members), edges: edgesWithin(graph, members) }))
    .sort((a, b) => (a.members[0] ?? '').localeCompare(b.members[0] ?? ''));
}

function edgesWithin(graph: ReadonlyMap<string, readonly string[]>, members: string[]): Record<string, string[]> {
  const inside = new Set(members);
  return Object.fromEntries(members.map((m) => [m, (graph.get(m) ?? []).filter((w) => inside.has(w)).sort()]));
}

/** The shortest way from a component's first node back to itself, inside the component: one cycle a reader can follow. */
function loopThrough(graph: ReadonlyMap<string, readonly string[]>, members: string[]): string[] {
  const start = members[0] ?? '';
  const inside = new Set(members);
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift() ?? '';
    for (const w of graph.get(v) ?? []) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const loop = [start];
        for (let at: string | undefined = v; at !== undefined && at !== start; at = cameFrom.get(at)) loop.splice(1, 0, at);
        return [...loop, start];
      }
      if (!cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  return members;
}

/** Where a relative specifier of `from` leads, as a file of `files` (`./x.js` is `./x.ts` before the build). */
function resolveRelative(from: string, specifier: string, files: ReadonlySet<string>): string | undefined {
  const base = toPosix(join(dirname(from), specifier));
  const candidates = [base, base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.tsx'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`, `${base}/index.ts`];
  return candidates.find((c) => files.has(c));
}

/** Check 1: import cycles among each package's source files (relative imports, type-only ones too; tests left out). */
export function sourceImportCycles(root: string): Cycle[] {
  const files = workspacePackages(root)
    .filter((p) => p.dir.startsWith('packages/'))
    .flatMap((p) => walk(root, `${p.dir}/src`))
    .filter((f) => isSource(f) && !isTestFile(f));
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = importsOf(read(root, file))
      .filter((s) => s.startsWith('./') || s.startsWith('../'))
      .map((s) => resolveRelative(file, s, known))
      .filter((t): t is string => t !== undefined);
    graph.set(file, [...new Set(targets)]);
  }
  return cyclesOf(graph);
}

/** Check 2a: cycles among the workspace packages, by their package.json dependencies on each other. */
export function packageCycles(root: string): Cycle[] {
  const packages = workspacePackages(root);
  const names = new Set(packages.map((p) => p.name));
  return cyclesOf(new Map(packages.map((p) => [p.name, p.dependsOn.filter((d) => names.has(d))])));
}

/**
 * Check 2b: imports that reach into another package instead of through its face — a subpath
 * its `exports` do not offer (`@switchboard/x/src/...`), or a relative path leaving the package.
 */
export function deepImports(root: string): ImportViolation[] {
  const packages = workspacePackages(root);
  const byName = new Map(packages.map((p) => [p.name, p]));
  const out: ImportViolation[] = [];
  for (const pkg of packages) {
    const home = resolve(root, pkg.dir);
    for (const file of walk(root, pkg.dir).filter(isSource)) {
      for (const specifier of importsOf(read(root, file))) {
        if (specifier.startsWith('./') || specifier.startsWith('../')) {
          const target = resolve(root, dirname(file), specifier);
          if (relative(home, target).startsWith('..')) out.push({ file, specifier });
        } else if (specifier.startsWith(SCOPE)) {
          const [scope, name, ...rest] = specifier.split('/');
          const target = byName.get(`${scope}/${name}`);
          const entry = rest.length === 0 ? '.' : `./${rest.join('/')}`;
          if (target !== undefined && target !== pkg && !target.entries.has(entry)) out.push({ file, specifier });
        }
      }
    }
  }
  return out;
}

function lineCount(text: string): number {
  if (text.length === 0) return 0;
  const newlines = text.split('\n').length - 1;
  return text.endsWith('\n') ? newlines : newlines + 1;
}

/** A comment in the first 5 lines saying why the file is long: `// over 500 lines: <reason>`. */
function mayBeLong(text: string): boolean {
  return text.split('\n', 5).some((line) => /^\s*(\/\/|\/\*|\*).*over 500 lines:\s*\S/i.test(line));
}

/** Check 3: files in packages/*\/src over MAX_LINES lines that do not say why. */
export function longFiles(root: string): LongFile[] {
  const out: LongFile[] = [];
  for (const pkg of workspacePackages(root).filter((p) => p.dir.startsWith('packages/'))) {
    for (const file of walk(root, `${pkg.dir}/src`)) {
      const text = read(root, file);
      const lines = lineCount(text);
      if (lines > MAX_LINES && !mayBeLong(text)) out.push({ file, lines });
    }
  }
  return out;
}

/** Check 4: imports of I/O, NATS, the actor system, the logger or the config loader in a pure package's source (tests may use them). */
export function impureImports(root: string): ImportViolation[] {
  const out: ImportViolation[] = [];
  for (const pkg of workspacePackages(root).filter((p) => PURE_PACKAGES.includes(p.name))) {
    for (const file of walk(root, `${pkg.dir}/src`).filter((f) => isSource(f) && !isTestFile(f))) {
      for (const specifier of importsOf(read(root, file))) {
        if (IMPURE.some((rule) => rule.test(specifier))) out.push({ file, specifier });
      }
    }
  }
  return out;
}
