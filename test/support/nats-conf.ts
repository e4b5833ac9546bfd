// Reads the subset of the nats-server configuration format that deploy/nats/*.conf uses:
// `key: value`, `key = value` or `key value`; maps `{ }`, arrays `[ ]`, quoted and bare
// strings, booleans, numbers, `$NAME` references to a variable defined earlier in the file,
// `#` and `//` comments. Enough to compare the committed permissions with what the Helm
// values give the chart, not a general parser (no `include`, no units such as 1GB).

export type ConfValue = string | number | boolean | ConfValue[] | { [key: string]: ConfValue };
export type ConfMap = { [key: string]: ConfValue };

export function parseNatsConf(text: string): ConfMap {
  const source = text;
  let i = 0;
  const variables: ConfMap = {};

  const skip = (): void => {
    for (;;) {
      while (i < source.length && /[\s,;]/.test(source[i] ?? '')) i++;
      if (source[i] !== '#' && source.slice(i, i + 2) !== '//') return;
      const end = source.indexOf('\n', i);
      i = end < 0 ? source.length : end;
    }
  };
  const fail = (what: string): never => {
    throw new Error(`nats conf: ${what} at ${JSON.stringify(source.slice(i, i + 40))}`);
  };

  const word = (): string => {
    const start = i;
    while (i < source.length && !/[\s,;:=\]}{[]/.test(source[i] ?? '')) i++;
    if (i === start) fail('expected a word');
    return source.slice(start, i);
  };

  const value = (): ConfValue => {
    skip();
    const c = source[i];
    if (c === '{') {
      i++;
      return map('}');
    }
    if (c === '[') {
      i++;
      const items: ConfValue[] = [];
      for (skip(); source[i] !== ']'; skip()) {
        if (i >= source.length) fail('unclosed [');
        items.push(value());
      }
      i++;
      return items;
    }
    if (c === '"' || c === "'") {
      const end = source.indexOf(c, i + 1);
      if (end < 0) fail('unclosed string');
      const s = source.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const w = word();
    if (w === 'true') return true;
    if (w === 'false') return false;
    if (/^-?\d+$/.test(w)) return Number(w);
    if (w.startsWith('$')) {
      const found = variables[w.slice(1)];
      return found === undefined ? w : found;
    }
    return w;
  };

  const map = (close: string | undefined): ConfMap => {
    const out: ConfMap = {};
    for (skip(); close === undefined ? i < source.length : source[i] !== close; skip()) {
      if (i >= source.length) fail(`unclosed {`);
      const key = source[i] === '"' ? (value() as string) : word();
      while (/[ \t]/.test(source[i] ?? '')) i++;
      if (source[i] === ':' || source[i] === '=') i++;
      out[key] = value();
      if (close === undefined) variables[key] = out[key];
    }
    if (close !== undefined) i++;
    return out;
  };

  return map(undefined);
}
