// @switchboard/config — configuration files that fail loudly, naming the file and the field.
export { ConfigError } from './config-error.js';
export { loadConfig, readConfigFile, validateConfig, applyEnvOverrides, formatPath, type EnvOverride } from './load-config.js';
export { NatsSection, RoutingSection, LogSection, HealthSection, NodeId, CLUSTER_ENV } from './cluster-sections.js';
export { nodeIdFromName } from './node-id-from-name.js';
export { configFileFromArgs, loadConfigOrExit } from './process-config.js';
