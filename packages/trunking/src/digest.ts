// SIP digest authentication of customers' requests: RFC 3261 §22, with SHA-256 from RFC 8760 and the
// mechanics (qop=auth, nc, cnonce, stale) of RFC 7616.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type DigestAlgorithm = 'MD5' | 'SHA-256';

/** The fields of a `Proxy-Authorization` / `Authorization` header using the Digest scheme. */
export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm: DigestAlgorithm;
  cnonce?: string;
  nc?: string;
  qop?: string;
  opaque?: string;
}

/** What the operator stores for a user: the password, or HA1 = H(username:realm:password) per algorithm. */
export type DigestSecret = { password: string } | { ha1: Partial<Record<DigestAlgorithm, string>> };

export type DigestFailure =
  | 'malformed'
  | 'unknown-user'
  | 'wrong-realm'
  | 'bad-nonce'
  | 'stale'
  | 'uri-mismatch'
  | 'wrong-response'
  | 'replay';

export type DigestVerdict = { ok: true; username: string } | { ok: false; reason: DigestFailure };

export interface DigestAuthenticatorOptions {
  /** HMAC key for nonces; every worker of the cluster must share it so any worker can verify any nonce. */
  secret: string;
  nonceTtlMs?: number;
  now?: () => number;
  /** Upper bound on nonces remembered for replay detection in this process. */
  maxTracked?: number;
}

export interface DigestRequest {
  method: string;
  /** The Request-URI exactly as it appears in the request line. */
  requestUri: string;
  /** The realm this request is expected to authenticate in. */
  realm: string;
}

// RFC 8760 §2.3 / RFC 7616 §3.7: one challenge per algorithm, in order of preference, strongest first.
const CHALLENGE_ALGORITHMS: readonly DigestAlgorithm[] = ['SHA-256', 'MD5'];

const NODE_HASH: Record<DigestAlgorithm, string> = { MD5: 'md5', 'SHA-256': 'sha256' };
const HEX_LENGTH: Record<DigestAlgorithm, number> = { MD5: 32, 'SHA-256': 64 };

const DEFAULT_NONCE_TTL_MS = 300_000;
const DEFAULT_MAX_TRACKED = 100_000;
// Workers on different hosts disagree a little about the time; a nonce dated further ahead than this was not
// issued by a sane member of the cluster.
const MAX_CLOCK_SKEW_MS = 30_000;

// ---------------------------------------------------------------------------------------------------------
// Digest computation (RFC 7616 §3.4.1–§3.4.3)

function hashHex(algorithm: DigestAlgorithm, text: string): string {
  return createHash(NODE_HASH[algorithm]).update(text, 'utf8').digest('hex');
}

/** HA1 = H(username ":" realm ":" password), lower-case hex — what an operator may store instead of the password. */
export function digestHa1(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
  return hashHex(algorithm, `${username}:${realm}:${password}`);
}

export type DigestResponseInput = {
  algorithm: DigestAlgorithm;
  ha1: string;
  method: string;
  uri: string;
  nonce: string;
} & ({ qop?: undefined } | { qop: 'auth'; nc: string; cnonce: string });

/** The request-digest a client sends as `response`, lower-case hex. Without qop it is the RFC 2069 form. */
export function digestResponse(input: DigestResponseInput): string {
  const ha2 = hashHex(input.algorithm, `${input.method}:${input.uri}`);
  const ha1 = input.ha1.toLowerCase();
  if (input.qop === undefined) return hashHex(input.algorithm, `${ha1}:${input.nonce}:${ha2}`);
  return hashHex(input.algorithm, `${ha1}:${input.nonce}:${input.nc}:${input.cnonce}:${input.qop}:${ha2}`);
}

// ---------------------------------------------------------------------------------------------------------
// Parsing `Digest k=v, k="v", ...` (RFC 3261 §25.1 credentials / digest-response)

