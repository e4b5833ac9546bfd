// Which workers are live, for whoever asks every worker (the CLI's `workers ls`, `calls ls`,
// `stats`) or must find the one holding a call (`AdminClient`). Services discovery ($SRV.PING) alone cannot tell when every worker has answered,
// so it gathers for a fixed 1 s; the workers' heartbeats (sb.workers.heartbeat), as a transport
// node's directory holds them, say which workers to expect, so discovery can stop as soon as
// each of them has answered — a few milliseconds on a local cluster.
import { NoRespondersError, type Msg, type NatsConnection } from '@nats-io/nats-core';
import { decodeMap, HEARTBEAT_INTERVAL_MS, Subjects, WORKER_SERVICE } from '@switchboard/wire';

/** How long discovery gathers answers when nothing says which workers to expect. */
export const DISCOVERY_WAIT_MS = 1_000;
/** The transport node's directory is asked for no longer than this: past it, discovery decides alone. */
const DIRECTORY_WAIT_MS = 250;
/**
 * A transport node younger than this may not have heard every worker's heartbeat yet (one a
 * second), so its directory could name too few: it is not trusted to end discovery early.
 */
const DIRECTORY_SETTLED_MS = 2 * HEARTBEAT_INTERVAL_MS;

/** A worker as it answers discovery. */
export interface WorkerIdentity {
  id: string;
  version: string;
  /** The services framework's instance id of the worker's service. */
  instance: string;
}

export interface LiveWorkers {
  /** The workers that answered discovery, sorted by id. */
  workers: WorkerIdentity[];
  /**
   * `heartbeats`: discovery ended once every worker of the directory had answered;
   * `discovery`: it gathered for its whole wait (no directory, or one that disagreed).
   */
  via: 'heartbeats' | 'discovery';
}

/**
 * The live workers: those that answer discovery. A worker the directory still lists but that
 * no longer answers (it died less than 3 heartbeats ago, HEARTBEATS_MISSED_TO_DROP) leaves
 * discovery to its full wait, so such a worker is left out instead of timing out a request.
 */
export async function findLiveWorkers(nc: NatsConnection, opts: { timeoutMs: number; discoveryWaitMs?: number }): Promise<LiveWorkers> {
  const found = new Map<string, WorkerIdentity>();
  let expected: ReadonlySet<string> | undefined;
  const discovery = await nc.requestMany(`$SRV.PING.${WORKER_SERVICE}`, '', {
    strategy: 'timer', maxWait: Math.min(opts.timeoutMs, opts.discoveryWaitMs ?? DISCOVERY_WAIT_MS),
  });
  let endedEarly = false;
  let complete = () => {};
  const completed = new Promise<undefined>((resolve) => (complete = () => resolve(undefined)));
  const endIfComplete = () => {
    if (endedEarly || expected === undefined || ![...expected].every((id) => found.has(id))) return;
    endedEarly = true;
    complete();
  };
  void heardWorkers(nc, Math.min(opts.timeoutMs, DIRECTORY_WAIT_MS)).then((heard) => {
    expected = heard;
    endIfComplete();
  });
  const answers = discovery[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await Promise.race([answers.next(), completed]);
      if (next === undefined || next.done === true) break;
      const worker = workerOf(next.value.data);
      if (worker !== undefined) found.set(worker.id, worker);
      endIfComplete();
    }
  } catch (error) {
    // no worker subscribed at all: NATS says so at once, and the caller reports "no worker"
    if (!(error instanceof NoRespondersError)) throw error;
  } finally {
    // ends the gathering (its subscription and timer) when it stopped early; return() alone would
    // wait behind the pending next(), i.e. for the whole wait (async generators queue requests)
    if (stoppable(discovery)) discovery.stop();
    else void answers.return?.();
  }
  return { workers: [...found.values()].sort((a, b) => a.id.localeCompare(b.id)), via: endedEarly ? 'heartbeats' : 'discovery' };
}

/** nats.js's iterators can be stopped from outside (QueuedIterator), which the type it declares does not say. */
function stoppable(answers: AsyncIterable<Msg>): answers is AsyncIterable<Msg> & { stop(): void } {
  return 'stop' in answers && typeof answers.stop === 'function';
}

/** The worker of a discovery answer (its id is the `worker` metadata of the worker's service). */
function workerOf(data: Uint8Array): WorkerIdentity | undefined {
  try {
    const ping = JSON.parse(new TextDecoder().decode(data)) as { id?: unknown; version?: unknown; metadata?: { worker?: unknown } };
    const id = ping.metadata?.worker;
    if (typeof id !== 'string') return undefined;
    return { id, version: typeof ping.version === 'string' ? ping.version : '', instance: typeof ping.id === 'string' ? ping.id : '' };
  } catch {
    return undefined;
  }
}

/**
 * The workers a transport node has heard heartbeat (its stats, `sb.transport.stats`; the first
 * node to answer speaks for all, since every node hears the same heartbeats), or undefined when
 * no node answers in time, has run too briefly to have heard every worker, or has heard none.
 */
async function heardWorkers(nc: NatsConnection, waitMs: number): Promise<ReadonlySet<string> | undefined> {
  try {
    const reply = await nc.request(Subjects.transportStatsAll, '', { timeout: waitMs });
    return directoryOf(decodeMap(reply.data));
  } catch {
    return undefined;
  }
}

/** The directory in a transport node's stats, when it can be trusted to name every live worker. */
export function directoryOf(stats: unknown): ReadonlySet<string> | undefined {
  if (typeof stats !== 'object' || stats === null) return undefined;
  const { uptimeMs, workers, nats } = stats as { uptimeMs?: unknown; workers?: unknown; nats?: { connected?: unknown } };
  if (typeof uptimeMs !== 'number' || uptimeMs < DIRECTORY_SETTLED_MS || !Array.isArray(workers)) return undefined;
  // a node cut off from NATS keeps every worker it knew (its directory stops expiring them)
  if (nats?.connected === false) return undefined;
  const ids = new Set<string>();
  for (const w of workers as unknown[]) {
    const id = typeof w === 'object' && w !== null ? (w as { workerId?: unknown }).workerId : undefined;
    if (typeof id === 'string') ids.add(id);
  }
  return ids.size === 0 ? undefined : ids;
}

