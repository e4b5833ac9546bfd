import type { SipMessage } from '@switchboard/sip';
import type { EngineContext } from '../context.js';
import type { Destination, SipLink } from '../protocol/sip-link.js';
import type { CallSpan } from './call-tracer.js';

const UNTRACED_LINK = Symbol('untraced link');

/**
 * The context of a traced call's (or transfer's) actors: the same context, except that its
 * `link` hands `span` to the worker with everything the actors send, so SIP leaving for the
 * transport carries the call's trace — without the legs knowing about tracing. Every other
 * field is read through the prototype, so the worker's own wiring (its limiter, the trunking in
 * force behind `trunking`) is shared. Untraced calls (tracing off) use the worker's context.
 */
export function tracedContext(ctx: EngineContext, span: CallSpan): EngineContext {
  // a transfer's context is made from its call's: it sends through the worker's own link, not the call's
  const link: SipLink = (ctx as { [UNTRACED_LINK]?: SipLink })[UNTRACED_LINK] ?? ctx.link;
  const traced: SipLink = { send: (message: SipMessage, to: Destination, ref?: string) => link.send(message, to, ref, span) };
  return Object.create(ctx, {
    trace: { value: span, enumerable: true },
    link: { value: traced, enumerable: true },
    [UNTRACED_LINK]: { value: link },
  }) as EngineContext;
}
