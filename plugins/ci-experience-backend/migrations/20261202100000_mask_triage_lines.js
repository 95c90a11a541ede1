// @ts-check

/**
 * Masks credentials in the log lines that failure classes stored before the
 * classifier masked them (`failure.line` of ci_jobs and ci_runs): from now
 * on src/triage/maskSecrets.ts masks each line before it is stored. The
 * patterns below are that module's as this migration was written (a
 * migration keeps doing what it did); maskMigration.test.ts checks that the
 * two agree on every token shape the module is tested with. Not reversible:
 * `down` leaves the masked lines.
 */

const MASK = '***';
const TOKEN_SHAPES = [
  /\b(gh[pousr]_)[A-Za-z0-9_]{20,251}/g,
  /\b(github_pat_)[A-Za-z0-9_]{20,244}/g,
  /\b(gl(?:pat|oas|dt|rtr|rt|cbt|ptt|ft|imt|agent|soat|ffct|wt)-)[A-Za-z0-9_.-]{10,255}/g,
  /\b(GR1348941)[A-Za-z0-9_-]{20,255}/g,
  /\b(xox[abprs]-)[A-Za-z0-9-]{10,255}/g,
  /\b(xapp-)[A-Za-z0-9-]{10,255}/g,
  /\b(AKIA|ASIA)[A-Z0-9]{16}\b/g,
  /\b(eyJ)[A-Za-z0-9_-]{4,1024}\.eyJ[A-Za-z0-9_-]{4,1024}(?:\.[A-Za-z0-9_-]{0,1024})?/g,
  /\b(npm_)[A-Za-z0-9]{36}\b/g,
];
const MASKED_ALREADY = /^[A-Za-z0-9_.-]{0,20}\*\*\*/;
const VALUE = `"[^"]{0,512}"?|'[^']{0,512}'?|[^\\s"',;&]{1,512}`;
const KEYED = new RegExp(
  `(?<![A-Za-z0-9])(aws_secret_access_key|password|passwd|pwd|secret|token|api[_-]?key)([A-Za-z0-9_-]{0,30}["']?\\s{0,5}[:=]\\s{0,5})(${VALUE})`,
  'gi',
);
const FLAG = new RegExp(
  `(--(?:password|passwd|secret|token)[A-Za-z0-9_-]{0,30}\\s{1,5})(${VALUE})`,
  'gi',
);
const AUTHORIZATION = new RegExp(
  `(\\bauthorization["']?\\s{0,5}[:=]\\s{0,5}["']?(?:(?:bearer|basic|token|digest|negotiate)\\s{1,5})?)([^\\s"',;]{1,2048})`,
  'gi',
);
const BEARER = /\b(bearer\s{1,5})([A-Za-z0-9._~+/=-]{16,2048})/gi;
const URL_PASSWORD =
  /(\b[a-z][a-z0-9+.-]{0,20}:\/\/[^\s/:@]{1,256}:)([^\s/@]{1,256})(?=@)/gi;

/** @param {string} text */
function maskShapes(text) {
  let out = text;
  for (const shape of TOKEN_SHAPES) {
    out = out.replace(shape, `$1${MASK}`);
  }
  return out;
}

/** @param {string} value */
function maskValue(value) {
  const quote = value[0] === '"' || value[0] === "'" ? value[0] : '';
  let inner = quote ? value.slice(1) : value;
  const closed = quote !== '' && inner.endsWith(quote);
  if (closed) inner = inner.slice(0, -1);
  const shaped = maskShapes(inner);
  const masked = MASKED_ALREADY.test(shaped) ? shaped : MASK;
  return `${quote}${masked}${closed ? quote : ''}`;
}

/** @param {string} line */
function maskSecrets(line) {
  /** @type {(_m: string, head: string, secret: string) => string} */
  const keep = (_m, head, secret) => head + maskValue(secret);
  return maskShapes(
    line
      .replace(URL_PASSWORD, keep)
      .replace(AUTHORIZATION, keep)
      .replace(BEARER, keep)
      .replace(FLAG, keep)
      .replace(KEYED, (_m, key, separator, secret) =>
        String(key + separator + maskValue(secret)),
      ),
  );
}

/**
 * The failure JSON with its line masked, or undefined when nothing changes.
 * @param {unknown} raw
 */
function maskedFailure(raw) {
  if (typeof raw !== 'string') return undefined;
  let failure;
  try {
    failure = JSON.parse(raw);
  } catch {
    return undefined; // read as no class by the store; left as it is
  }
  if (!failure || typeof failure.line !== 'string') return undefined;
  const line = maskSecrets(failure.line);
  return line === failure.line
    ? undefined
    : JSON.stringify({ ...failure, line });
}

/**
 * @param {import('knex').Knex} knex
 * @param {string} table
 * @param {string[]} key
 */
async function maskTable(knex, table, key) {
  /** @type {any[] | undefined} */
  let after;
  for (;;) {
    const query = knex(table)
      .whereNotNull('failure')
      .orderBy(key)
      .limit(500)
      .select([...key, 'failure']);
    if (after) {
      query.where(
        knex.raw(
          `(${key.map(() => '??').join(', ')}) > (${key
            .map(() => '?')
            .join(', ')})`,
          [...key, ...after],
        ),
      );
    }
    const rows = await query;
    if (rows.length === 0) return;
    for (const row of rows) {
      const failure = maskedFailure(row.failure);
      if (failure) {
        await knex(table)
          .where(Object.fromEntries(key.map(k => [k, row[k]])))
          .update({ failure });
      }
    }
    const last = rows[rows.length - 1];
    after = key.map(k => last[k]);
  }
}

/** @param {import('knex').Knex} knex */
exports.up = async function up(knex) {
  await maskTable(knex, 'ci_jobs', ['run_id', 'job_id']);
  await maskTable(knex, 'ci_runs', ['id']);
};

/** @param {import('knex').Knex} _knex */
exports.down = async function down(_knex) {
  // The unmasked lines are gone on purpose.
};
