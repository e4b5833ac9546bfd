/**
 * Why a command failed, and the exit code each reason maps to. Scripts branch on the code, so a
 * code keeps its meaning across releases; a new reason gets a new number.
 */
export type Failure = 'usage' | 'not-found' | 'unavailable' | 'refused' | 'internal';

export const EXIT_CODES: Readonly<Record<'ok' | Failure, number>> = {
  ok: 0,
  usage: 1,
  'not-found': 2,
  unavailable: 3,
  refused: 4,
  internal: 5,
};

const MEANINGS: Readonly<Record<'ok' | Failure, string>> = {
  ok: 'ok',
  usage: 'usage: an unknown command or option, a bad option value',
  'not-found': 'not found: no such record, call, worker or trunk',
  unavailable: 'unavailable: NATS unreachable or refused us, no worker, or no answer in time',
  refused: 'refused: the cluster refused the request (invalid, changed meanwhile, or not possible now)',
  internal: 'internal: the cluster failed to answer',
};

/** The help epilogue of every command: one place lists what each exit code means. */
export function exitCodesHelp(): string {
  const lines = (Object.keys(EXIT_CODES) as ('ok' | Failure)[]).map((key) => `  ${EXIT_CODES[key]}  ${MEANINGS[key]}`);
  return `\nExit codes:\n${lines.join('\n')}\n`;
}

/** A failure a command reports: `message` goes to stderr, `failure` picks the exit code. */
export class CliError extends Error {
  constructor(
    readonly failure: Failure,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }

  get exitCode(): number {
    return EXIT_CODES[this.failure];
  }
}
