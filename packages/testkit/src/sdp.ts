import { randomInt } from 'node:crypto';

/**
 * SDP bodies for scripted user agents. Signaling only: nothing listens on the RTP ports.
 * Every body is distinct (a random session id), so a test can check a body was relayed
 * byte for byte by comparing what one UA sent with what the other received.
 */

export interface SdpOptions {
  /** Address in `o=` and `c=`; default 127.0.0.1. */
  host?: string;
  /** `o=` session id; default random. */
  sessionId?: string | number;
  /** `o=` session version; default 1. */
  version?: number;
  /** Payload types offered, in order of preference; default `[0, 8, 101]` (PCMU, PCMA, telephone-event). */
  payloadTypes?: readonly number[];
  direction?: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
}

const RTPMAP: Readonly<Record<number, string>> = {
  0: 'PCMU/8000', 3: 'GSM/8000', 8: 'PCMA/8000', 9: 'G722/8000', 18: 'G729/8000', 101: 'telephone-event/8000',
};

/** An even RTP port in [20000, 40000): what a phone would put in an `m=` line. */
export function randomRtpPort(): number {
  return 20_000 + 2 * randomInt(10_000);
}

function token(name: string): string {
  const t = name.replace(/[^A-Za-z0-9_.+-]/g, '-');
  return t.length > 0 ? t : '-';
}

function ipVersion(host: string): 'IP4' | 'IP6' {
  return host.includes(':') ? 'IP6' : 'IP4';
}

function body(name: string, port: number, pts: readonly number[], o: SdpOptions): string {
  const host = o.host ?? '127.0.0.1';
  const ip = ipVersion(host);
  const lines = [
    'v=0',
    `o=${token(name)} ${o.sessionId ?? randomInt(1, 2 ** 31)} ${o.version ?? 1} IN ${ip} ${host}`,
    `s=${name.length > 0 ? name : '-'}`,
    `c=IN ${ip} ${host}`,
    't=0 0',
    `m=audio ${port} RTP/AVP ${pts.join(' ')}`,
  ];
  for (const pt of pts) {
    const map = RTPMAP[pt];
    if (map !== undefined) lines.push(`a=rtpmap:${pt} ${map}`);
    if (pt === 101) lines.push('a=fmtp:101 0-16');
  }
  lines.push('a=ptime:20', `a=${o.direction ?? 'sendrecv'}`);
  return lines.join('\r\n') + '\r\n';
}

/** An audio offer from `name` (the `o=` user and `s=` line) with RTP at `port`. */
export function sdpOffer(name: string, port: number = randomRtpPort(), opts: SdpOptions = {}): string {
  return body(name, port, opts.payloadTypes ?? [0, 8, 101], opts);
}

const ANSWER_DIRECTION = { sendrecv: 'sendrecv', sendonly: 'recvonly', recvonly: 'sendonly', inactive: 'inactive' } as const;

/**
 * An answer to `offer` (RFC 3264): the first offered audio codec (and telephone-event when
 * offered), the mirrored direction. Without an offer it is an offer of PCMU.
 */
export function sdpAnswer(name: string, port: number = randomRtpPort(), offer?: string, opts: SdpOptions = {}): string {
  if (opts.payloadTypes !== undefined || offer === undefined) return body(name, port, opts.payloadTypes ?? [0, 101], opts);
  const info = parseSdp(offer);
  const audio = info.media.find((m) => m.type === 'audio');
  const formats = (audio?.formats ?? ['0']).map(Number).filter((n) => Number.isInteger(n));
  const first = formats.find((f) => f !== 101) ?? 0;
  const pts = formats.includes(101) ? [first, 101] : [first];
  const direction = opts.direction ?? ANSWER_DIRECTION[audio?.direction ?? 'sendrecv'];
  return body(name, port, pts, { ...opts, direction });
}

export interface SdpMedia {
  type: string;
  port: number;
  proto: string;
  formats: string[];
  direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
  attributes: string[];
}

export interface SdpInfo {
  /** `o=` fields. */
  origin: { user: string; sessionId: string; version: number; address: string } | undefined;
  sessionName: string | undefined;
  /** Session-level `c=` address. */
  connection: string | undefined;
  media: SdpMedia[];
}

/** A shallow reading of an SDP body: enough to check what a test needs. */
export function parseSdp(sdp: string | Uint8Array): SdpInfo {
  const text = typeof sdp === 'string' ? sdp : Buffer.from(sdp).toString('utf8');
  const info: SdpInfo = { origin: undefined, sessionName: undefined, connection: undefined, media: [] };
  let current: SdpMedia | undefined;
  let sessionDirection: SdpMedia['direction'] = 'sendrecv';
  for (const line of text.split(/\r?\n/)) {
    const type = line[0];
    const value = line.slice(2);
    if (line[1] !== '=') continue;
    if (type === 'o') {
      const [user = '', sessionId = '', version = '0', , , address = ''] = value.split(' ');
      info.origin = { user, sessionId, version: Number(version), address };
    } else if (type === 's') info.sessionName = value;
    else if (type === 'c' && current === undefined) info.connection = value.split(' ')[2];
    else if (type === 'm') {
      const [mtype = '', port = '0', proto = '', ...formats] = value.split(' ');
      current = { type: mtype, port: Number(port), proto, formats, direction: sessionDirection, attributes: [] };
      info.media.push(current);
    } else if (type === 'a') {
      const dir = value === 'sendrecv' || value === 'sendonly' || value === 'recvonly' || value === 'inactive' ? value : undefined;
      if (current === undefined) {
        if (dir !== undefined) sessionDirection = dir;
      } else {
        current.attributes.push(value);
        if (dir !== undefined) current.direction = dir;
      }
    }
  }
  return info;
}

/** The same body with its `o=` session version incremented (RFC 3264 §8: a changed offer). */
export function bumpSdpVersion(sdp: string): string {
  return sdp.replace(/^(o=\S+ \S+ )(\d+)/m, (_, head: string, v: string) => head + String(BigInt(v) + 1n));
}
