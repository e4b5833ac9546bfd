import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dispositionOf, type SetupOutcome } from './disposition.js';

const base: SetupOutcome = { answered: false, refused: false, cancelled: false, status: undefined };

describe('dispositionOf', () => {
  const cases: [string, Partial<SetupOutcome>, string][] = [
    ['an answered call, whatever came after', { answered: true, status: 200 }, 'answered'],
    ['answered beats a later cancel flag', { answered: true, cancelled: true, status: 200 }, 'answered'],
    ['refused by us with 403', { refused: true, status: 403 }, 'refused'],
    ['refused by a limit with 486 is refused, not busy', { refused: true, status: 486 }, 'refused'],
    ['refused by a limit with 503', { refused: true, status: 503 }, 'refused'],
    ['a CANCEL before answer is cancelled, not failed', { cancelled: true, status: 487, cause: 'response' }, 'cancelled'],
    ['a CANCEL while the attempt timed out is still cancelled', { cancelled: true, status: 408, cause: 'timeout' }, 'cancelled'],
    ['a CANCEL beats busy', { cancelled: true, status: 486, cause: 'response' }, 'cancelled'],
    ['486 is busy', { status: 486, cause: 'response' }, 'busy'],
    ['600 is busy', { status: 600, cause: 'response' }, 'busy'],
    ['Timer B is no-answer', { status: 408, cause: 'timeout' }, 'no-answer'],
    ['our no-answer timer is no-answer', { status: 408, cause: 'no-answer' }, 'no-answer'],
    ['a 408 answer is no-answer', { status: 408, cause: 'response' }, 'no-answer'],
    ['480 is no-answer', { status: 480, cause: 'response' }, 'no-answer'],
    ['a 487 nobody asked for is no-answer', { status: 487, cause: 'response' }, 'no-answer'],
    ['a transport error is failed', { status: 503, cause: 'transport-error' }, 'failed'],
    ['404 is failed', { status: 404, cause: 'response' }, 'failed'],
    ['503 All Routes Failed is failed', { status: 503 }, 'failed'],
    ['603 Decline is busy: the callee said no, as with 486', { status: 603, cause: 'response' }, 'busy'],
    ['a CANCEL beats a 603 crossing it', { cancelled: true, status: 603, cause: 'response' }, 'cancelled'],
    ['606 Not Acceptable is failed', { status: 606, cause: 'response' }, 'failed'],
    ['no status at all is failed', {}, 'failed'],
  ];
  for (const [name, outcome, expected] of cases) {
    it(name, () => assert.equal(dispositionOf({ ...base, ...outcome }), expected));
  }
});
