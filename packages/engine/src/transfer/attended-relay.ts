import type { Logger } from 'pino';
import type { EngineContext } from '../context.js';
import type { ActorRef } from '../kernel/actor-kernel.js';
import type { CallMessage, CallState, LegEvent, LegName } from '../protocol/call-messages.js';
import type { LegMessage } from '../protocol/leg-messages.js';
import type { CallSessions } from '../sdp/call-sessions.js';
import type { CallAddress } from '../protocol/bridge-messages.js';
import type { BridgedMessage, CallBridge, RelayedEvent } from '../protocol/call-messages.js';

/** The call holding a replaced dialog, as the relay sees it. */
export interface RelayingCall {
  readonly ctx: EngineContext;
  readonly callId: string;
  readonly self: ActorRef<CallMessage>;
  readonly log: Logger;
  readonly state: CallState;
  readonly sessions: CallSessions;
  readonly transfers: { readonly inProgress: boolean };
  hasLeg(leg: LegName): boolean;
  otherOf(leg: LegName): LegName | undefined;
  tell(leg: LegName, message: LegMessage): void;
  forgetLeg(leg: LegName): void;
  relayTo(relay: AttendedRelay): void;
}

const RELAYED: ReadonlySet<string> = new Set<RelayedEvent['type']>(['provisional', 'failed', 'bye', 'request', 'request-answered', 'ended']);
const isRelayed = (m: LegEvent): m is RelayedEvent => RELAYED.has(m.type);

/**
 * Attended transfer (RFC 3891), on the call that holds the replaced dialog: its far party is
 * handed to the master call (the one that took the REFER, maybe on another worker), where it is
 * leg `remote`; from then on this call only relays that party's events to the master and the
 * master's commands to it, over the call bridge.
 */
export class AttendedRelay {
  private attachTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly call: RelayingCall,
    readonly master: CallAddress,
    /** The far party's leg, handed over. */
    readonly leg: LegName,
  ) {
    this.attachTimer = setTimeout(() => call.self.tell({ type: 'join-unattached' }), call.ctx.joinAttachMs);
  }

  /** A leg of `call` is the dialog a Replaces names: its far party goes to the master, the dialog ends. */
  static handOver(call: RelayingCall, m: Extract<LegEvent, { type: 'join-away' }>): void {
    const far = call.otherOf(m.leg);
    if ((call.state !== 'confirmed' && call.state !== 'answered') || far === undefined || !call.hasLeg(far)) {
      m.replyTo.tell({ ok: false, status: 481, reason: 'Call/Transaction Does Not Exist' });
      return;
    }
    if (call.transfers.inProgress) {
      m.replyTo.tell({ ok: false, status: 491, reason: 'Request Pending' });
      return;
    }
    const sdp = call.sessions.of(far);
    const saw = call.sessions.of(m.leg);
    m.replyTo.tell({
      ok: true, relay: { worker: call.ctx.workerId, call: call.callId },
      ...(sdp === undefined ? {} : { sdp: sdp.body, sdpType: sdp.contentType }), ...(saw === undefined ? {} : { saw: saw.body }),
    });
    call.log.info({ event: 'joined-away', master: m.master }, 'replaced by an attended transfer: relaying the far party');
    call.relayTo(new AttendedRelay(call, m.master, far));
    call.tell(m.leg, { type: 'hangup' }); // RFC 3891 §3: the replaced dialog ends with BYE
  }

  holds(leg: LegName): boolean {
    return leg === this.leg;
  }

  /** The far party's events go to the master call. */
  relayEvent(m: LegEvent): void {
    if (isRelayed(m)) {
      // a REFER's parsed request never crosses: the master refuses a transfer from the far party
      const event: RelayedEvent = m.type === 'request' ? { ...m, request: undefined } : m;
      this.call.ctx.bridge.send(this.master, { to: 'master', event });
    }
    if (m.type === 'ended') this.call.forgetLeg(m.leg);
  }

  /** The master's commands for the far party (and its word that it attached). */
  onCommand(message: Extract<BridgedMessage, { to: 'relay' }>): void {
    clearTimeout(this.attachTimer);
    if ('command' in message) this.call.tell(this.leg, message.command);
  }

  /** The master never took the far party (its join timed out): nobody is listening to it. */
  unattached(): void {
    this.call.log.warn({ event: 'join-unattached', master: this.master }, 'attended transfer: no master attached; hanging up the far party');
    this.call.tell(this.leg, { type: 'hangup' });
  }

  stop(): void {
    clearTimeout(this.attachTimer);
  }
}

/** On the master: leg `remote`, the far party held by the relaying call; only the relayed commands reach it. */
export function remoteLeg(bridge: CallBridge, relay: CallAddress): ActorRef<LegMessage> {
  return {
    id: `remote-${relay.call}`,
    tell: (command: LegMessage) => {
      // a reply address cannot cross workers: the far party's answers come back as its events
      if (command.type === 'send-request') {
        const { replyTo: _local, ...relayed } = command;
        bridge.send(relay, { to: 'relay', command: relayed });
      } else if (command.type === 'answer-request' || command.type === 'hangup') bridge.send(relay, { to: 'relay', command });
    },
  };
}
