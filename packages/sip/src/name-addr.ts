import { HeaderValueError } from './errors.js';
import { isToken, trimLws, trimLwsEnd } from './grammar.js';
import { formatParams, getParam, isGenValue, parseParams, quote, skipQuoted, unquote, withParam, type Param } from './params.js';
import { parseUri, type Uri, type UriParseOptions } from './uri.js';

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
  let i = 0;
  const n = text.length;
  while (i < n && isWs(text.charCodeAt(i))) i++;
  let displayName: string | undefined;
  let lt = -1;
  if (text.charCodeAt(i) === 34) {
    const end = skipQuoted(text, i);
    if (end === -1) throw new HeaderValueError('unterminated display name');
    displayName = unquote(text.slice(i, end));
    lt = end;
    while (lt < n && isWs(text.charCodeAt(lt))) lt++;
    if (text.charCodeAt(lt) !== 60) throw new HeaderValueError('expected < after display name');
  } else {
    const candidate = text.indexOf('<', i);
    const colon = text.indexOf(':', i);
    if (candidate !== -1 && (colon === -1 || colon > candidate)) {
      lt = candidate;
      const dn = trimLws(text.slice(i, lt));
      if (dn.length > 0) {
        // display-name = *(token LWS): a comma or other separator needs quotes (RFC 4475 §3.1.2.16)
        for (const word of dn.split(/[ \t]+/)) if (!isToken(word)) throw new HeaderValueError('bad display name');
        displayName = dn;
      }
    }
  }
  if (lt !== -1) {
    const gt = text.indexOf('>', lt);
    if (gt === -1) throw new HeaderValueError('missing >');
    const uriText = text.slice(lt + 1, gt);
    // LAQUOT/RAQUOT admit no whitespace inside the brackets (RFC 4475 §3.1.2.15)
    const uri = parseUri(uriText, IN_BRACKETS);
    return new NameAddr(uri, displayName, parseParams(text, isGenValue, gt + 1));
  }
  if (requireBrackets) throw new HeaderValueError('expected <URI>');
  let semi = text.indexOf(';', i);
  if (semi === -1) semi = n;
  const uriText = trimLwsEnd(text.slice(i, semi));
  // addr-spec cannot carry URI headers: "?", "," or ";" force the bracket form (RFC 3261 §20)
  const uri = parseUri(uriText, ADDR_SPEC);
  return new NameAddr(uri, undefined, parseParams(text, isGenValue, semi));
}
