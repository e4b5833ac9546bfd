import { loadConfig } from '@switchboard/config';
import { TrunkingConfigSchema, type TrunkingConfig } from '@switchboard/trunking';

/** Reads and validates the trunking file; a problem throws a ConfigError naming the file and the field. */
export function loadTrunkingConfig(file: string): TrunkingConfig {
  return loadConfig(file, TrunkingConfigSchema);
}
