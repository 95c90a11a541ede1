/**
 * Jenkins' `tree=` query parameter: which fields of the remote API's answer
 * to keep, with `{from,to}` ranges on lists, e.g.
 * `builds[number,result,actions[causes[userId]]]{0,100}`.
 */
export interface TreeField {
  name: string;
  children?: TreeField[];
  range?: { from?: number; to?: number };
}

/** Parses a `tree=` value; throws on a syntax error, as Jenkins answers 400. */
export function parseTree(tree: string): TreeField[] {
  let at = 0;
  const fields = (): TreeField[] => {
    const out: TreeField[] = [];
    for (;;) {
      const start = at;
      while (at < tree.length && /[A-Za-z0-9_$]/.test(tree[at])) {
        at++;
      }
      const field: TreeField = { name: tree.slice(start, at) };
      if (!field.name) {
        throw new Error(`tree: field name expected at ${start}`);
      }
      if (tree[at] === '[') {
        at++;
        field.children = fields();
        if (tree[at++] !== ']') {
          throw new Error(`tree: ] expected at ${at - 1}`);
        }
      }
      if (tree[at] === '{') {
        const end = tree.indexOf('}', at);
        if (end < 0) {
          throw new Error(`tree: } expected after ${at}`);
        }
        field.range = parseRange(tree.slice(at + 1, end));
        at = end + 1;
      }
      out.push(field);
      if (tree[at] !== ',') {
        return out;
      }
      at++;
    }
  };
  const parsed = fields();
  if (at !== tree.length) {
    throw new Error(`tree: unexpected ${tree[at]} at ${at}`);
  }
  return parsed;
}

function parseRange(text: string): { from?: number; to?: number } {
  const num = (s: string) => {
    if (!/^\d+$/.test(s.trim())) {
      throw new Error(`tree: bad range {${text}}`);
    }
    return Number(s);
  };
  if (!text.includes(',')) {
    const n = num(text);
    return { from: n, to: n + 1 };
  }
  const [from, to] = text.split(',');
  return {
    from: from.trim() ? num(from) : undefined,
    to: to.trim() ? num(to) : undefined,
  };
}

/** Keeps only the fields of a tree, as Jenkins does; `_class` always stays. */
export function applyTree(value: unknown, fields: TreeField[]): unknown {
  if (Array.isArray(value)) {
    return value.map(v => applyTree(v, fields));
  }
  if (!value || typeof value !== 'object') {
    return value;
  }
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if ('_class' in source) {
    out._class = source._class;
  }
  for (const field of fields) {
    if (!Object.prototype.hasOwnProperty.call(source, field.name)) {
      continue;
    }
    let child = source[field.name];
    if (Array.isArray(child) && field.range) {
      child = child.slice(field.range.from ?? 0, field.range.to);
    }
    out[field.name] = field.children ? applyTree(child, field.children) : child;
  }
  return out;
}
