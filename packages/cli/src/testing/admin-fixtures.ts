// Answers of the admin API for tests, shaped as the workers send them: two calls (one up on
// w1 after a transfer, one ringing on w2), the stats of both workers, a trunking snapshot.
import type { CallDetail, CallSummary, ConfigSnapshot, WorkerStats } from '@switchboard/admin';

/** The tests' clock: 2025-01-31 14:00:00 local time. */
export const NOW = new Date(2025, 0, 31, 14, 0, 0).getTime();

export const UP: CallSummary = {
  id: '000000001a2b3c4d', worker: 'w1', state: 'confirmed', trunk: 'acme', direction: 'termination',
  from: '+12125550100', to: '+14155551234', startedAt: NOW - 125_000, answeredAt: NOW - 120_000, legs: 2, transfers: 1,
};

export const RINGING: CallSummary = {
  id: '000000005e6f7a8b', worker: 'w2', state: 'early', direction: 'origination',
  from: '+13105550100', startedAt: NOW - 4_000, legs: 2, transfers: 0,
};

export const UP_DETAIL: CallDetail = {
  ...UP,
  legList: [
    { name: 'a', sipCallId: 'pbx-call-1@10.0.0.5', role: 'uas', dialog: 'confirmed', peer: '127.0.0.10:5060' },
    { name: 'c1', sipCallId: 'sb-c1-000000001a2b3c4d', role: 'uac', dialog: 'confirmed', peer: '127.0.0.22:5060' },
    { name: 'remote', sipCallId: '', role: 'uac', dialog: 'relayed', peer: '' },
  ],
  transferList: [{ id: '000000001a2b3c4d-1', target: 'sip:+14155552000@acme.trunks.example', kind: 'pstn', billable: true, outcome: 'answered', status: 200 }],
};

export const W1: WorkerStats = {
  workerId: 'w1', state: 'active', version: '0.1.0', uptimeMs: 3_723_000, calls: 2,
  callsByState: { confirmed: 1, early: 1 }, callsByTrunk: { acme: 2 }, callsPerSecond: 0.25,
  counters: {
    'calls.started': 15, 'responses.1xx': 30, 'responses.2xx': 12, 'responses.4xx': 3, 'responses.403': 2, 'responses.400': 1,
    'refused.destination-blocked': 2, 'transfer.started.pstn': 2, 'transfer.answered.pstn': 1, 'transfer.started.sip': 1,
  },
  heapUsed: 20_000_000, actors: 7,
};

export const W2: WorkerStats = {
  workerId: 'w2', state: 'draining', version: '0.1.0', uptimeMs: 42_000, calls: 1,
  callsByState: { answered: 1 }, callsByTrunk: { globex: 1 }, callsPerSecond: 0.1,
  counters: { 'calls.started': 6, 'responses.2xx': 4, 'responses.5xx': 1, 'responses.503': 1, 'refused.unknown-source': 1 },
  heapUsed: 18_000_000,
};

export const CONFIG: ConfigSnapshot = {
  revision: 7,
  trunking: {
    carriers: [{ id: 'carrier', addresses: [{ host: '127.0.0.1', port: 5080, transport: 'udp' }], failoverOn: [408, '5xx'], offer: 'early', numberFormat: 'e164' }],
    trunks: [
      {
        id: 'acme', domain: 'acme.trunks.example', acl: ['127.0.0.10/32'], credentials: [], dids: ['+14155550100', '+14155550101'],
        origination: { uris: ['sip:127.0.0.10:5060'], failoverOn: [408, '5xx'] },
        numberPlan: { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' },
        routing: [{ prefix: '+1', carriers: ['carrier'] }, { prefix: '+44', carriers: ['carrier'] }],
        restrictions: { allowedPrefixes: [], blocked: [{ prefix: '+1900', name: 'premium-rate' }], maxConcurrent: 20 },
        callerId: { allowed: ['+1212'], onViolation: 'reject' },
        transfer: { mode: 'all', callerId: 'transferee', maxPerCall: 5 },
      },
      {
        id: 'globex', domain: 'globex.trunks.example', acl: ['127.0.0.12/32'], credentials: [], dids: [],
        numberPlan: { countryCode: '44', nationalPrefix: '0', internationalPrefix: '00' },
        routing: [{ prefix: '', carriers: ['carrier'] }],
        restrictions: { allowedPrefixes: [], blocked: [], maxCps: 5 },
        callerId: { allowed: [''], onViolation: 'reject' },
        transfer: { mode: 'disabled', callerId: 'transferee', maxPerCall: 5 },
      },
    ],
    sipTransfers: { maxConcurrent: 200, overrides: [] },
  },
};
