// The REFER subscription notifier (RFC 3515 §2.4.4–2.4.7, RFC 6665, RFC 4488) driven by event sequences.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ReferSubscription,
  type ReferSubscriptionEffect, type ReferSubscriptionEvent, type ReferSubscriptionOptions,
} from './refer-subscription.js';

type Notify = Extract<ReferSubscriptionEffect, { type: 'notify' }>;

function notify(seq: number, event: string, subscriptionState: string, statusLine: string): Notify {
  return {
    type: 'notify',
    seq,
    headers: [
      ['Event', event],
      ['Subscription-State', subscriptionState],
    ],
    body: `SIP/2.0 ${statusLine}\r\n`,
    contentType: 'message/sipfrag;version=2.0',
    final: subscriptionState.startsWith('terminated'),
  };
}

const FIRST: ReferSubscriptionOptions = { cseq: 101, firstInDialog: true, referSub: true };

/**
 * Runs the machine on virtual time: stamps each event with `at`, runs the expiry timer, feeds
 * its fire back as `expired`, and checks the effect protocol (a cancel only for an armed timer,
 * nothing armed at `ended`, nothing after `ended`, one NOTIFY outstanding at a time).
 */
class Driver {
  now = 0;
  readonly log: ReferSubscriptionEffect[] = [];
  private expiryDue: number | undefined;
  private ended = false;
  private readonly unanswered = new Set<number>();

  constructor(readonly sub: ReferSubscription) {}

  dispatch(event: ReferSubscriptionEvent): ReferSubscriptionEffect[] {
    const effects = this.sub.handle({ ...event, at: this.now });
    for (const effect of effects) this.apply(effect);
    return effects;
  }

  answer(seq: number, status = 200): ReferSubscriptionEffect[] {
    this.unanswered.delete(seq);
    return this.dispatch({ type: 'notify-answered', seq, status });
  }

  advance(ms: number): ReferSubscriptionEffect[] {
    const target = this.now + ms;
    const fired: ReferSubscriptionEffect[] = [];
    if (this.expiryDue !== undefined && this.expiryDue <= target) {
      this.now = this.expiryDue;
      this.expiryDue = undefined;
      fired.push(...this.dispatch({ type: 'expired' }));
    }
    this.now = target;
    return fired;
  }

  get expiryArmedUntil(): number | undefined {
    return this.expiryDue;
  }

  notifies(): Notify[] {
    return this.log.filter((e): e is Notify => e.type === 'notify');
  }

  private apply(effect: ReferSubscriptionEffect): void {
    if (this.ended) throw new Error(`effect ${effect.type} after ended`);
    this.log.push(effect);
    switch (effect.type) {
      case 'notify':
        if (this.unanswered.size > 0) throw new Error(`NOTIFY ${effect.seq} sent while ${[...this.unanswered].join(', ')} unanswered`);
        this.unanswered.add(effect.seq);
        break;
      case 'start-expiry':
        this.expiryDue = this.now + effect.ms;
        break;
      case 'cancel-expiry':
        if (this.expiryDue === undefined) throw new Error('cancel-expiry while the expiry timer is not armed');
        this.expiryDue = undefined;
        break;
      case 'ended':
        if (this.expiryDue !== undefined) throw new Error('ended with the expiry timer armed');
        this.ended = true;
        break;
    }
  }
}

function started(options: ReferSubscriptionOptions = FIRST): Driver {
  const driver = new Driver(new ReferSubscription(options));
  driver.dispatch({ type: 'start' });
  return driver;
}

