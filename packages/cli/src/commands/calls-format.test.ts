import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLocalIso } from '../output/time.js';
import { NOW, RINGING, UP, UP_DETAIL } from '../testing/admin-fixtures.js';
import { formatCallDetail, formatCallListJson, formatCallTable, formatHangup, formatTransferStarted } from './calls-format.js';

const HEADERS = ['ID', 'WORKER', 'STATE', 'TRUNK', 'DIR', 'FROM', 'TO', 'STARTED', 'ANSWERED', 'AGE', 'LEGS', 'XFERS'];

describe('formatCallTable', () => {
  const lines = formatCallTable([RINGING, UP], NOW).trimEnd().split('\n');

  it('prints the headers, then the calls oldest first', () => {
    assert.deepEqual(lines[0]?.split(/\s+/), HEADERS);
    assert.equal(lines.length, 3);
    assert.match(lines[1] ?? '', /^000000001a2b3c4d /);
    assert.match(lines[2] ?? '', /^000000005e6f7a8b /);
  });

  it('fills a row from the call: times of today as the time of day, the age since the start', () => {
    assert.deepEqual(lines[1]?.split(/\s{2,}/), ['000000001a2b3c4d', 'w1', 'confirmed', 'acme', 'term', '+12125550100', '+14155551234', '13:57:55', '13:58:00', '2m05s', '2', '1']);
    assert.deepEqual(lines[2]?.split(/\s{2,}/), ['000000005e6f7a8b', 'w2', 'early', '-', 'orig', '+13105550100', '-', '13:59:56', '-', '4s', '2', '0']);
  });

  it('keeps the columns aligned, numbers to the right', () => {
    assert.equal(lines[1]?.indexOf('13:57:55'), lines[0]?.indexOf('STARTED'));
    assert.equal(lines[1]?.length, lines[0]?.length, 'XFERS ends both lines');
  });

  it('prints the headers alone when no call is up', () => {
    assert.deepEqual(formatCallTable([], NOW).trimEnd().split(/\s+/), HEADERS);
  });
});

describe('formatCallListJson', () => {
  it('is one JSON array of the calls as the workers sent them, oldest first', () => {
    assert.deepEqual(JSON.parse(formatCallListJson([RINGING, UP])), [UP, RINGING]);
    assert.deepEqual(JSON.parse(formatCallListJson([])), []);
  });
});

describe('formatCallDetail', () => {
  const text = formatCallDetail(UP_DETAIL, NOW);

  it('prints the fields of the call', () => {
    const names = text.split('\n').filter((l) => /^\w+:/.test(l)).map((l) => l.slice(0, l.indexOf(':')));
    assert.deepEqual(names, ['id', 'worker', 'state', 'trunk', 'direction', 'from', 'to', 'startedAt', 'answeredAt', 'age', 'talking', 'legs', 'transfers']);
    assert.match(text, /^direction: +termination$/m);
    assert.match(text, new RegExp(`^answeredAt: +${formatLocalIso(UP.answeredAt ?? 0).replace(/[.+]/g, '\\$&')}$`, 'm'));
    assert.match(text, /^age: +2m05s$/m);
    assert.match(text, /^talking: +2m00s$/m);
  });

  it('prints the legs as a table, each with its dialog state; a relayed leg without its ids', () => {
    assert.match(text, /^legs:\n {2}LEG +ROLE +DIALOG +SIP CALL-ID +PEER\n {2}a +uas +confirmed +pbx-call-1@10\.0\.0\.5 +127\.0\.0\.10:5060\n {2}c1 +uac +confirmed +sb-c1-000000001a2b3c4d +127\.0\.0\.22:5060\n {2}remote +uac +relayed +- +-$/m);
  });

  it('prints the transfers as a table', () => {
    assert.match(text, /^transfers:\n {2}TRANSFER +TARGET +KIND +BILLABLE +OUTCOME +STATUS\n {2}000000001a2b3c4d-1 +sip:\+14155552000@acme\.trunks\.example +pstn +yes +answered +200$/m);
  });

  it('prints - for what a call does not have yet', () => {
    const ringing = formatCallDetail({ ...RINGING, legList: [], transferList: [] }, NOW);
    assert.match(ringing, /^trunk: +-$/m);
    assert.match(ringing, /^answeredAt: +-$/m);
    assert.match(ringing, /^talking: +-$/m);
    assert.match(ringing, /^legs: +-$/m);
    assert.match(ringing, /^transfers: +-$/m);
  });
});

describe('call actions', () => {
  it('say what was done to which call', () => {
    assert.equal(formatHangup({ id: '000000001a2b3c4d', worker: 'w1' }), 'call 000000001a2b3c4d on w1: hanging up (BYE to each leg)\n');
    assert.equal(formatTransferStarted({ id: '000000001a2b3c4d', transfer: '000000001a2b3c4d-2', kind: 'sip' }), 'call 000000001a2b3c4d: transfer 000000001a2b3c4d-2 (sip) started\n');
  });
});
