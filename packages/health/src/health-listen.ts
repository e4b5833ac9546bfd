/** Where a process serves its health endpoints. */
export interface HealthListen {
  host: string;
  port: number;
}

export const DEFAULT_HEALTH_HOST = '0.0.0.0';

export type HealthListenResult = { ok: true; listen: HealthListen | undefined } | { ok: false; message: string };

/**
 * The health listener of a process configured by environment only (the CDR page): SWITCHBOARD_HEALTH_PORT
 * turns it on, SWITCHBOARD_HEALTH_HOST moves it. The processes with a configuration file read the
 * same variables as overrides of its `health` section.
 */
export function healthListenFromEnv(env: NodeJS.ProcessEnv): HealthListenResult {
  const portText = env.SWITCHBOARD_HEALTH_PORT?.trim() ?? '';
  const host = env.SWITCHBOARD_HEALTH_HOST?.trim() || DEFAULT_HEALTH_HOST;
  if (portText === '') return { ok: true, listen: undefined };
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) return { ok: false, message: `SWITCHBOARD_HEALTH_PORT: expected a port (0-65535), got ${JSON.stringify(portText)}` };
  return { ok: true, listen: { host, port } };
}
