// The admin commands ask the cluster through one AdminClient on one NATS connection; an error
// answer becomes the exit code that means the same thing to a script.
import type { NatsConnection } from '@nats-io/nats-core';
import { AdminCallError, AdminClient, AdminErrors } from '@switchboard/admin/client';
import type { Command } from 'commander';
import { CliError, type Failure } from './exit-codes.js';
import { natsTargetOf } from './global-options.js';
import { withNats } from './nats-connection.js';

/** What an admin error code means for the exit code: the services framework's codes are HTTP-like. */
export function failureOf(code: number): Failure {
  switch (code) {
    case AdminErrors.notFound:
      return 'not-found';
    case AdminErrors.unavailable:
      return 'unavailable';
    case AdminErrors.badRequest:
    case AdminErrors.conflict:
    case AdminErrors.refused:
      return 'refused';
    case AdminErrors.internal:
      return 'internal';
    default:
      // a code added on the workers' side before this CLI knew it: its class still says whose fault it is
      return code >= 400 && code < 500 ? 'refused' : 'internal';
  }
}

/** An error answer as the CLI reports it; a 400 says that the cluster refused what (`what`). */
export function asCliError(error: AdminCallError, what = 'the request'): CliError {
  const prefix = error.code === AdminErrors.badRequest ? `the cluster refused ${what}: ` : '';
  return new CliError(failureOf(error.code), prefix + error.message);
}

/** The live workers' ids, as the client finds them (`findLiveWorkers`) on the command's connection. */
export type LiveWorkerIds = () => Promise<string[]>;

/**
 * Connects, runs `work` with a client bounded by `--timeout` (and the way to find the live
 * workers), closes; an unhandled error answer becomes a CliError.
 */
export async function withAdmin<T>(command: Command, work: (client: AdminClient, nc: NatsConnection, liveWorkers: LiveWorkerIds) => Promise<T>): Promise<T> {
  const target = natsTargetOf(command);
  try {
    return await withNats(target, (nc) => {
      const client = new AdminClient(nc, target.timeoutMs);
      return work(client, nc, async () => (await client.liveWorkers()).workers.map((w) => w.id));
    });
  } catch (error) {
    if (error instanceof AdminCallError) throw asCliError(error);
    throw error;
  }
}
