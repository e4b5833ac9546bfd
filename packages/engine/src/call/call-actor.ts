import { NameAddr, SipUri, type SipRequest } from '@switchboard/sip';
import { newRoutingScope } from '@switchboard/wire';
import type { Logger } from 'pino';
import type { ActorBehaviour, ActorRef } from '../kernel/actor-kernel.js';
import type { EngineContext } from '../engine-context.js';
import type { Destination } from '../sip-link.js';
import type { CallMessage, LegName } from './call-messages.js';
import { LegActor, type LegMessage } from './leg-actor.js';

type CallState = 'routing' | 'early' | 'answered' | 'confirmed' | 'ending' | 'ended';

/**
 * A call: the B2BUA bridge between the leg that came in (a, UAS) and the leg the engine
 * placed (b, UAC). Each leg has its own Call-ID, tags, CSeq and Via, so neither side sees
 * the other's addresses (topology hiding); SDP is relayed unchanged.
 */
export class CallActor implements ActorBehaviour<CallMessage> {
  readonly actorId: string;
  private state: CallState = 'routing';
  private readonly legs = new Map<LegName, { actor: LegActor; ref: ActorRef<LegMessage> }>();
  /** Relayed in-dialog requests: token on the receiving leg → the leg that waits for the answer. */
  private relaysTable: Map<string, { from: LegName; token: string }> | undefined;
  private get relays(): Map<string, { from: LegName; token: string }> {
    return (this.relaysTable ??= new Map());
  }
  private relayCount = 0;
  private self!: ActorRef<CallMessage>;
  private logContext: Record<string, unknown>;
  private logger: Logger | undefined;

  constructor(
    private readonly ctx: EngineContext,
    readonly callId: string,
  ) {
    this.actorId = `call-${callId}`;
    this.logContext = { call: callId };
  }

  /** Created on first use, like the legs' (see LegActor.log). */
  private get log(): Logger {
    return (this.logger ??= this.ctx.log.child(this.logContext));
  }

  /** Spawns the call and its incoming leg for `invite`, received from `from`. */
  static start(ctx: EngineContext, invite: SipRequest, from: Destination): CallActor {
    const callId = newRoutingScope();
    const call = new CallActor(ctx, callId);
    call.self = ctx.kernel.spawn(call.actorId, call);
    ctx.calls.add(callId);
    const h = invite.headers;
    call.logContext = { call: callId, callId: h.callId };
    if (ctx.log.isLevelEnabled('debug')) call.log.debug({ event: 'call-started', from: h.from?.uri.toString(), to: invite.uri.toString() }, 'call started');
    const a = new LegActor(ctx, newRoutingScope(), 'a', 'uas', call.self, h.callId ?? '', h.to ?? new NameAddr(invite.uri), h.from ?? new NameAddr(invite.uri), from, invite.uri);
    call.attach(a);
    a.acceptInvite(invite);
    const refusal = call.refusal(invite);
    if (refusal !== undefined) {
      call.state = 'ending';
      call.tell('a', { type: 'answer', ...refusal });
    } else call.route(invite, from);
    return call;
  }

  /** What refuses the INVITE before any leg is placed. */
  private refusal(invite: SipRequest): { status: number; reason?: string; headers?: [string, string][] } | undefined {
    if (invite.headers.maxForwards === 0) return { status: 483 }; // §16.3 / §8.2: no hops left
    const se = invite.headers.sessionExpires;
    const minSE = this.ctx.sessionTimers.minSE;
    // RFC 4028 §8.1: a Session-Expires below our minimum is refused with 422 and our Min-SE
    if (se !== undefined && se.seconds < minSE) return { status: 422, headers: [['Min-SE', String(minSE)]] };
    return undefined;
  }

  private attach(leg: LegActor): void {
    leg.logContext = { ...this.logContext, leg: leg.name, legCallId: leg.callId };
    const ref = this.ctx.kernel.spawn(leg.actorId, leg);
    leg.self = ref;
    this.legs.set(leg.name, { actor: leg, ref });
  }