const WHITESPACE = /[ \t\r\n]*/y;
const TOKEN = /[A-Za-z0-9!%'*+\-.^_`|~]+/y;
// Lenient on unquoted values: some clients send uri or cnonce unquoted, which is not a token.
const BARE_VALUE = /[^\s,"]+/y;
const SCHEME = /^\s*digest[ \t\r\n]+/i;

function skipWhitespace(text: string, at: number): number {
  WHITESPACE.lastIndex = at;
  WHITESPACE.test(text);
  return WHITESPACE.lastIndex;
}

function matchAt(pattern: RegExp, text: string, at: number): string | undefined {
  pattern.lastIndex = at;
  return pattern.exec(text)?.[0];
}

/** The unescaped content of the quoted-string opening at `start`, and the index after its closing quote. */
function readQuotedString(text: string, start: number): { value: string; end: number } | undefined {
  let value = '';
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '"') return { value, end: i + 1 };
    if (c === '\\') {
      i++;
      if (i >= text.length) return undefined;
      value += text[i];
    } else value += c;
  }
  return undefined;
}

/** auth-params keyed by lower-cased name; undefined on a syntax error or a repeated name. */
function parseAuthParams(text: string, start: number): Map<string, string> | undefined {
  const params = new Map<string, string>();
  let i = start;
  for (;;) {
    i = skipWhitespace(text, i);
    if (i >= text.length) return params;
    // RFC 3261 §7.3.1 #rule: empty list elements are allowed.
    if (text[i] === ',') {
      i++;
      continue;
    }
    const name = matchAt(TOKEN, text, i);
    if (name === undefined) return undefined;
    i = skipWhitespace(text, i + name.length);
    if (text[i] !== '=') return undefined;
    i = skipWhitespace(text, i + 1);
    let value: string;
    if (text[i] === '"') {
      const quoted = readQuotedString(text, i);
      if (quoted === undefined) return undefined;
      value = quoted.value;
      i = quoted.end;
    } else {
      const bare = matchAt(BARE_VALUE, text, i);
      if (bare === undefined) return undefined;
      value = bare;
      i += bare.length;
    }
    const key = name.toLowerCase();
    // A repeated parameter is ambiguous; refusing it keeps a proxy and us from reading different values.
    if (params.has(key)) return undefined;
    params.set(key, value);
    i = skipWhitespace(text, i);
    if (i < text.length && text[i] !== ',') return undefined;
  }
}

function algorithmNamed(name: string | undefined): DigestAlgorithm | undefined {
  // RFC 7616 §3.4: algorithm absent means MD5.
  if (name === undefined) return 'MD5';
  const upper = name.toUpperCase();
  return upper === 'MD5' || upper === 'SHA-256' ? upper : undefined;
}

/**
 * Parses a Proxy-Authorization / Authorization header value: undefined when the scheme is not Digest, the
 * syntax is broken, a required field (username, realm, nonce, uri, response) is missing, or the algorithm is
 * not one we support. Scheme and parameter names are case-insensitive.
 */
export function parseDigestCredentials(value: string): DigestCredentials | undefined {
  const scheme = SCHEME.exec(value);
  if (scheme === null) return undefined;
  const params = parseAuthParams(value, scheme[0].length);
  if (params === undefined) return undefined;
  const username = params.get('username');
  const realm = params.get('realm');
  const nonce = params.get('nonce');
  const uri = params.get('uri');
  const response = params.get('response');
  const algorithm = algorithmNamed(params.get('algorithm'));
  if (username === undefined || realm === undefined || nonce === undefined || uri === undefined) return undefined;
  if (response === undefined || algorithm === undefined) return undefined;
  const credentials: DigestCredentials = { username, realm, nonce, uri, response, algorithm };
  const cnonce = params.get('cnonce');
  const nc = params.get('nc');
  const qop = params.get('qop');
  const opaque = params.get('opaque');
  if (cnonce !== undefined) credentials.cnonce = cnonce;
  if (nc !== undefined) credentials.nc = nc;
  if (qop !== undefined) credentials.qop = qop;
  if (opaque !== undefined) credentials.opaque = opaque;
  return credentials;
}

// ---------------------------------------------------------------------------------------------------------
// Stateless nonces: `<issued-at ms base36>.<salt>.<mac>`, mac = HMAC-SHA256(secret, "<issued>:<salt>:<realm>")
// truncated to 16 bytes. Any worker holding the secret can check one without shared state. The random salt
// keeps two challenges in the same millisecond apart, or their clients' nc=00000001 would look like a replay.

