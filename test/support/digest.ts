// A digest client's side (RFC 7616 §3.4 with qop=auth), for tests whose PBX answers our 407.
import { createHash } from 'node:crypto';

function h(algorithm: string, text: string): string {
  return createHash(algorithm === 'SHA-256' ? 'sha256' : 'md5').update(text).digest('hex');
}

/** A Proxy-Authorization answering `challenge` (one Proxy-Authenticate value); `nc`: the nonce count, 1 by default. */
export function authorization(challenge: string, o: { username: string; password: string; method: string; uri: string; nc?: number }): string {
  const param = (name: string) => new RegExp(`${name}="?([^",]+)"?`).exec(challenge)?.[1] ?? '';
  const algorithm = param('algorithm');
  const realm = param('realm');
  const nonce = param('nonce');
  const cnonce = 'f2c0ffee';
  const nc = (o.nc ?? 1).toString(16).padStart(8, '0');
  const ha1 = h(algorithm, `${o.username}:${realm}:${o.password}`);
  const ha2 = h(algorithm, `${o.method}:${o.uri}`);
  const response = h(algorithm, `${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return `Digest username="${o.username}", realm="${realm}", nonce="${nonce}", uri="${o.uri}", response="${response}", algorithm=${algorithm}, cnonce="${cnonce}", nc=${nc}, qop=auth`;
}
