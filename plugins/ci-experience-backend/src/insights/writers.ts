import { Knex } from 'knex';
import { Counters } from './counting';

/*
 * The aggregator's writers, per database: upserts that add counters to
 * existing rows (PostgreSQL and SQLite's ON CONFLICT ... DO UPDATE, in
 * statements bounded in rows and bind parameters), and PostgreSQL's
 * unnest for the job-pass bumps where SQLite takes one UPDATE per
 * increment.
 */

/** Counter upserts: rows and bind parameters per statement, at most. */
const MAX_UPSERT_ROWS = 500;
const MAX_UPSERT_PARAMS = 8000;

/** Rows per PostgreSQL `unnest` upsert (a few bind parameters whatever the count). */
const PG_UNNEST_ROWS = 5000;

/** `[column, "table"."column" + excluded."column"]` for each column. */
export function sums(
  table: string,
  columns: readonly string[],
): Array<[string, string]> {
  return columns.map(c => [c, `"${table}"."${c}" + excluded."${c}"`]);
}

/**
 * A multi-row upsert: `INSERT ... ON CONFLICT (keys) DO UPDATE SET ...`,
 * rows in the order given (callers sort them by key: locks taken in one
 * order, so concurrent batches do not deadlock).
 *
 * On PostgreSQL the values go as one array per column through `unnest`:
 * one statement of a few bind parameters per 5,000 rows, where a VALUES
 * list has rows × columns of them, each numbered by knex and parsed by
 * PostgreSQL (measured at full size, the aggregator's time went mostly to
 * that). Elsewhere, knex multi-row inserts under the bind-parameter budget.
 */
export async function upsertRows(
  trx: Knex.Transaction,
  pg: boolean,
  spec: {
    table: string;
    keys: readonly string[];
    columns: readonly string[];
    rows: unknown[][];
    /** The columns of numbers (`bigint[]` on PostgreSQL); the others are text. */
    numeric: readonly string[];
    /** Column and the SQL of its new value (`excluded.<column>` for the incoming one). */
    set: ReadonlyArray<[string, string]>;
    where?: string;
    returning?: readonly string[];
  },
): Promise<any[]> {
  const out: any[] = [];
  const q = (c: string) => `"${c}"`;
  if (pg) {
    for (let i = 0; i < spec.rows.length; i += PG_UNNEST_ROWS) {
      const chunk = spec.rows.slice(i, i + PG_UNNEST_ROWS);
      const arrays = spec.columns.map((_, j) => chunk.map(r => r[j] ?? null));
      const types = spec.columns.map(c =>
        spec.numeric.includes(c) ? 'bigint' : 'text',
      );
      const sql = [
        `INSERT INTO ${q(spec.table)} (${spec.columns.map(q).join(', ')})`,
        `SELECT * FROM unnest(${types.map(t => `?::${t}[]`).join(', ')})`,
        `ON CONFLICT (${spec.keys.map(q).join(', ')}) DO UPDATE SET`,
        spec.set.map(([c, e]) => `${q(c)} = ${e}`).join(', '),
        spec.where ? `WHERE ${spec.where}` : '',
        spec.returning ? `RETURNING ${spec.returning.map(q).join(', ')}` : '',
      ].join(' ');
      const result: any = await trx.raw(sql, arrays as any[]);
      out.push(...(result.rows ?? []));
    }
    return out;
  }
  const perStatement = Math.max(
    1,
    Math.min(
      MAX_UPSERT_ROWS,
      Math.floor(MAX_UPSERT_PARAMS / spec.columns.length),
    ),
  );
  for (let i = 0; i < spec.rows.length; i += perStatement) {
    const query = trx(spec.table)
      .insert(
        spec.rows
          .slice(i, i + perStatement)
          .map(r => Object.fromEntries(spec.columns.map((c, j) => [c, r[j]]))),
      )
      .onConflict(spec.keys as string[])
      .merge(Object.fromEntries(spec.set.map(([c, e]) => [c, trx.raw(e)])));
    if (spec.where) {
      query.where(trx.raw(spec.where));
    }
    if (spec.returning) {
      out.push(...(await query.returning(spec.returning as string[])));
    } else {
      await query;
    }
  }
  return out;
}

