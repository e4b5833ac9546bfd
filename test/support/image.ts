// What the container image holds, made without a container engine: the Dockerfile's own
// `pnpm … deploy --prod` commands run into a temporary directory, one folder per process as under
// /app in the image. Made once per test run: the test files of one `node --test` run (its children,
// so they share its pid as their parent) reuse it, and a small detached process removes it once
// that run is over, so no run leaves ~80 MB behind in the temporary directory.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export const DOCKERFILE = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');

export interface Deploy {
  /** The workspace package deployed. */
  filter: string;
  /** Its folder under /app in the image. */
  folder: string;
  /** The command's arguments after `pnpm`, output folder excluded. */
  args: string[];
}

/** The Dockerfile's `pnpm … --filter <pkg> deploy … /out/<folder>` commands; its build-cache store left out (the tests use this machine's). */
export function dockerfileDeploys(): Deploy[] {
  const found: Deploy[] = [];
  for (const m of DOCKERFILE.matchAll(/pnpm ((?:\S+ )*?--filter (\S+) deploy (?:\S+ )*?)\/out\/(\S+)/g)) {
    const args = (m[1] ?? '').trim().replace(/--store-dir \S+ ?/, '').split(/\s+/);
    found.push({ filter: m[2] ?? '', folder: m[3] ?? '', args });
  }
  return found;
}

const pnpmVersion = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
/** A skip reason for the suites that need the image content, or false. */
export const noPnpm: false | string = pnpmVersion.status === 0 ? false : 'pnpm is not on PATH: the image content cannot be made here';

const PREFIX = 'switchboard-image-';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Folders of runs that are over (a janitor killed with its run, say). */
function removeFinishedRuns(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(name.slice(PREFIX.length));
    if (name.startsWith(PREFIX) && Number.isInteger(pid) && pid > 0 && !alive(pid)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

/** A detached process that removes `dir` once `pid` (the test run) is gone. */
function removeWhenGone(pid: number, dir: string): void {
  const script = `const { rmSync } = require('node:fs');
const alive = () => { try { process.kill(${pid}, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
const t = setInterval(() => { if (!alive()) { clearInterval(t); rmSync(${JSON.stringify(dir)}, { recursive: true, force: true }); } }, 1000);`;
  spawn(process.execPath, ['-e', script], { detached: true, stdio: 'ignore' }).unref();
}

/**
 * The folder holding transport/, worker/, cdr-web/ and cli/ as the image's /app holds them. The
 * first caller of a run deploys (about 7 s); a caller meanwhile waits for it; later ones reuse it.
 */
export async function imageContent(): Promise<string> {
  const run = process.ppid;
  const dir = join(tmpdir(), `${PREFIX}${run}`);
  const done = join(dir, '.done');
  removeFinishedRuns();
  if (existsSync(done)) return dir;
  try {
    mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // another file of this run is deploying
    for (let i = 0; i < 1200 && !existsSync(done); i++) await sleep(100);
    if (!existsSync(done)) throw new Error(`${dir}: the deploy of another test file did not finish`);
    return dir;
  }
  removeWhenGone(run, dir);
  for (const d of dockerfileDeploys()) {
    const out = join(dir, d.folder);
    const result = spawnSync('pnpm', [...d.args, out], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
    if (result.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`pnpm ${d.args.join(' ')} ${out}:\n${result.stdout}\n${result.stderr}`);
    }
  }
  writeFileSync(done, '');
  return dir;
}