describe('REFER subscription: the success path', () => {
  test('100 Trying → 180 Ringing → 200 OK: headers, sipfrag bodies, expiry and end, exactly', () => {
    const sub = new ReferSubscription(FIRST);
    assert.equal(sub.state, 'idle');
    assert.deepEqual(sub.handle({ type: 'start' }), [
      notify(1, 'refer', 'active;expires=60', '100 Trying'),
      { type: 'start-expiry', ms: 60_000 },
    ]);
    assert.equal(sub.state, 'active');
    assert.deepEqual(sub.handle({ type: 'notify-answered', seq: 1, status: 200 }), []);
    assert.deepEqual(sub.handle({ type: 'progress', status: 180, reason: 'Ringing' }), [
      notify(2, 'refer', 'active;expires=60', '180 Ringing'),
    ]);
    assert.deepEqual(sub.handle({ type: 'notify-answered', seq: 2, status: 200 }), []);
    assert.deepEqual(sub.handle({ type: 'final', status: 200, reason: 'OK' }), [
      notify(3, 'refer', 'terminated;reason=noresource', '200 OK'),
      { type: 'cancel-expiry' },
    ]);
    assert.equal(sub.state, 'waiting-final-answer');
    assert.deepEqual(sub.handle({ type: 'notify-answered', seq: 3, status: 200 }), [{ type: 'ended', reason: 'final' }]);
    assert.equal(sub.state, 'terminated');
    assert.deepEqual(sub.handle({ type: 'progress', status: 183, reason: 'Session Progress' }), []);
    assert.deepEqual(sub.handle({ type: 'final', status: 200, reason: 'OK' }), []);
    assert.deepEqual(sub.handle({ type: 'expired' }), []);
    assert.deepEqual(sub.handle({ type: 'notify-answered', seq: 3, status: 200 }), []);
  });

  test('the exact NOTIFY text on the wire for 100 and 200', () => {
    const d = started();
    d.answer(1);
    d.dispatch({ type: 'final', status: 200, reason: 'OK' });
    const [first, last] = d.notifies();
    assert.equal(first?.body, 'SIP/2.0 100 Trying\r\n');
    assert.equal(last?.body, 'SIP/2.0 200 OK\r\n');
    assert.deepEqual(last?.headers, [['Event', 'refer'], ['Subscription-State', 'terminated;reason=noresource']]);
    assert.equal(last?.final, true);
    assert.equal(first?.final, false);
  });

  test('expires= counts down from start when events carry `at`', () => {
    const d = new Driver(new ReferSubscription({ ...FIRST, expiresSeconds: 90 }));
    d.now = 1_000;
    assert.deepEqual(d.dispatch({ type: 'start' })[0], notify(1, 'refer', 'active;expires=90', '100 Trying'));
    assert.equal(d.expiryArmedUntil, 91_000);
    d.advance(12_500);
    d.answer(1);
    assert.deepEqual(d.dispatch({ type: 'progress', status: 180, reason: 'Ringing' }), [
      notify(2, 'refer', 'active;expires=78', '180 Ringing'), // 77.5 s left, rounded up
    ]);
    d.advance(30_000);
    d.answer(2);
    assert.deepEqual(d.dispatch({ type: 'progress', status: 183, reason: 'Session Progress' }), [
      notify(3, 'refer', 'active;expires=48', '183 Session Progress'),
    ]);
  });

  test('a failure final (486 Busy Here) ends the subscription the same way', () => {
    const d = started();
    d.answer(1);
    d.dispatch({ type: 'progress', status: 180, reason: 'Ringing' });
    d.answer(2);
    assert.deepEqual(d.dispatch({ type: 'final', status: 486, reason: 'Busy Here' }), [
      notify(3, 'refer', 'terminated;reason=noresource', '486 Busy Here'),
      { type: 'cancel-expiry' },
    ]);
    assert.deepEqual(d.answer(3), [{ type: 'ended', reason: 'final' }]);
    assert.equal(d.sub.state, 'terminated');
  });

  test('any answer to the final NOTIFY ends it as final, a 481 included', () => {
    const d = started();
    d.answer(1);
    d.dispatch({ type: 'final', status: 603, reason: 'Decline' });
    assert.deepEqual(d.answer(2, 481), [{ type: 'ended', reason: 'final' }]);
  });
});

