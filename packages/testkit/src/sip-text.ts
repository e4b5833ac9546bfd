import { randomBytes } from 'node:crypto';

export interface RequestText {
  method: string;
  uri?: string;
  callId?: string;
  branch?: string;
  fromTag?: string;
  toTag?: string;
  cseq?: number;
  cseqMethod?: string;
  transport?: 'UDP' | 'TCP';
  /** sent-by of the Via: where the peer says it listens. */
  viaHost?: string;
  viaPort?: number;
  rport?: boolean;
  headers?: readonly string[];
  body?: string;
}

export const randomId = (bytes = 6): string => randomBytes(bytes).toString('hex');

/** A request as a peer would write it, with sensible defaults for a test. */
export function requestText(r: RequestText): string {
  const callId = r.callId ?? `${randomId()}@test.example`;
  const body = r.body ?? '';
  const lines = [
    `${r.method} ${r.uri ?? 'sip:+14155550100@trunk.example'} SIP/2.0`,
    `Via: SIP/2.0/${r.transport ?? 'UDP'} ${r.viaHost ?? '127.0.0.1'}:${r.viaPort ?? 5060};branch=${r.branch ?? `z9hG4bK${randomId()}`}${r.rport ? ';rport' : ''}`,
    'Max-Forwards: 70',
    `From: <sip:+12125550123@pbx.example>;tag=${r.fromTag ?? randomId()}`,
    `To: <sip:+14155550100@trunk.example>${r.toTag ? `;tag=${r.toTag}` : ''}`,
    `Call-ID: ${callId}`,
    `CSeq: ${r.cseq ?? 1} ${r.cseqMethod ?? r.method}`,
    ...(r.headers ?? []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ];
  return lines.join('\r\n');
}