  /** Places the outgoing leg to the next hop (issue 6 replaces this with trunk routing). */
  private route(invite: SipRequest, from: Destination): void {
    const hop = this.ctx.nextHop;
    const ruri = invite.uri instanceof SipUri ? invite.uri : undefined;
    const user = ruri?.user;
    const target = new SipUri({ user, host: hop.host, port: hop.port, params: hop.protocol === 'tcp' ? [{ name: 'transport', value: 'tcp' }] : [] });
    const fromUser = invite.headers.from?.uri instanceof SipUri ? invite.headers.from.uri.user : undefined;
    const peer: Destination = { protocol: hop.protocol, address: hop.host, port: hop.port, nodeId: from.nodeId, localAddress: from.localAddress, localPort: from.localPort };
    const local = new NameAddr(new SipUri({ user: fromUser, host: from.localAddress }), invite.headers.from?.displayName);
    const b = new LegActor(this.ctx, newRoutingScope(), 'b', 'uac', this.self, `${newRoutingScope()}${newRoutingScope()}@${this.ctx.workerId}`, local, new NameAddr(target), peer, target);
    this.attach(b);
    const maxForwards = Math.max(0, (invite.headers.maxForwards ?? 70) - 1);
    b.placeInvite(target, invite.body.length > 0 ? invite.body : undefined, invite.headers.get('content-type'), [], maxForwards);
    this.state = 'early';
  }

  receive(m: CallMessage): void {
    const other: LegName = m.leg === 'a' ? 'b' : 'a';
    switch (m.type) {
      case 'provisional':
        if (m.leg === 'b' && this.state === 'early') {
          this.tell('a', { type: 'answer', status: m.status, reason: m.reason, ...(m.body.length > 0 ? { body: m.body, contentType: m.contentType } : {}) });
        }
        return;
      case 'answered':
        if (m.leg === 'b') {
          if (this.state === 'ending') {
            this.tell('b', { type: 'hangup' }); // answered after the caller gave up: release it
            return;
          }
          this.state = 'answered';
          this.tell('a', { type: 'answer', status: 200, ...(m.body.length > 0 ? { body: m.body, contentType: m.contentType } : {}) });
        }
        return;
      case 'confirmed':
        if (m.leg === 'a' && this.state === 'answered') this.state = 'confirmed';
        return;
      case 'failed':
        if (m.leg === 'b' && this.state === 'early') {
          this.state = 'ending';
          this.tell('a', { type: 'hangup', status: m.status, reason: m.reason });
        } else this.endBoth(other);
        return;
      case 'cancelled':
        this.state = 'ending';
        this.tell('b', { type: 'hangup' });
        return;
      case 'bye':
        this.endBoth(other);
        return;
      case 'request': {
        const token = `r${++this.relayCount}`;
        this.relays.set(token, { from: m.leg, token: m.token });
        this.tell(other, { type: 'send-request', token, method: m.method, ...(m.body.length > 0 ? { body: m.body, contentType: m.contentType } : {}) });
        return;
      }
      case 'request-answered': {
        const relay = this.relays.get(m.token);
        if (relay === undefined) return;
        this.relays.delete(m.token);
        if (this.relays.size === 0) this.relaysTable = undefined;
        this.tell(relay.from, { type: 'answer-request', token: relay.token, status: m.status, reason: m.reason, ...(m.body !== undefined && m.body.length > 0 ? { body: m.body, contentType: m.contentType } : {}) });
        return;
      }
      case 'ended':
        this.legs.delete(m.leg);
        if (this.state !== 'ending' && this.state !== 'ended') this.endBoth(other);
        if (this.legs.size === 0) this.stop();
        return;
    }
  }

  private endBoth(other: LegName): void {
    if (this.state === 'ending' || this.state === 'ended') return;
    this.state = 'ending';
    this.tell(other, { type: 'hangup' });
  }

  private tell(leg: LegName, message: LegMessage): void {
    this.legs.get(leg)?.ref.tell(message);
  }

  crashed(error: unknown, message: CallMessage): void {
    this.log.error({ err: error, message: message.type }, 'call actor failed: ending its legs');
    for (const { ref } of this.legs.values()) ref.tell({ type: 'hangup', status: 500, reason: 'Server Internal Error' });
    this.ctx.calls.delete(this.callId);
  }

  private stop(): void {
    if (this.ctx.log.isLevelEnabled('debug')) this.log.debug({ event: 'call-ended' }, 'call ended');
    this.state = 'ended';
    this.ctx.calls.delete(this.callId);
    this.ctx.kernel.stop(this.actorId);
  }

  stopped(): void {
    this.ctx.calls.delete(this.callId);
    this.relays.clear();
  }
}
