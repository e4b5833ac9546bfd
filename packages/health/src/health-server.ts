import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventLoopWatch } from './event-loop-watch.js';
import type { HealthListen } from './health-listen.js';

/** One condition of readiness: undefined when met, else the reason the process is not ready (`nats disconnected`, `draining`, `starting`). */
export type ReadinessCheck = () => string | undefined;

export interface HealthAnswer {
  status: number;
  body: string;
}

/** A process's own endpoint beside /livez and /readyz (the worker's POST /drain). */
export interface HealthRoute {
  method: 'GET' | 'POST';
  path: string;
  /** Refused (403) unless the request comes from this machine: an action only the pod itself may ask for. */
  loopbackOnly: boolean;
  handle(query: URLSearchParams): Promise<HealthAnswer>;
}

export interface HealthServerOptions {
  /** Default: a watch of this process's loop (5 s threshold), started with the server and stopped with it. */
  loop?: Pick<EventLoopWatch, 'blockedFor' | 'blockedMs'>;
  /** In order; every unmet one is named in the 503. */
  readiness: readonly ReadinessCheck[];
  routes?: readonly HealthRoute[];
}

/** How long close() lets an answer in flight (a drain that just ended) reach its caller. */
const CLOSE_GRACE_MS = 1_000;

/** 127.0.0.0/8 and ::1, as a dual-stack socket may also show them (`::ffff:127.0.0.1`). */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/**
 * The health listener an orchestrator probes. /livez and /readyz are kept apart on purpose: a
 * draining or cut-off process is unready (no new work is sent its way) but live (it is not
 * restarted, which would drop the calls it still carries).
 */
export class HealthServer {
  private readonly server: Server;
  private readonly loop: Pick<EventLoopWatch, 'blockedFor' | 'blockedMs'>;
  /** The watch this server made itself, and so starts and stops. */
  private readonly ownLoop: EventLoopWatch | undefined;

  constructor(private readonly options: HealthServerOptions) {
    this.server = createServer((req, res) => void this.serve(req, res));
    if (options.loop === undefined) {
      this.ownLoop = new EventLoopWatch();
      this.loop = this.ownLoop;
    } else {
      this.ownLoop = undefined;
      this.loop = options.loop;
    }
  }

  /** The reasons the process is not ready; empty when it is. */
  unmet(): string[] {
    const reasons: string[] = [];
    for (const check of this.options.readiness) {
      const reason = check();
      if (reason !== undefined) reasons.push(reason);
    }
    return reasons;
  }

  async listen(listen: HealthListen): Promise<HealthListen> {
    this.ownLoop?.start();
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(listen.port, listen.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const bound: AddressInfo | string | null = this.server.address();
    if (bound === null || typeof bound === 'string') throw new Error(`health listener bound to ${String(bound)}, not a TCP port`);
    return { host: bound.address, port: bound.port };
  }

  /** Stops listening; an answer still being written gets a moment to go out. */
  async close(): Promise<void> {
    this.ownLoop?.stop();
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    await Promise.race([closed, new Promise((r) => setTimeout(r, CLOSE_GRACE_MS).unref())]);
    this.server.closeAllConnections();
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://health');
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    let answer: HealthAnswer;
    try {
      answer = await this.answer(method ?? 'GET', url, req.socket.remoteAddress);
    } catch (err) {
      answer = { status: 500, body: err instanceof Error ? err.message : String(err) };
    }
    res.writeHead(answer.status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : `${answer.body}\n`);
  }

  private async answer(method: string, url: URL, from: string | undefined): Promise<HealthAnswer> {
    if (url.pathname === '/livez' || url.pathname === '/readyz') {
      if (method !== 'GET') return { status: 405, body: 'GET only' };
      return url.pathname === '/livez' ? this.livez() : this.readyz();
    }
    const route = this.options.routes?.find((r) => r.path === url.pathname);
    if (route === undefined) return { status: 404, body: 'not found: /livez, /readyz' };
    if (route.method !== method) return { status: 405, body: `${route.method} only` };
    if (route.loopbackOnly && !isLoopback(from)) return { status: 403, body: `${route.path} is accepted from this machine only` };
    return route.handle(url.searchParams);
  }

  private livez(): HealthAnswer {
    const blocked = this.loop.blockedFor();
    return blocked < this.loop.blockedMs ? { status: 200, body: 'ok' } : { status: 503, body: `event loop blocked for ${Math.round(blocked)} ms` };
  }

  private readyz(): HealthAnswer {
    const unmet = this.unmet();
    return unmet.length === 0 ? { status: 200, body: 'ready' } : { status: 503, body: unmet.join(', ') };
  }
}

/** The health listener `listen` asks for, listening, and where it listens; none when `listen` is absent (the local default). */
export async function serveHealth(listen: HealthListen | undefined, options: HealthServerOptions): Promise<{ server: HealthServer; address: HealthListen } | undefined> {
  if (listen === undefined) return undefined;
  const server = new HealthServer(options);
  return { server, address: await server.listen(listen) };
}
