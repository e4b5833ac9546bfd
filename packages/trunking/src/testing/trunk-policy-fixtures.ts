// The trunking configuration, the INVITEs and the digest answers of TrunkPolicy's tests.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseMessage, SipRequest } from '@switchboard/sip';
import { DigestAuthenticator } from '../digest.js';
import { TrunkingConfigSchema } from '../trunk-config.js';
import { TrunkPolicy, type CallPlan, type OriginationPlan, type TerminationPlan } from '../trunk-policy.js';

const NANP = { countryCode: '1', nationalPrefix: '1', internationalPrefix: '011' };
const UK = { countryCode: '44', nationalPrefix: '0', internationalPrefix: '00' };

export const GLOBEX_PASSWORD = 'correct horse battery';
export const INITECH_PASSWORD = 'tps reports cover';

export const CONFIG = TrunkingConfigSchema.parse({
  carriers: [
    {
      // its sources default to its IP-literal addresses
      id: 'carrier-a',
      addresses: [{ host: '198.51.100.10' }, { host: '198.51.100.11', port: 5080, transport: 'tcp' }],
    },
    {
      id: 'carrier-b',
      addresses: [{ host: 'sip.carrier-b.example' }],
      sources: ['203.0.113.0/24'],
      failoverOn: [503],
      offer: 'delayed',
      numberFormat: 'e164-digits',
      numberPlan: NANP,
    },
  ],
  trunks: [
    {
      id: 'acme',
      domain: 'acme.trunks.example',
      acl: ['192.0.2.0/24', '2001:db8:ac::/48'],
      dids: ['+14155550100', '+14155550101'],
      origination: { uris: ['sip:pbx.acme.example;transport=tcp', 'sip:ivr@192.0.2.10:5070'] },
      numberPlan: NANP,
      routing: [
        { prefix: '', carriers: ['carrier-a', 'carrier-b'] },
        { prefix: '+44', carriers: ['carrier-b'] },
        { prefix: '1212', carriers: ['carrier-b', 'carrier-a'] },
      ],
      restrictions: { blocked: [{ prefix: '1900', name: 'premium-rate' }], maxConcurrent: 10, maxCps: 2 },
      callerId: { allowed: ['1415555'] },
    },
    {
      id: 'globex',
      domain: 'globex.trunks.example',
      credentials: [{ username: 'globex-pbx', password: GLOBEX_PASSWORD }],
      dids: ['+442079460000'],
      origination: { uris: ['sip:pbx.globex.example'], failoverOn: [503] },
      numberPlan: UK,
      routing: [{ prefix: '44', carriers: ['carrier-b'] }],
      restrictions: { allowedPrefixes: ['44'], maxConcurrent: 4 },
      callerId: { onViolation: 'replace', default: '+442079460000' },
    },
    {
      id: 'initech',
      domain: 'initech.trunks.example',
      acl: ['198.18.0.0/15'],
      credentials: [{ username: 'initech-pbx', password: INITECH_PASSWORD }],
      numberPlan: NANP,
      routing: [{ prefix: '1', carriers: ['carrier-a'] }],
      callerId: { allowed: [''] },
    },
  ],
});

export const SECRET = 'cluster-shared-secret';
export const policyWith = (digest = new DigestAuthenticator({ secret: SECRET })) => new TrunkPolicy(CONFIG, digest);

export const ACME_PBX = { address: '192.0.2.55' };
export const CARRIER_A = { address: '198.51.100.10' };
export const CARRIER_B = { address: '203.0.113.77' };
export const STRANGER = { address: '100.64.0.1' };

let n = 0;

/** An INVITE as a customer or carrier sends it, parsed from text. */
export function invite(opts: { ruri: string; from?: string; headers?: string[] }): SipRequest {
  const id = ++n;
  const text = [
    `INVITE ${opts.ruri} SIP/2.0`,
    `Via: SIP/2.0/UDP 192.0.2.55:5060;branch=z9hG4bKt${id}x`,
    'Max-Forwards: 70',
    `From: "Desk" <${opts.from ?? 'sip:+14155550100@pbx.example'}>;tag=f${id}`,
    `To: <${opts.ruri}>`,
    `Call-ID: t${id}@pbx.example`,
    'CSeq: 1 INVITE',
    'Contact: <sip:pbx@192.0.2.55:5060>',
    ...(opts.headers ?? []),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const message = parseMessage(Buffer.from(text));
  assert.ok(message instanceof SipRequest);
  return message;
}

function md(algorithm: 'MD5' | 'SHA-256', text: string): string {
  return createHash(algorithm === 'MD5' ? 'md5' : 'sha256').update(text).digest('hex');
}

/** A Proxy-Authorization value answering `challenge`, computed from RFC 7616 §3.4.1 here rather than by the module. */
export function authorization(challenge: string, opts: { username: string; password: string; uri: string; realm?: string; method?: string; nc?: string; cnonce?: string }): string {
  const nonce = /nonce="([^"]+)"/.exec(challenge)?.[1];
  const algorithm = /algorithm=(SHA-256|MD5)/.exec(challenge)?.[1] as 'MD5' | 'SHA-256' | undefined;
  const realm = opts.realm ?? /realm="([^"]+)"/.exec(challenge)?.[1];
  assert.ok(nonce !== undefined && algorithm !== undefined && realm !== undefined, `not a challenge: ${challenge}`);
  const nc = opts.nc ?? '00000001';
  const cnonce = opts.cnonce ?? '0a4f113b';
  const ha1 = md(algorithm, `${opts.username}:${realm}:${opts.password}`);
  const ha2 = md(algorithm, `${opts.method ?? 'INVITE'}:${opts.uri}`);
  const response = md(algorithm, `${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return `Digest username="${opts.username}", realm="${realm}", nonce="${nonce}", uri="${opts.uri}", response="${response}", algorithm=${algorithm}, cnonce="${cnonce}", nc=${nc}, qop=auth`;
}

export function asTermination(plan: CallPlan): TerminationPlan {
  assert.equal(plan.kind, 'termination', `expected termination, got ${JSON.stringify(plan)}`);
  return plan as TerminationPlan;
}

export function asOrigination(plan: CallPlan): OriginationPlan {
  assert.equal(plan.kind, 'origination', `expected origination, got ${JSON.stringify(plan)}`);
  return plan as OriginationPlan;
}

export function asChallenge(plan: CallPlan): Extract<CallPlan, { kind: 'challenge' }> {
  assert.equal(plan.kind, 'challenge', `expected challenge, got ${JSON.stringify(plan)}`);
  return plan as Extract<CallPlan, { kind: 'challenge' }>;
}

/** The targets without the carrier object, as comparable data. */
export const targetsOf = (plan: TerminationPlan | OriginationPlan) =>
  plan.targets.map((t) => ({ uri: t.uri.toString(), host: t.host, port: t.port, transport: t.transport, carrier: t.carrier?.id, failoverOn: t.failoverOn, offer: t.offer }));
