/**
 * Where a command writes and what time it is, so a test can run the CLI in-process. The
 * environment is not here: commander reads `process.env` for the options' variables itself.
 */
export interface CliContext {
  io: CliIo;
  now(): number;
  /**
   * Calls `handler` on the operator's first Ctrl-C (SIGINT) or SIGTERM until the returned
   * function is called; a second one ends the process as usual. Only `stats --watch` listens:
   * every other command ends on Ctrl-C at once. Without it, nothing interrupts a watch.
   */
  onInterrupt?(handler: () => void): () => void;
  /** stdout is a terminal: `--watch` redraws the screen instead of appending. */
  terminal?: boolean;
}

export interface CliIo {
  /** The command's result: a table or JSON, nothing else. */
  out(text: string): void;
  /** Errors and notes for the operator, each line prefixed `switchboard: `. */
  err(text: string): void;
}

const PREFIX = 'switchboard: ';

/** One line for stderr. */
export function notice(text: string): string {
  return `${PREFIX}${text}\n`;
}

/** Commander's own error lines start with `error: `; ours all start with the program's name. */
export function asNotice(commanderText: string): string {
  return commanderText.replace(/^error: /, PREFIX);
}