const NONCE_SALT_BYTES = 9;
const NONCE_MAC_BYTES = 16;
const NONCE_FORMAT = /^([0-9a-z]{1,11})\.([A-Za-z0-9_-]{12})\.([A-Za-z0-9_-]{22})$/;

function nonceMac(secret: string, issued: string, salt: string, realm: string): string {
  return createHmac('sha256', secret)
    .update(`${issued}:${salt}:${realm}`, 'utf8')
    .digest()
    .subarray(0, NONCE_MAC_BYTES)
    .toString('base64url');
}

function equalInConstantTime(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** When the nonce was issued, or undefined when it was not issued by a holder of `secret` for `realm`. */
function nonceIssuedAt(secret: string, nonce: string, realm: string): number | undefined {
  const parts = NONCE_FORMAT.exec(nonce);
  if (parts === null) return undefined;
  const [, issued = '', salt = '', mac = ''] = parts;
  // Compare the encoded text, not decoded bytes: base64url decoding ignores the low bits of the last character.
  if (!equalInConstantTime(mac, nonceMac(secret, issued, salt, realm))) return undefined;
  return parseInt(issued, 36);
}

// ---------------------------------------------------------------------------------------------------------
// Replay detection (RFC 7616 §3.4: nc counts the requests a client sent with one nonce). Best-effort per
// process: a retry landing on another worker is not seen here, and the oldest nonces are forgotten when full.

class NonceCountTracker {
  private readonly highestByNonce = new Map<string, { highest: number; expiresAt: number }>();

  constructor(private readonly maxTracked: number) {}

  /** Records `nc` for `nonce`; false when it is not above every nc already seen for that nonce. */
  accept(nonce: string, nc: number, expiresAt: number, now: number): boolean {
    this.forgetExpired(now);
    const seen = this.highestByNonce.get(nonce);
    if (seen !== undefined) {
      if (nc <= seen.highest) return false;
      seen.highest = nc;
      return true;
    }
    if (this.highestByNonce.size >= this.maxTracked) {
      const oldest = this.highestByNonce.keys().next();
      if (oldest.done !== true) this.highestByNonce.delete(oldest.value);
    }
    this.highestByNonce.set(nonce, { highest: nc, expiresAt });
    return true;
  }

  // Insertion order is roughly issue order, so stopping at the first live entry keeps this O(expired).
  private forgetExpired(now: number): void {
    for (const [nonce, entry] of this.highestByNonce) {
      if (entry.expiresAt > now) return;
      this.highestByNonce.delete(nonce);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------

function quoteString(text: string): string {
  return `"${text.replace(/[\\"]/g, '\\$&')}"`;
}

const NONCE_COUNT = /^[0-9a-f]{8}$/i;
const HEX = /^[0-9a-f]+$/i;

/** The reason `credentials` cannot even be checked, or undefined when they are well-formed. */
function malformation(credentials: DigestCredentials): 'malformed' | undefined {
  const length = HEX_LENGTH[credentials.algorithm];
  if (length === undefined) return 'malformed';
  if (credentials.response.length !== length || !HEX.test(credentials.response)) return 'malformed';
  if (credentials.qop === undefined) return undefined;
  // We only ever offer qop="auth" (auth-int would need the body hashed); the value is hashed as sent.
  if (credentials.qop !== 'auth') return 'malformed';
  if (credentials.cnonce === undefined || credentials.cnonce === '') return 'malformed';
  if (credentials.nc === undefined || !NONCE_COUNT.test(credentials.nc)) return 'malformed';
  // RFC 7616 §3.4: the count includes the current request, so it starts at 1.
  if (parseInt(credentials.nc, 16) === 0) return 'malformed';
  return undefined;
}

function expectedResponse(credentials: DigestCredentials, ha1: string, method: string): string {
  const { algorithm, uri, nonce, qop, nc, cnonce } = credentials;
  if (qop === undefined || nc === undefined || cnonce === undefined) {
    return digestResponse({ algorithm, ha1, method, uri, nonce });
  }
  return digestResponse({ algorithm, ha1, method, uri, nonce, qop: 'auth', nc, cnonce });
}

function ha1For(secret: DigestSecret, credentials: DigestCredentials): string | undefined {
  if ('password' in secret) {
    return digestHa1(credentials.algorithm, credentials.username, credentials.realm, secret.password);
  }
  return secret.ha1[credentials.algorithm]?.trim().toLowerCase();
}

/** Issues 407 challenges and checks the credentials of retried requests, with no state shared between workers. */
export class DigestAuthenticator {
  private readonly secret: string;
  private readonly nonceTtlMs: number;
  private readonly now: () => number;
  private readonly nonceCounts: NonceCountTracker;

  constructor(options: DigestAuthenticatorOptions) {
    if (options.secret === '') throw new RangeError('DigestAuthenticator needs a non-empty secret');
    const nonceTtlMs = options.nonceTtlMs ?? DEFAULT_NONCE_TTL_MS;
    if (!(nonceTtlMs > 0)) throw new RangeError(`nonceTtlMs must be positive, got ${nonceTtlMs}`);
    const maxTracked = options.maxTracked ?? DEFAULT_MAX_TRACKED;
    if (!(maxTracked >= 1)) throw new RangeError(`maxTracked must be at least 1, got ${maxTracked}`);
    this.secret = options.secret;
    this.nonceTtlMs = nonceTtlMs;
    this.now = options.now ?? Date.now;
    this.nonceCounts = new NonceCountTracker(maxTracked);
  }

  /** Proxy-Authenticate header values, one per algorithm sharing one nonce; `stale=true` when asked. */
  challenge(realm: string, options?: { stale?: boolean }): string[] {
    const nonce = this.issueNonce(realm);
    const stale = options?.stale === true ? ', stale=true' : '';
    return CHALLENGE_ALGORITHMS.map(
      (algorithm) => `Digest realm=${quoteString(realm)}, nonce="${nonce}", algorithm=${algorithm}, qop="auth"${stale}`,
    );
  }

  /**
   * Checks credentials for `request`. `secretOf` returns the user's password or stored HA1, or undefined for
   * an unknown user. Call it for each request carrying credentials, not for retransmissions (the transaction
   * layer absorbs those) — a second pass with the same nc is a replay.
   */
  verify(
    credentials: DigestCredentials,
    request: DigestRequest,
    secretOf: (username: string) => DigestSecret | undefined,
  ): DigestVerdict {
    const malformed = malformation(credentials);
    if (malformed !== undefined) return { ok: false, reason: malformed };
    if (credentials.realm !== request.realm) return { ok: false, reason: 'wrong-realm' };

    const now = this.now();
    const issuedAt = nonceIssuedAt(this.secret, credentials.nonce, request.realm);
    if (issuedAt === undefined || issuedAt > now + MAX_CLOCK_SKEW_MS) return { ok: false, reason: 'bad-nonce' };

    // RFC 3261 §22.4: the digest-uri must be the Request-URI, or a captured response could authorise another call.
    if (credentials.uri.trim() !== request.requestUri.trim()) return { ok: false, reason: 'uri-mismatch' };

    const secret = secretOf(credentials.username);
    if (secret === undefined) return { ok: false, reason: 'unknown-user' };
    // A user stored with HA1 for the other algorithm only cannot be checked; to the client that is a refusal.
    const ha1 = ha1For(secret, credentials);
    if (ha1 === undefined) return { ok: false, reason: 'wrong-response' };

    const expected = expectedResponse(credentials, ha1, request.method);
    if (!equalInConstantTime(expected, credentials.response.toLowerCase())) return { ok: false, reason: 'wrong-response' };

    // RFC 7616 §3.3: stale only when the digest was right for the old nonce, so the client retries silently
    // instead of re-prompting for a password.
    const expiresAt = issuedAt + this.nonceTtlMs;
    if (now >= expiresAt) return { ok: false, reason: 'stale' };

    // Without qop (RFC 2069 form, permitted by RFC 3261 §22.4) there is no nc to track.
    if (credentials.qop !== undefined && credentials.nc !== undefined) {
      if (!this.nonceCounts.accept(credentials.nonce, parseInt(credentials.nc, 16), expiresAt, now)) {
        return { ok: false, reason: 'replay' };
      }
    }
    return { ok: true, username: credentials.username };
  }

  private issueNonce(realm: string): string {
    const issued = Math.floor(this.now()).toString(36);
    const salt = randomBytes(NONCE_SALT_BYTES).toString('base64url');
    return `${issued}.${salt}.${nonceMac(this.secret, issued, salt, realm)}`;
  }
}
