/* eslint-disable no-console */
/**
 * Benchmark 4 of `yarn bench`: CI insights on a generated history (by
 * default 1,000,000 runs and ~5,000,000 jobs over 10,000 entities), on
 * PostgreSQL (a fresh database `bench_insights_<ts>` on 127.0.0.1:5432, user
 * postgres, dropped at the end) and on SQLite (a temp file, deleted at the
 * end). Everything runs in this process against the plugin's own code
 * (KnexCiStore, InsightsAggregator, InsightsService, required as TypeScript
 * through the nodeTransform hook): no HTTP, no catalog.
 *
 * Per database: bulk load (timed), the aggregator's catch-up over the whole
 * history (timed), the insights of 200 random entities over 90 days (p50,
 * p95), 20 team roll-ups of 200 components (p50, p95), and ingestion of the
 * same N new runs with their jobs through `upsertRuns`, without aggregation
 * and with the aggregator running as the plugin runs it (`schedule()` after
 * each batch, a pass 2 s later beside the ingestion), timed until all N are
 * ingested and folded (rate ratio).
 *
 * Knobs: BENCH_INSIGHTS_RUNS (1,000,000), BENCH_INSIGHTS_ENTITIES (runs /
 * 100, at least 250), BENCH_INSIGHTS_INGEST (20,000), BENCH_INSIGHTS_BATCH
 * (100 runs per upsertRuns call), BENCH_INSIGHTS_DBS (`postgres,sqlite`),
 * BENCH_INSIGHTS_INGEST_MODE (`product`; `each`: an awaited
 * `aggregatePending()` after each batch, the former method),
 * BENCH_INSIGHTS_PROFILE (1: log the time per statement kind of the
 * ingestion part, for diagnosis).
 */
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { Client } = require('pg');
const knexLib = require('knex');
const {
  DAY,
  HISTORY_DAYS,
  RUN_COLUMNS,
  JOB_COLUMNS,
  WORKFLOWS,
  entityOf,
  generateHistory,
  prng,
} = require('./generate.cjs');
const { loadPostgres, loadSqlite } = require('./load.cjs');

const BACKEND_SRC = path.resolve(
  __dirname,
  '../../plugins/ci-experience-backend/src',
);

const num = (name, fallback) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
};

function settings() {
  const runs = num('BENCH_INSIGHTS_RUNS', 1_000_000);
  return {
    runs,
    entities: num(
      'BENCH_INSIGHTS_ENTITIES',
      Math.max(250, Math.round(runs / 100)),
    ),
    ingest: num('BENCH_INSIGHTS_INGEST', 20_000),
    batch: num('BENCH_INSIGHTS_BATCH', 100),
    catchUpMaxMs: num('BENCH_INSIGHTS_CATCHUP_MAX_S', 0) * 1000,
    // `product`: the aggregator runs as the plugin runs it (schedule() after
    // each batch, debounced 2 s, concurrently); `each`: a pass after each.
    ingestMode:
      process.env.BENCH_INSIGHTS_INGEST_MODE === 'each' ? 'each' : 'product',
    samples: 200,
    groups: 20,
    groupSize: 200,
    dbs: (process.env.BENCH_INSIGHTS_DBS ?? 'postgres,sqlite')
      .split(',')
      .map(s => s.trim())
      .filter(Boolean),
  };
}

const TARGETS = {
  entityP95Ms: { postgres: 50, sqlite: 100 },
  rollupP95Ms: 200,
  ingestRatio: 0.8,
};

