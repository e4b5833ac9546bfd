import type { CallAddress as WireCallAddress, JoinRequest as WireJoinRequest } from '@switchboard/wire';

// Attended transfer (RFC 3891) across calls: who a call's other half is, and the join that
// hands a dialog's far party over. The bridged messages themselves are in call-messages.ts;
// transfer/call-bridge.ts maps both to @switchboard/wire's versioned envelopes.

/** Who a joined call's other half is: a call actor on a worker (maybe this one). */
export type CallAddress = WireCallAddress;

/**
 * Attended transfer (RFC 3891): the call holding the REFER (the master) asks the worker that
 * owns the replaced dialog — named by our tag in the Replaces header — to hand over that
 * dialog's far party. Ownership needs no table: the tag carries the worker id (MAC-checked)
 * and the leg's scope.
 */
export type JoinRequest = Omit<WireJoinRequest, 'v'>;

export type JoinReply =
  | { ok: true; relay: CallAddress; sdp?: Uint8Array; sdpType?: string; saw?: Uint8Array }
  | { ok: false; status: number; reason: string };

/** What the master call names the far party it reaches through a relay. */
export const REMOTE_LEG = 'remote';

/** How long a relay waits for its master to attach before it hangs up the far party it holds for nobody. */
export const JOIN_ATTACH_MS = 5_000;