describe('REFER subscription: Event header', () => {
  test('not the first REFER of the dialog: Event: refer;id=<cseq> on every NOTIFY (RFC 3515 §2.4.6)', () => {
    const d = started({ cseq: 7, firstInDialog: false, referSub: true });
    d.answer(1);
    d.dispatch({ type: 'progress', status: 180, reason: 'Ringing' });
    d.answer(2);
    d.dispatch({ type: 'final', status: 200, reason: 'OK' });
    assert.deepEqual(d.notifies(), [
      notify(1, 'refer;id=7', 'active;expires=60', '100 Trying'),
      notify(2, 'refer;id=7', 'active;expires=60', '180 Ringing'),
      notify(3, 'refer;id=7', 'terminated;reason=noresource', '200 OK'),
    ]);
  });

  test('the first REFER of the dialog: plain Event: refer, whatever its CSeq', () => {
    const d = started({ cseq: 7, firstInDialog: true, referSub: true });
    assert.deepEqual(d.notifies()[0]?.headers[0], ['Event', 'refer']);
  });
});

describe('REFER subscription: Refer-Sub: false (RFC 4488)', () => {
  test('start ends it as not-subscribed and nothing is ever sent', () => {
    const sub = new ReferSubscription({ ...FIRST, referSub: false });
    assert.deepEqual(sub.handle({ type: 'start' }), [{ type: 'ended', reason: 'not-subscribed' }]);
    assert.equal(sub.state, 'terminated');
    const later: ReferSubscriptionEvent[] = [
      { type: 'start' },
      { type: 'progress', status: 180, reason: 'Ringing' },
      { type: 'notify-answered', seq: 1, status: 200 },
      { type: 'final', status: 200, reason: 'OK' },
      { type: 'expired' },
    ];
    for (const event of later) assert.deepEqual(sub.handle(event), [], event.type);
  });
});

describe('REFER subscription: one NOTIFY outstanding (RFC 6665)', () => {
  test('a progress while NOTIFY 1 is unanswered is sent after its 200', () => {
    const d = started();
    assert.deepEqual(d.dispatch({ type: 'progress', status: 180, reason: 'Ringing' }), []);
    assert.deepEqual(d.answer(1), [notify(2, 'refer', 'active;expires=60', '180 Ringing')]);
    assert.deepEqual(d.answer(2), []);
  });

  test('only the latest pending progress is sent', () => {
    const d = started();
    d.dispatch({ type: 'progress', status: 180, reason: 'Ringing' });
    d.dispatch({ type: 'progress', status: 183, reason: 'Session Progress' });
    assert.deepEqual(d.answer(1), [notify(2, 'refer', 'active;expires=60', '183 Session Progress')]);
    assert.equal(d.notifies().length, 2);
  });

  test('a progress back to the status being told drops the pending one', () => {
    const d = started();
    d.answer(1);
    d.dispatch({ type: 'progress', status: 180, reason: 'Ringing' });
    d.dispatch({ type: 'progress', status: 183, reason: 'Session Progress' });
    d.dispatch({ type: 'progress', status: 180, reason: 'Ringing' });
    assert.deepEqual(d.answer(2), []);
    assert.deepEqual(d.notifies().map((n) => n.body), ['SIP/2.0 100 Trying\r\n', 'SIP/2.0 180 Ringing\r\n']);
  });

  test('a final supersedes a queued progress; the expiry is cancelled when the final is queued', () => {
    const d = started();
    assert.deepEqual(d.dispatch({ type: 'progress', status: 180, reason: 'Ringing' }), []);
    assert.deepEqual(d.dispatch({ type: 'final', status: 200, reason: 'OK' }), [{ type: 'cancel-expiry' }]);
    assert.equal(d.sub.state, 'waiting-final-answer');
    assert.deepEqual(d.dispatch({ type: 'progress', status: 183, reason: 'Session Progress' }), [], 'progress after final is ignored');
    assert.deepEqual(d.answer(1), [notify(2, 'refer', 'terminated;reason=noresource', '200 OK')]);
    assert.deepEqual(d.answer(2), [{ type: 'ended', reason: 'final' }]);
    assert.deepEqual(d.notifies().map((n) => n.body), ['SIP/2.0 100 Trying\r\n', 'SIP/2.0 200 OK\r\n']);
  });

  test('a repeated progress with the same status is not re-sent', () => {
    const d = started();
    assert.deepEqual(d.dispatch({ type: 'progress', status: 100, reason: 'Trying' }), [], 'the 100 of start already told it');
    d.answer(1);
    assert.equal(d.dispatch({ type: 'progress', status: 180, reason: 'Ringing' }).length, 1);
    d.answer(2);
    assert.deepEqual(d.dispatch({ type: 'progress', status: 180, reason: 'Ringing' }), []);
    assert.deepEqual(d.dispatch({ type: 'progress', status: 180, reason: 'Ringing again' }), []);
    assert.equal(d.notifies().length, 2);
  });

  test('answers to another seq, provisional answers and answers in idle are ignored', () => {
    const sub = new ReferSubscription(FIRST);
    assert.deepEqual(sub.handle({ type: 'notify-answered', seq: 1, status: 481 }), []);
    assert.deepEqual(sub.handle({ type: 'final', status: 200, reason: 'OK' }), [], 'nothing before start');
    sub.handle({ type: 'start' });
    sub.handle({ type: 'progress', status: 180, reason: 'Ringing' });
    assert.deepEqual(sub.handle({ type: 'notify-answered', seq: 2, status: 200 }), [], 'NOTIFY 2 was not sent');
    assert.deepEqual(sub.handle({ type: 'notify-answered', seq: 1, status: 100 }), [], 'a provisional is no answer');
    assert.deepEqual(sub.handle({ type: 'notify-answered', seq: 1, status: 200 }), [notify(2, 'refer', 'active;expires=60', '180 Ringing')]);
    assert.deepEqual(sub.handle({ type: 'notify-answered', seq: 1, status: 481 }), [], 'a retransmitted answer to an old NOTIFY');
    assert.equal(sub.state, 'active');
  });
});