/**
 * `ci_job_commits.passed += n` for the rows there are of these keys
 * (JSON `[source_key, workflow, commit_key, job_name]`, n = passes);
 * answers the rows bumped. PostgreSQL: one UPDATE joined to the keys as
 * arrays, whatever their count.
 */
export async function bumpPassesPg(
  trx: Knex.Transaction,
  passes: Array<[string, { passed: number }]>,
  returning: readonly string[],
): Promise<any[]> {
  const out: any[] = [];
  for (let i = 0; i < passes.length; i += PG_UNNEST_ROWS) {
    const chunk = passes
      .slice(i, i + PG_UNNEST_ROWS)
      .map(([k, v]) => [...JSON.parse(k), v.passed]);
    const result: any = await trx.raw(
      `UPDATE ci_job_commits AS t SET passed = t.passed + u.inc
       FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[])
         AS u(source_key, workflow, commit_key, job_name, inc)
       WHERE t.source_key = u.source_key AND t.workflow = u.workflow
         AND t.commit_key = u.commit_key AND t.job_name = u.job_name
       RETURNING ${returning.map(c => `t."${c}"`).join(', ')}`,
      [0, 1, 2, 3, 4].map(j => chunk.map(r => r[j])),
    );
    out.push(...(result.rows ?? []));
  }
  return out;
}

/** The same elsewhere: one UPDATE per distinct increment (nearly always 1). */
export async function bumpPassesByIncrement(
  trx: Knex.Transaction,
  passes: Array<[string, { passed: number }]>,
  returning: readonly string[],
): Promise<any[]> {
  const out: any[] = [];
  const byIncrement = new Map<number, string[][]>();
  for (const [k, v] of passes) {
    const list = byIncrement.get(v.passed) ?? [];
    list.push(JSON.parse(k));
    byIncrement.set(v.passed, list);
  }
  for (const [increment, keys] of [...byIncrement.entries()].sort(
    ([a], [b]) => a - b,
  )) {
    for (let i = 0; i < keys.length; i += 250) {
      out.push(
        ...(await trx('ci_job_commits')
          .whereIn(
            ['source_key', 'workflow', 'commit_key', 'job_name'],
            keys.slice(i, i + 250),
          )
          .update({ passed: trx.raw('passed + ?', [increment]) })
          .returning(returning as string[])),
      );
    }
  }
  return out;
}

/**
 * Adds counters into a table, keys sorted, in multi-row upserts. Only the
 * counters that are not zero in a statement's rows are sent and merged
 * (the others stay as they are, 0 on insert): a row's histograms have one
 * or two buckets set of 96, so this keeps statements a tenth as wide.
 * Rows without any counter set add nothing and are left out.
 */
export async function upsertCounters(
  trx: Knex.Transaction,
  pg: boolean,
  table: string,
  keyColumns: string[],
  counterColumns: readonly string[],
  values: Map<string, Counters>,
) {
  const setOf = (c: Counters) => Object.keys(c).filter(col => c[col] !== 0);
  const rows = [...values.entries()]
    .filter(([, c]) => setOf(c).length > 0)
    .sort(([a], [b]) => a.localeCompare(b));
  const chunkMax = pg ? PG_UNNEST_ROWS : MAX_UPSERT_ROWS;
  let i = 0;
  while (i < rows.length) {
    // Greedy chunk: as many rows as fit (on PostgreSQL, arrays: the
    // row count only; elsewhere under the bind-parameter budget).
    const used = new Set<string>();
    let end = i;
    while (end < rows.length && end - i < chunkMax) {
      const set = setOf(rows[end][1]);
      if (!pg) {
        const extra = set.filter(col => !used.has(col)).length;
        const params = (end - i + 1) * (keyColumns.length + used.size + extra);
        if (end > i && params > MAX_UPSERT_PARAMS) {
          break;
        }
      }
      for (const col of set) used.add(col);
      end += 1;
    }
    const columns = counterColumns.filter(col => used.has(col));
    await upsertRows(trx, pg, {
      table,
      keys: keyColumns,
      columns: [...keyColumns, ...columns],
      rows: rows
        .slice(i, end)
        .map(([k, c]) => [
          ...JSON.parse(k),
          ...columns.map(col => c[col] ?? 0),
        ]),
      numeric: columns,
      set: sums(table, columns),
    });
    i = end;
  }
}
