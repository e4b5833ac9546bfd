import { HeaderValueError } from './errors.js';
import { endOfLws, indexIn, isTokenAt, skipLws } from './grammar.js';
import { formatParams, getParam, isGenValue, parseParams, quote, skippedQuotedPair, skipQuotedIn, unquote, withParam, type Param } from './params.js';
import { parseUriAt, type Uri, type UriParseOptions } from './uri.js';

const IN_BRACKETS: UriParseOptions = Object.freeze({ allowHeaders: true });
const ADDR_SPEC: UriParseOptions = Object.freeze({ allowHeaders: false });

/**
 * `name-addr` or `addr-spec` with header parameters (From, To, Contact, Route, Refer-To, ...).
 * Written as `addr-spec` the URI cannot carry its own parameters: a `;` after it starts the
 * header's parameters (RFC 3261 §20.10).
 */
export class NameAddr {
  constructor(
    readonly uri: Uri,
    readonly displayName: string | undefined = undefined,
    readonly params: readonly Param[] = [],
  ) {}

  get tag(): string | undefined {
    return this.param('tag') ?? undefined;
  }

  param(name: string): string | null | undefined {
    return getParam(this.params, name);
  }

  withParam(name: string, value: string | null | undefined): NameAddr {
    return new NameAddr(this.uri, this.displayName, withParam(this.params, name, value));
  }

  withTag(tag: string): NameAddr {
    return this.withParam('tag', tag);
  }

  toString(): string {
    const name = this.displayName === undefined || this.displayName === '' ? '' : quote(this.displayName) + ' ';
    return `${name}<${this.uri.toString()}>${formatParams(this.params)}`;
  }
}

function isWs(c: number): boolean {
  return c === 32 || c === 9;
}

/** Parses one name-addr/addr-spec with parameters. `requireBrackets` for Route and Record-Route. */
export function parseNameAddr(text: string, requireBrackets = false): NameAddr {
  return parseNameAddrAt(text, 0, text.length, requireBrackets);
}

/** parseNameAddr of s[from, to), read in place. */
export function parseNameAddrAt(s: string, from: number, to: number, requireBrackets: boolean): NameAddr {
  let i = from;
  let c = i < to ? s.charCodeAt(i) : -1;
  while (c === 32 || c === 9) c = ++i < to ? s.charCodeAt(i) : -1;
  let displayName: string | undefined;
  let lt = -1;
  if (c === 34) {
    const end = skipQuotedIn(s, i, to);
    if (end === -1) throw new HeaderValueError('unterminated display name');
    // the usual display name has no quoted-pair to undo
    displayName = skippedQuotedPair ? unquote(s.slice(i, end)) : s.slice(i + 1, end - 1);
    lt = end;
    while (lt < to && isWs(s.charCodeAt(lt))) lt++;
    if (lt === to || s.charCodeAt(lt) !== 60) throw new HeaderValueError('expected < after display name');
  } else if (c === 60) {
    // `<` first: no display name (and no colon before it to look for)
    lt = i;
  } else {
    const candidate = indexIn(s, '<', i, to);
    const colon = indexIn(s, ':', i, to);
    if (candidate !== -1 && (colon === -1 || colon > candidate)) {
      lt = candidate;
      const a = skipLws(s, i, lt);
      const b = endOfLws(s, a, lt);
      if (a < b) {
        // display-name = *(token LWS): a comma or other separator needs quotes (RFC 4475 §3.1.2.16)
        for (let w = a; w < b; ) {
          let e = w;
          while (e < b && !isWs(s.charCodeAt(e))) e++;
          if (!isTokenAt(s, w, e)) throw new HeaderValueError('bad display name');
          w = e;
          while (w < b && isWs(s.charCodeAt(w))) w++;
        }
        displayName = s.slice(a, b);
      }
    }
  }
  if (lt !== -1) {
    const gt = indexIn(s, '>', lt, to);
    if (gt === -1) throw new HeaderValueError('missing >');
    // LAQUOT/RAQUOT admit no whitespace inside the brackets (RFC 4475 §3.1.2.15)
    const uri = parseUriAt(s, lt + 1, gt, IN_BRACKETS);
    return new NameAddr(uri, displayName, parseParams(s, isGenValue, gt + 1, to));
  }
  if (requireBrackets) throw new HeaderValueError('expected <URI>');
  let semi = indexIn(s, ';', i, to);
  if (semi === -1) semi = to;
  // addr-spec cannot carry URI headers: "?", "," or ";" force the bracket form (RFC 3261 §20)
  const uri = parseUriAt(s, i, endOfLws(s, i, semi), ADDR_SPEC);
  return new NameAddr(uri, undefined, parseParams(s, isGenValue, semi, to));
}
