/**
 * Bulk loading of a generated history into the plugin's tables, on
 * PostgreSQL (multi-row `INSERT ... SELECT FROM unnest($1::text[], ...)`, one
 * array per column, a few thousand rows a statement, two connections so that
 * runs and jobs load side by side while the next batch is generated) and on
 * SQLite (one prepared statement in one transaction per batch, through
 * better-sqlite3 directly, synchronous=OFF while loading).
 *
 * The tables come from the plugin's migrations (`KnexCiStore.fromKnex`),
 * which the caller runs first; every column not listed here keeps its
 * default, so runs and jobs load as not yet aggregated (`aggregated` false),
 * as a sync would leave them.
 */
const { Client } = require('pg');
const {
  RUN_COLUMNS,
  JOB_COLUMNS,
  SOURCE_COLUMNS,
  generateHistory,
} = require('./generate.cjs');

function unnestInsert(table, columns) {
  const names = columns.map(([n]) => `"${n}"`).join(', ');
  const arrays = columns.map(([, t], i) => `$${i + 1}::${t}[]`).join(', ');
  return `INSERT INTO ${table} (${names}) SELECT * FROM unnest(${arrays})`;
}

function transpose(rows, width) {
  const cols = Array.from({ length: width }, () => new Array(rows.length));
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    for (let c = 0; c < width; c++) cols[c][i] = row[c];
  }
  return cols;
}

const JOB_CHUNK = 20_000;

/** Loads the history into a PostgreSQL database; answers counts and times. */
async function loadPostgres(connection, spec, log) {
  const clients = [new Client(connection), new Client(connection)];
  for (const c of clients) {
    await c.connect();
    // A bulk load: do not wait for the WAL flush of each statement.
    await c.query('SET synchronous_commit = off');
  }
  const sqlRuns = unnestInsert('ci_runs', RUN_COLUMNS);
  const sqlJobs = unnestInsert('ci_jobs', JOB_COLUMNS);
  const sqlSources = unnestInsert('ci_sources', SOURCE_COLUMNS);
  // Secondary indexes are dropped for the load and built again after it
  // from their own definitions (constraints stay): building an index once
  // is much faster than maintaining it row by row.
  const { rows: indexes } = await clients[0].query(
    `SELECT i.indexname, i.indexdef FROM pg_indexes i
      WHERE i.schemaname = current_schema() AND i.tablename IN ('ci_runs', 'ci_jobs')
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
  );
  for (const { indexname } of indexes) {
    await clients[0].query(`DROP INDEX "${indexname}"`);
  }
  const t0 = Date.now();
  let runs = 0;
  let jobs = 0;
  let lastLog = t0;
  // At most one statement in flight per connection: [0] runs, [1] jobs.
  const inflight = [Promise.resolve(), Promise.resolve()];
  const send = (i, sql, rows, width) => {
    const cols = transpose(rows, width);
    inflight[i] = inflight[i].then(() => clients[i].query(sql, cols));
  };
  try {
    for (const batch of generateHistory(spec)) {
      if (batch.sources.length) {
        await inflight[0];
        await clients[0].query(
          sqlSources,
          transpose(batch.sources, SOURCE_COLUMNS.length),
        );
      }
      // Back-pressure: wait for the previous statements before queueing more.
      await Promise.all(inflight);
      send(0, sqlRuns, batch.runs, RUN_COLUMNS.length);
      for (let i = 0; i < batch.jobs.length; i += JOB_CHUNK) {
        send(
          1,
          sqlJobs,
          batch.jobs.slice(i, i + JOB_CHUNK),
          JOB_COLUMNS.length,
        );
      }
      runs += batch.runs.length;
      jobs += batch.jobs.length;
      if (Date.now() - lastLog > 15_000) {
        lastLog = Date.now();
        log(
          `  postgres load: ${runs.toLocaleString(
            'en-US',
          )} runs, ${jobs.toLocaleString('en-US')} jobs, ${(
            (Date.now() - t0) /
            1000
          ).toFixed(0)} s`,
        );
      }
    }
    await Promise.all(inflight);
    const insertMs = Date.now() - t0;
    // Two connections build the indexes, one table each.
    await Promise.all(
      [0, 1].map(async i => {
        await clients[i].query(`SET maintenance_work_mem = '512MB'`);
        for (const { indexdef } of indexes.filter((_, k) => k % 2 === i)) {
          await clients[i].query(indexdef);
        }
      }),
    );
    const loadMs = Date.now() - t0;
    const t1 = Date.now();
    await clients[0].query('ANALYZE');
    return {
      runs,
      jobs,
      loadMs,
      insertMs,
      indexMs: loadMs - insertMs,
      indexes: indexes.length,
      analyzeMs: Date.now() - t1,
    };
  } finally {
    for (const c of clients) await c.end().catch(() => {});
  }
}

/** Loads the history into a SQLite file (no other connection open on it). */
function loadSqlite(filename, spec, log) {
  const Database = require('better-sqlite3');
  const db = new Database(filename);
  try {
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144'); // 256 MiB while loading
    const insert = (table, columns) =>
      db.prepare(
        `INSERT INTO ${table} (${columns
          .map(([n]) => `"${n}"`)
          .join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
      );
    const boolIndex = RUN_COLUMNS.findIndex(([, t]) => t === 'boolean');
    const insRuns = insert('ci_runs', RUN_COLUMNS);
    const insJobs = insert('ci_jobs', JOB_COLUMNS);
    const insSources = insert('ci_sources', SOURCE_COLUMNS);
    // As on PostgreSQL: secondary indexes built once after the load.
    const indexes = db
      .prepare(
        `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('ci_runs', 'ci_jobs') AND sql IS NOT NULL`,
      )
      .all();
    for (const { name } of indexes) db.exec(`DROP INDEX "${name}"`);
    const write = db.transaction(batch => {
      for (const s of batch.sources) insSources.run(s);
      for (const r of batch.runs) {
        r[boolIndex] = r[boolIndex] ? 1 : 0;
        insRuns.run(r);
      }
      for (const j of batch.jobs) insJobs.run(j);
    });
    const t0 = Date.now();
    let runs = 0;
    let jobs = 0;
    let lastLog = t0;
    for (const batch of generateHistory(spec)) {
      write(batch);
      runs += batch.runs.length;
      jobs += batch.jobs.length;
      if (Date.now() - lastLog > 15_000) {
        lastLog = Date.now();
        log(
          `  sqlite load: ${runs.toLocaleString(
            'en-US',
          )} runs, ${jobs.toLocaleString('en-US')} jobs, ${(
            (Date.now() - t0) /
            1000
          ).toFixed(0)} s`,
        );
      }
    }
    const insertMs = Date.now() - t0;
    for (const { sql } of indexes) db.exec(sql);
    const loadMs = Date.now() - t0;
    const t1 = Date.now();
    db.exec('ANALYZE');
    return {
      runs,
      jobs,
      loadMs,
      insertMs,
      indexMs: loadMs - insertMs,
      indexes: indexes.length,
      analyzeMs: Date.now() - t1,
    };
  } finally {
    db.close();
  }
}

module.exports = { loadPostgres, loadSqlite };
