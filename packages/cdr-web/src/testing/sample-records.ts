import type { CallDetailRecord } from '@switchboard/cdr';

/** 2026-11-25 14:00:00 UTC: the records below ended minutes after it. */
export const SAMPLE_NOW = Date.UTC(2026, 10, 25, 14, 30, 0);
const T0 = Date.UTC(2026, 10, 25, 14, 0, 0);

function record(fields: Partial<CallDetailRecord> & Pick<CallDetailRecord, 'id' | 'callId'>): CallDetailRecord {
  return {
    v: 1, worker: 'w1', kind: 'pstn', billable: true, from: {}, to: {}, carriersTried: [], legs: [],
    startedAt: T0, endedAt: T0 + 60_000, duration: 60, billableSeconds: 0, disposition: 'answered', status: 200,
    statusText: 'OK', endedBy: 'caller',
    ...fields,
  };
}

/**
 * Trunk `acme`: an answered call whose callee blind-transferred it twice: once to a PSTN
 * number (billable, through a carrier), once to another SIP domain (not billable). Trunk
 * `globex`: a busy call. Records come oldest-ended first, as the CDR query answers; the
 * children end before their parent.
 */
export function sampleRecords(): CallDetailRecord[] {
  return [
    record({
      id: '00000000a1b2c3d4-1', callId: '00000000a1b2c3d4', parentId: '00000000a1b2c3d4-0', trunk: 'acme', direction: 'termination', kind: 'pstn', billable: true,
      from: { received: '4155550100', normalised: '+14155550100' }, to: { received: '+442071838750', normalised: '+442071838750' },
      referredBy: 'sip:alice@pbx.acme.example', referTo: 'sip:+442071838750@pbx.acme.example;user=phone',
      carrier: 'carrier-b', carriersTried: ['carrier-a', 'carrier-b'],
      legs: [{ leg: 'c1', sipCallId: 'c1-sip@sb', role: 'callee' }],
      startedAt: T0 + 20_000, ringingAt: T0 + 21_000, answeredAt: T0 + 24_000, endedAt: T0 + 84_000, duration: 64, billableSeconds: 60,
    }),
    record({
      id: '00000000a1b2c3d4-2', callId: '00000000a1b2c3d4', parentId: '00000000a1b2c3d4-0', trunk: 'acme', direction: 'termination', kind: 'sip', billable: false,
      from: { received: '4155550100', normalised: '+14155550100' }, to: { received: 'bob' },
      referredBy: 'sip:alice@pbx.acme.example', referTo: 'sip:bob@partner.example',
      legs: [{ leg: 'c2', sipCallId: 'c2-sip@sb', role: 'callee' }],
      startedAt: T0 + 90_000, answeredAt: T0 + 92_000, endedAt: T0 + 150_000, duration: 60, billableSeconds: 0,
    }),
    record({
      id: '00000000a1b2c3d4-0', callId: '00000000a1b2c3d4', trunk: 'acme', direction: 'origination', kind: 'pstn', billable: true,
      from: { received: '+14155550100', normalised: '+14155550100' }, to: { received: '0044207', normalised: '+44207' },
      carrier: 'carrier-a', carriersTried: ['carrier-a'],
      legs: [{ leg: 'a', sipCallId: 'a-sip@pbx', role: 'caller' }, { leg: 'b1', sipCallId: 'b1-sip@sb', role: 'callee' }],
      startedAt: T0, ringingAt: T0 + 1_000, answeredAt: T0 + 3_000, endedAt: T0 + 151_000, duration: 151, billableSeconds: 148,
    }),
    record({
      id: '000000000badf00d-0', callId: '000000000badf00d', trunk: 'globex', direction: 'origination', kind: 'pstn', billable: true,
      from: { received: '+33142685300', normalised: '+33142685300' }, to: { received: '+4930901820', normalised: '+4930901820' },
      carrier: 'carrier-a', carriersTried: ['carrier-a'],
      legs: [{ leg: 'a', sipCallId: 'g-sip@pbx', role: 'caller' }],
      startedAt: T0 + 200_000, ringingAt: T0 + 201_000, endedAt: T0 + 205_000, duration: 5, billableSeconds: 0,
      disposition: 'busy', status: 486, statusText: 'Busy Here', endedBy: 'callee',
    }),
  ];
}
