import { ConfigError } from './config-error.js';

/** `--config <file>`, else SWITCHBOARD_CONFIG, else the repository's example. */
export function configFileFromArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  const i = argv.indexOf('--config');
  return (i !== -1 ? argv[i + 1] : undefined) ?? env.SWITCHBOARD_CONFIG ?? 'config/switchboard.yaml';
}

/** Loads a process's configuration; a ConfigError stops the process (exit 78, EX_CONFIG) naming file and field. */
export function loadConfigOrExit<T>(program: string, load: (file: string) => T, argv: readonly string[] = process.argv.slice(2)): T {
  try {
    return load(configFileFromArgs(argv));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${program}: bad configuration: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}