/** Nearest-rank percentile of unsorted numbers. */
function pct(values, q) {
  if (values.length === 0) return undefined;
  const s = values.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

const ms = t0 => Number(process.hrtime.bigint() - t0) / 1e6;
const now0 = () => process.hrtime.bigint();

/** Row arrays of generateHistory as StoredRun objects with their jobs. */
function toStoredRuns(batch) {
  const col = name => RUN_COLUMNS.findIndex(([n]) => n === name);
  const jcol = name => JOB_COLUMNS.findIndex(([n]) => n === name);
  const jobsByRun = new Map();
  for (const j of batch.jobs) {
    const runId = j[jcol('run_id')];
    const list = jobsByRun.get(runId) ?? [];
    list.push(JSON.parse(j[jcol('data')]));
    jobsByRun.set(runId, list);
  }
  const opt = v => (v === null ? undefined : v);
  return batch.runs.map(r => {
    const run = {
      id: r[col('id')],
      sourceKey: r[col('source_key')],
      provider: r[col('provider')],
      source: r[col('source')],
      providerRunId: r[col('provider_run_id')],
      attempt: r[col('attempt')],
      workflow: r[col('workflow')],
      workflowPath: opt(r[col('workflow_path')]),
      runNumber: r[col('run_number')],
      status: r[col('status')],
      providerStatus: r[col('provider_status')],
      branch: opt(r[col('branch')]),
      commitSha: opt(r[col('commit_sha')]),
      commitMessage: opt(r[col('commit_message')]),
      actor: opt(r[col('actor')]),
      event: opt(r[col('event')]),
      url: r[col('url')],
      createdAt: r[col('created_at')],
      startedAt: opt(r[col('started_at')]),
      finishedAt: opt(r[col('finished_at')]),
      durationMs: opt(r[col('duration_ms')]),
      queuedMs: opt(r[col('queued_ms')]),
      providerUpdatedAt: opt(r[col('provider_updated_at')]),
      jobs: jobsByRun.get(r[col('id')]) ?? [],
    };
    return Object.fromEntries(
      Object.entries(run).filter(([, v]) => v !== undefined),
    );
  });
}

/** The ingestion set: `count` new runs of the last day, in batches. */
function ingestionBatches(s, now, { idPrefix, runIdBase, seed }) {
  const out = [];
  let pending = [];
  for (const b of generateHistory({
    entities: s.entities,
    runs: s.ingest,
    now,
    days: 1,
    seed,
    batchRuns: 1000,
    idPrefix,
    runIdBase,
    withSources: false,
    liveLastHour: false,
  })) {
    pending = pending.concat(toStoredRuns(b));
    while (pending.length >= s.batch) {
      out.push(pending.slice(0, s.batch));
      pending = pending.slice(s.batch);
    }
  }
  if (pending.length) out.push(pending);
  return out;
}

/** Clean-ups of databases and files in use, for a signal handler. */
const pendingCleanups = new Set();

async function cleanupInsights() {
  for (const c of [...pendingCleanups]) {
    await c().catch(() => {});
  }
}

async function withDatabase(kind, stamp, log, fn) {
  if (kind === 'postgres') {
    const database = `bench_insights_${stamp}`;
    const admin = new Client({
      host: '127.0.0.1',
      port: 5432,
      user: 'postgres',
      database: 'postgres',
    });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${database}"`);
      const drop = async () => {
        pendingCleanups.delete(drop);
        await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      };
      pendingCleanups.add(drop);
      log(`insights/postgres: database ${database}`);
      const connection = {
        host: '127.0.0.1',
        port: 5432,
        user: 'postgres',
        database,
      };
      try {
        return await fn({
          connection,
          makeKnex: () =>
            knexLib({
              client: 'pg',
              connection,
              pool: { min: 0, max: 5 },
            }),
          load: (spec, l) => loadPostgres(connection, spec, l),
          describe: `PostgreSQL database ${database}`,
        });
      } finally {
        if (process.env.BENCH_INSIGHTS_KEEP) {
          // Kept for looking into a figure (EXPLAIN): drop it by hand.
          pendingCleanups.delete(drop);
          log(`insights/postgres: kept ${database} (BENCH_INSIGHTS_KEEP)`);
        } else {
          await drop();
          log(`insights/postgres: dropped ${database}`);
        }
      }
    } finally {
      await admin.end();
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ci-insights-bench-'));
  const filename = path.join(dir, 'bench.sqlite');
  log(`insights/sqlite: ${filename}`);
  const remove = async () => {
    pendingCleanups.delete(remove);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  pendingCleanups.add(remove);
  try {
    return await fn({
      makeKnex: () =>
        knexLib({
          client: 'better-sqlite3',
          connection: { filename },
          useNullAsDefault: true,
        }),
      load: (spec, l) => loadSqlite(filename, spec, l),
      describe: 'SQLite file (better-sqlite3)',
      sizeBytes: () => fs.statSync(filename).size,
    });
  } finally {
    await remove();
    log(`insights/sqlite: removed ${dir}`);
  }
}

async function benchOne(kind, s, stamp, now, log) {
  const { KnexCiStore } = require(path.join(
    BACKEND_SRC,
    'database/KnexCiStore',
  ));
  const insights = require(path.join(BACKEND_SRC, 'insights'));
  return withDatabase(kind, stamp, log, async db => {
    const res = { kind, describe: db.describe };
    // Tables from the plugin's migrations.
    let knex = db.makeKnex();
    await KnexCiStore.fromKnex(knex);
    if (kind === 'sqlite') {
      await knex.destroy(); // the loader opens the file on its own
    }
    log(
      `insights/${kind}: loading ${s.runs.toLocaleString(
        'en-US',
      )} runs over ${s.entities.toLocaleString('en-US')} entities`,
    );
    const spec = { entities: s.entities, runs: s.runs, now };
    res.load = await db.load(spec, log);
    log(
      `insights/${kind}: loaded ${res.load.runs.toLocaleString(
        'en-US',
      )} runs and ${res.load.jobs.toLocaleString('en-US')} jobs in ${(
        res.load.loadMs / 1000
      ).toFixed(1)} s (inserts ${(res.load.insertMs / 1000).toFixed(1)} s, ${
        res.load.indexes
      } indexes ${(res.load.indexMs / 1000).toFixed(1)} s; ANALYZE ${(
        res.load.analyzeMs / 1000
      ).toFixed(1)} s) = ${Math.round(
        (res.load.runs + res.load.jobs) / (res.load.loadMs / 1000),
      ).toLocaleString('en-US')} rows/s`,
    );
    if (kind === 'sqlite') {
      knex = db.makeKnex();
    }
    try {
      const store = await KnexCiStore.fromKnex(knex);
      const { aggregator, service } = await insights.createInsights({
        knex,
        skipMigrations: true,
      });

      // The aggregator's catch-up over the whole history.
      log(`insights/${kind}: aggregator catch-up over the whole history`);
      let t = now0();
      res.catchUp = await catchUp(kind, knex, aggregator, s, log);
      res.aggregateRows = await countAggregates(knex);
      // The catch-up updated each aggregate row many times. In production
      // autovacuum clears the dead row versions minutes later; this machine's
      // PostgreSQL runs with autovacuum off, so without this the reads below
      // would visit every dead version. Untimed, logged.
      const tidy = kind === 'postgres' ? 'VACUUM ANALYZE' : 'ANALYZE';
      t = now0();
      await knex.raw(tidy);
      res.vacuumMs = ms(t);
      log(
        `insights/${kind}: ${tidy} after the catch-up in ${(
          res.vacuumMs / 1000
        ).toFixed(1)} s`,
      );
      if (db.sizeBytes) res.sizeBytes = db.sizeBytes();
      log(
        `insights/${kind}: catch-up folded ${res.catchUp.runs.toLocaleString(
          'en-US',
        )} runs, ${res.catchUp.jobs.toLocaleString(
          'en-US',
        )} jobs, ${res.catchUp.classes.toLocaleString('en-US')} classes in ${(
          res.catchUp.ms / 1000
        ).toFixed(1)} s (${Math.round(res.catchUp.rowsPerSec).toLocaleString(
          'en-US',
        )} runs+jobs/s)${
          res.catchUp.partial
            ? `; STOPPED at the time limit with ${res.catchUp.pendingRuns} runs and ${res.catchUp.pendingJobs} jobs pending`
            : ''
        }; aggregate rows ${JSON.stringify(res.aggregateRows)}`,
      );
      if (res.catchUp.partial) {
        // Reads over half-built aggregates would mean nothing.
        return res;
      }

      // Entity insights over 90 days: 200 random entities, after 10 warm-ups.
      const r = prng(stamp % 1_000_000);
      const randomEntity = () => entityOf(Math.floor(r.next() * s.entities));
      const entityCall = ent =>
        // Branches absent: the source's default branch, as the route asks.
        service.getInsights({
          sourceKeys: [ent.sourceKey],
          window: { label: '90d' },
          now: new Date(now),
        });
      for (let i = 0; i < 10; i++) await entityCall(randomEntity());
      const lat = [];
      let figures;
      for (let i = 0; i < s.samples; i++) {
        const ent = randomEntity();
        t = now0();
        const out = await entityCall(ent);
        lat.push(ms(t));
        figures = figures ?? { entity: ent.entityRef, out };
      }
      res.entity = {
        samples: lat.length,
        p50: pct(lat, 0.5),
        p95: pct(lat, 0.95),
        max: pct(lat, 1),
        target: TARGETS.entityP95Ms[kind],
        example: summarizeInsights(figures),
      };
      res.entity.met = res.entity.p95 < res.entity.target;
      log(
        `insights/${kind}: entity insights 90d, ${
          lat.length
        } entities: p50 ${res.entity.p50.toFixed(
          1,
        )} ms, p95 ${res.entity.p95.toFixed(1)} ms (target < ${
          res.entity.target
        } ms: ${res.entity.met ? 'met' : 'NOT met'})`,
      );

      // Team roll-ups: groups of 200 random components, 90 days.
      const rollupCall = ents =>
        service.getRollup({
          entities: ents.map(e => ({
            entityRef: e.entityRef,
            sourceKeys: [e.sourceKey],
          })),
          window: '90d',
          now: new Date(now),
        });
      const group = () =>
        Array.from({ length: s.groupSize }, () => randomEntity());
      await rollupCall(group());
      await rollupCall(group());
      const rl = [];
      for (let i = 0; i < s.groups; i++) {
        const g = group();
        t = now0();
        await rollupCall(g);
        rl.push(ms(t));
      }
      res.rollup = {
        groups: rl.length,
        size: s.groupSize,
        p50: pct(rl, 0.5),
        p95: pct(rl, 0.95),
        max: pct(rl, 1),
        target: TARGETS.rollupP95Ms,
      };
      res.rollup.met = res.rollup.p95 < res.rollup.target;
      log(
        `insights/${kind}: roll-up of ${s.groupSize} components, ${
          rl.length
        } groups: p50 ${res.rollup.p50.toFixed(
          1,
        )} ms, p95 ${res.rollup.p95.toFixed(1)} ms (target < ${
          res.rollup.target
        } ms: ${res.rollup.met ? 'met' : 'NOT met'})`,
      );

      const stopProfile = process.env.BENCH_INSIGHTS_PROFILE
        ? profileQueries(knex)
        : undefined;
      res.ingest = await benchIngest(kind, s, now, store, aggregator, log);
      if (stopProfile) log(`insights/${kind}: profile\n${stopProfile()}`);
    } finally {
      await knex.destroy();
    }
    return res;
  });
}

/**
 * The same N new runs (two copies of one generated set, ids apart) through
 * `upsertRuns`, batch by batch: without aggregation, then with a pass of the
 * aggregator after each batch. Between the two, a pass (untimed) folds what
 * the first copy left pending, so that the second starts from a caught-up
 * state, as a running portal would be.
 */
async function benchIngest(kind, s, now, store, aggregator, log) {
  const at = now + 3_600_000; // new runs of the hour after the history
  const warm = ingestionBatches(
    { ...s, ingest: Math.min(1000, s.ingest) },
    at,
    {
      idPrefix: 'w',
      runIdBase: 4_000_000_000,
      seed: 11,
    },
  );
  const plain = ingestionBatches(s, at, {
    idPrefix: 'p',
    runIdBase: 5_000_000_000,
    seed: 13,
  });
  const kept = ingestionBatches(s, at, {
    idPrefix: 'k',
    runIdBase: 6_000_000_000,
    seed: 13,
  });
  const count = bs => bs.reduce((n, b) => n + b.length, 0);
  const jobs = bs =>
    bs.reduce((n, b) => n + b.reduce((m, run) => m + run.jobs.length, 0), 0);
  // Warm-up: JIT and caches, both code paths.
  for (const b of warm) {
    await store.upsertRuns(b);
    await aggregator.aggregatePending();
  }
  log(
    `insights/${kind}: ingestion of ${count(plain).toLocaleString(
      'en-US',
    )} runs + ${jobs(plain).toLocaleString('en-US')} jobs in batches of ${
      s.batch
    }, without and with ${
      s.ingestMode === 'each'
        ? 'an aggregation pass after each batch'
        : 'the aggregator running as in the plugin (schedule() after each batch, debounced 2 s), timed until all are folded'
    } (order: half without, half with, half with, half without)`,
  );
  const half = Math.ceil(plain.length / 2);
  const without = async bs => {
    const t = now0();
    for (const b of bs) await store.upsertRuns(b);
    return ms(t);
  };
  let folded = 0;
  const withAgg = async bs => {
    const t = now0();
    if (s.ingestMode === 'each') {
      for (const b of bs) {
        await store.upsertRuns(b);
        folded += (await aggregator.aggregatePending()).runs;
      }
      return ms(t);
    }
    // As the plugin does (plugin.ts: onSourceChanged → schedule()): a pass
    // 2 s after a change, running beside the ingestion; timed until all the
    // batches are ingested AND folded (idle() cancels the pending timer and
    // waits for the pass under way, then a last pass folds the rest).
    const pending0 = await pendingCounts(aggregator.knex);
    for (const b of bs) {
      await store.upsertRuns(b);
      aggregator.schedule(2000);
    }
    await aggregator.idle();
    await aggregator.aggregatePending();
    const elapsed = ms(t);
    const pending1 = await pendingCounts(aggregator.knex);
    folded += count(bs) + pending0.runs - pending1.runs;
    return elapsed;
  };
  // ABBA, so that a drift (tables growing, caches warming) weighs on both.
  let withoutMs = await without(plain.slice(0, half));
  // What the plain half left pending is folded untimed first: "with" starts
  // from caught-up aggregates, as a running portal would.
  let t = now0();
  const drained = await aggregator.aggregatePending();
  const drainMs = ms(t);
  let withMs = await withAgg(kept.slice(0, half));
  withMs += await withAgg(kept.slice(half));
  withoutMs += await without(plain.slice(half));
  t = now0();
  const drained2 = await aggregator.aggregatePending();
  const drain2Ms = ms(t);
  const runs = count(plain);
  const out = {
    runs,
    jobs: jobs(plain),
    batches: plain.length,
    batch: s.batch,
    withoutMs,
    withMs,
    withoutRate: runs / (withoutMs / 1000),
    withRate: runs / (withMs / 1000),
    drainMs,
    drainedRuns: drained.runs,
    drain2Ms,
    drained2Runs: drained2.runs,
    foldedRuns: folded,
    target: TARGETS.ingestRatio,
  };
  out.ratio = out.withRate / out.withoutRate;
  out.met = out.ratio >= out.target;
  log(
    `insights/${kind}: ingestion ${out.withoutRate.toFixed(
      0,
    )} runs/s without, ${out.withRate.toFixed(
      0,
    )} runs/s with aggregates => ${out.ratio.toFixed(2)} (target >= ${
      out.target
    }: ${out.met ? 'met' : 'NOT met'}); the untimed pass between folded ${
      drained.runs
    } runs in ${(drainMs / 1000).toFixed(1)} s`,
  );
  return out;
}

/** BENCH_INSIGHTS_PROFILE: time per statement kind (diagnosis only). */
function profileQueries(knex) {
  const started = new Map();
  const totals = new Map();
  const kindOf = sql =>
    sql
      .replace(/\s+/g, ' ')
      .replace(/\(.*/, '')
      .replace(/ (values|set|where|from) .*/i, ' $1')
      .slice(0, 70);
  const onQuery = q => started.set(q.__knexQueryUid, now0());
  const onResponse = (_r, q) => {
    const t = started.get(q.__knexQueryUid);
    if (t === undefined) return;
    started.delete(q.__knexQueryUid);
    const k = kindOf(q.sql);
    const e = totals.get(k) ?? { n: 0, ms: 0 };
    e.n += 1;
    e.ms += ms(t);
    totals.set(k, e);
  };
  knex.on('query', onQuery);
  knex.on('query-response', onResponse);
  return () => {
    knex.removeListener('query', onQuery);
    knex.removeListener('query-response', onResponse);
    return [...totals.entries()]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, 25)
      .map(
        ([k, e]) =>
          `  ${e.ms.toFixed(0).padStart(7)} ms ${String(e.n).padStart(
            6,
          )}x ${k}`,
      )
      .join('\n');
  };
}

async function pendingCounts(knex) {
  const [{ n: runs }] = await knex('ci_runs')
    .where('aggregated', false)
    .count({ n: '*' });
  const [{ n: jobs }] = await knex('ci_jobs')
    .where('aggregated', false)
    .count({ n: '*' });
  return { runs: Number(runs), jobs: Number(jobs) };
}

/**
 * The catch-up: `aggregatePending()`, or, with BENCH_INSIGHTS_CATCHUP_MAX_S,
 * the same batches (runs, then jobs, then classes) until done or out of
 * time, so that a rate can be measured on a history too big to fold within
 * the bench's time.
 */
async function catchUp(kind, knex, aggregator, s, log) {
  const t = now0();
  const before = await pendingCounts(knex);
  const tick = setInterval(() => {
    pendingCounts(knex)
      .then(p =>
        log(
          `  insights/${kind}: catch-up ${(ms(t) / 1000).toFixed(
            0,
          )} s, pending ${p.runs.toLocaleString(
            'en-US',
          )} runs, ${p.jobs.toLocaleString('en-US')} jobs`,
        ),
      )
      .catch(() => {});
  }, 60_000);
  try {
    if (!s.catchUpMaxMs) {
      const done = await aggregator.aggregatePending();
      const elapsed = ms(t);
      return {
        ...done,
        ms: elapsed,
        rowsPerSec: (done.runs + done.jobs) / (elapsed / 1000),
        pendingBefore: before,
      };
    }
    const deadline = Date.now() + s.catchUpMaxMs;
    const done = { runs: 0, jobs: 0, classes: 0 };
    let partial = false;
    for (const [k, step] of [
      ['runs', () => aggregator.aggregateRuns()],
      ['jobs', () => aggregator.aggregateJobs()],
      ['classes', () => aggregator.aggregateClasses()],
    ]) {
      for (;;) {
        if (Date.now() > deadline) {
          partial = true;
          break;
        }
        const n = await step();
        done[k] += n;
        if (n === 0) break;
      }
      if (partial) break;
    }
    const elapsed = ms(t);
    const after = await pendingCounts(knex);
    // aggregateRuns() folds the final jobs of its runs too: count by flags.
    done.jobs = before.jobs - after.jobs;
    return {
      ...done,
      ms: elapsed,
      rowsPerSec: (done.runs + done.jobs) / (elapsed / 1000),
      partial,
      pendingBefore: before,
      pendingRuns: after.runs,
      pendingJobs: after.jobs,
    };
  } finally {
    clearInterval(tick);
  }
}

async function countAggregates(knex) {
  const out = {};
  for (const table of [
    'ci_daily',
    'ci_daily_jobs',
    'ci_daily_classes',
    'ci_commits',
  ]) {
    try {
      const [{ n }] = await knex(table).count({ n: '*' });
      out[table] = Number(n);
    } catch {
      // a table the aggregator does not have (any more)
    }
  }
  return out;
}

function summarizeInsights(sample) {
  if (!sample?.out?.current) return undefined;
  const c = sample.out.current;
  const v = f => (f?.value === undefined ? 'n/a' : f.value);
  return {
    entity: sample.entity,
    runs: v(c.runs),
    successRate: v(c.successRate),
    durationP95: v(c.durationP95),
    flakyRate: v(c.flakyRate),
    trendDays: sample.out.trend?.length,
  };
}

/**
 * Runs benchmark 4 on each database in turn; answers the results, each
 * database's error apart (one failing does not hide the other's figures).
 */
async function runInsightsBench({ log, stamp }) {
  const s = settings();
  // "now" on an hour boundary, so the windows are the same for every call.
  const now = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const results = { settings: s, now: new Date(now).toISOString(), dbs: {} };
  const errors = {};
  for (const kind of s.dbs) {
    if (kind !== 'postgres' && kind !== 'sqlite') {
      errors[kind] = 'unknown database (postgres or sqlite)';
      continue;
    }
    const t = Date.now();
    try {
      results.dbs[kind] = await benchOne(kind, s, stamp, now, log);
      results.dbs[kind].totalMs = Date.now() - t;
    } catch (error) {
      errors[kind] = error.stack ?? String(error);
      log(`insights/${kind}: could not run: ${error.message}`);
    }
  }
  results.errors = errors;
  return results;
}

module.exports = {
  runInsightsBench,
  cleanupInsights,
  settings,
  TARGETS,
  HISTORY_DAYS,
  DAY,
  WORKFLOWS,
};