describe('REFER subscription: the transferor ends it (RFC 6665 §4.2.2)', () => {
  test('481 to a NOTIFY: rejected, expiry cancelled, nothing more is sent', () => {
    const d = started();
    d.answer(1);
    d.dispatch({ type: 'progress', status: 180, reason: 'Ringing' });
    assert.deepEqual(d.answer(2, 481), [{ type: 'cancel-expiry' }, { type: 'ended', reason: 'rejected' }]);
    assert.equal(d.sub.state, 'terminated');
    assert.deepEqual(d.dispatch({ type: 'progress', status: 183, reason: 'Session Progress' }), []);
    assert.deepEqual(d.dispatch({ type: 'final', status: 200, reason: 'OK' }), []);
    assert.deepEqual(d.dispatch({ type: 'expired' }), []);
    assert.equal(d.notifies().length, 2);
  });

  test('408 (the NOTIFY transaction timed out) drops a queued final too', () => {
    const d = started();
    d.dispatch({ type: 'final', status: 200, reason: 'OK' });
    assert.deepEqual(d.answer(1, 408), [{ type: 'ended', reason: 'rejected' }]);
    assert.equal(d.notifies().length, 1, 'the queued final NOTIFY is never sent');
  });

  test('another failure (500) ends it too; a 202 keeps it', () => {
    const kept = started();
    assert.deepEqual(kept.answer(1, 202), []);
    assert.equal(kept.sub.state, 'active');
    const ended = started();
    assert.deepEqual(ended.answer(1, 500), [{ type: 'cancel-expiry' }, { type: 'ended', reason: 'rejected' }]);
  });
});

describe('REFER subscription: expiry', () => {
  test('no final within expires: NOTIFY terminated;reason=timeout with the last status, then ended timeout', () => {
    const d = started({ ...FIRST, expiresSeconds: 30 });
    d.answer(1);
    d.advance(10_000);
    d.dispatch({ type: 'progress', status: 180, reason: 'Ringing' });
    d.answer(2);
    assert.deepEqual(d.advance(19_999), []);
    assert.deepEqual(d.advance(1), [notify(3, 'refer', 'terminated;reason=timeout', '180 Ringing')]);
    assert.equal(d.sub.state, 'waiting-final-answer');
    assert.deepEqual(d.dispatch({ type: 'final', status: 200, reason: 'OK' }), [], 'too late: the subscription is ending');
    assert.deepEqual(d.answer(3), [{ type: 'ended', reason: 'timeout' }]);
    assert.equal(d.sub.state, 'terminated');
  });

  test('expiry while a NOTIFY is unanswered queues the timeout NOTIFY', () => {
    const d = started();
    d.dispatch({ type: 'progress', status: 183, reason: 'Session Progress' });
    assert.deepEqual(d.advance(60_000), []);
    assert.deepEqual(d.answer(1), [notify(2, 'refer', 'terminated;reason=timeout', '183 Session Progress')]);
    assert.deepEqual(d.answer(2), [{ type: 'ended', reason: 'timeout' }]);
  });

  test('an expiry after the final is known is ignored (the timer was cancelled)', () => {
    const sub = new ReferSubscription(FIRST);
    sub.handle({ type: 'start' });
    sub.handle({ type: 'notify-answered', seq: 1, status: 200 });
    sub.handle({ type: 'final', status: 200, reason: 'OK' });
    assert.deepEqual(sub.handle({ type: 'expired' }), []);
    assert.deepEqual(sub.handle({ type: 'notify-answered', seq: 2, status: 200 }), [{ type: 'ended', reason: 'final' }]);
  });
});

describe('REFER subscription: never a final before the final event', () => {
  test('progress of every kind, a 2xx passed as progress and many answers: all active', () => {
    const d = started();
    const events: ReferSubscriptionEvent[] = [
      { type: 'progress', status: 180, reason: 'Ringing' },
      { type: 'progress', status: 183, reason: 'Session Progress' },
      { type: 'progress', status: 200, reason: 'OK' },
      { type: 'progress', status: 181, reason: 'Call Is Being Forwarded' },
      { type: 'progress', status: 182, reason: 'Queued' },
      { type: 'final', status: 199, reason: 'Early Dialog Terminated' },
      { type: 'progress', status: 180, reason: 'Ringing' },
    ];
    let seq = 1;
    for (const event of events) {
      d.dispatch(event);
      for (const n of d.notifies().filter((x) => x.seq > seq)) seq = n.seq;
      d.answer(seq);
    }
    assert.equal(d.sub.state, 'active');
    const sent = d.notifies();
    assert.deepEqual(sent.map((n) => n.body.slice(8, 11)), ['100', '180', '183', '181', '182', '180']);
    assert.ok(sent.every((n) => !n.final && n.headers[1]?.[1] === 'active;expires=60'));
    assert.ok(!d.log.some((e) => e.type === 'ended' || e.type === 'cancel-expiry'));
  });
});

describe('REFER subscription: options and hygiene', () => {
  test('invalid expiresSeconds or cseq are refused', () => {
    assert.throws(() => new ReferSubscription({ ...FIRST, expiresSeconds: 0 }), RangeError);
    assert.throws(() => new ReferSubscription({ ...FIRST, expiresSeconds: 1.5 }), RangeError);
    assert.throws(() => new ReferSubscription({ ...FIRST, cseq: -1 }), RangeError);
    assert.throws(() => new ReferSubscription({ ...FIRST, cseq: 2 ** 31 }), RangeError);
    assert.equal(new ReferSubscription({ ...FIRST, cseq: 2 ** 31 - 1 }).expiresSeconds, 60);
  });

  test('a reason phrase cannot break the sipfrag line', () => {
    const d = started();
    d.answer(1);
    d.dispatch({ type: 'final', status: 486, reason: 'Busy\r\nContact: <sip:evil@example.com>' });
    assert.equal(d.notifies()[1]?.body, 'SIP/2.0 486 Busy Contact: <sip:evil@example.com>\r\n');
  });

  test('a second start is ignored', () => {
    const d = started();
    assert.deepEqual(d.dispatch({ type: 'start' }), []);
  });
});
