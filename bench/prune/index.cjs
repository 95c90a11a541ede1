/* eslint-disable no-console */
/**
 * `yarn bench prune` (issue 16, benchmark "Prune of 1M expired runs on
 * PostgreSQL while intake runs: intake >= 0.8x its rate without the
 * prune").
 *
 * On a fresh database `bench_prune_<ts>`: the plugin's migrations, then
 * BENCH_PRUNE_SEED runs (5,000) stored through `KnexCiStore.upsertRuns`
 * with times 14 to 20 months ago (past the default 13 months' retention),
 * copied in SQL up to BENCH_PRUNE_RUNS (1,000,000) runs with their jobs
 * (bench/scale/common.cjs `amplify`), VACUUM ANALYZE. Then webhook-like
 * intake: BENCH_PRUNE_WRITERS (4) concurrent writers, each applying the
 * deliveries of 10 new runs at a time through `KnexCiStore.applyDeliveries`
 * (the path `DeliveryIngestor` writes through: a run started, each job
 * finished, the run finished, one delivery each), for BENCH_PRUNE_BASELINE_S
 * (30) seconds without the prune; then the same intake while
 * `RetentionPruner.prune()` deletes the expired runs (as the plugin
 * constructs it, default options unless BENCH_PRUNE_BATCH /
 * BENCH_PRUNE_PAUSE_MS); then again without, BENCH_PRUNE_BASELINE_S. The rate
 * without is the mean of the two windows without (drift weighs on both).
 */
const c = require('../scale/common.cjs');

function settings() {
  return {
    seed: c.num('BENCH_PRUNE_SEED', 5_000),
    runs: c.num('BENCH_PRUNE_RUNS', 1_000_000),
    sources: c.num('BENCH_PRUNE_SOURCES', 1_000),
    writers: c.num('BENCH_PRUNE_WRITERS', 4),
    baselineS: c.num('BENCH_PRUNE_BASELINE_S', 30),
    maxPruneS: c.num('BENCH_PRUNE_MAX_S', 1200),
    batchSize: c.num('BENCH_PRUNE_BATCH', 0) || undefined,
    pauseMs: c.num('BENCH_PRUNE_PAUSE_MS', 0) || undefined,
  };
}

const TARGET = 0.8;
const MONTH = 30.5 * 24 * 3600_000;

/** The deliveries of one new run: started, each job finished, finished. */
function deliveriesOf(run, n) {
  const { jobs, ...bare } = run;
  const started = {
    ...bare,
    status: 'running',
    providerStatus: 'in_progress',
    finishedAt: undefined,
    durationMs: undefined,
    providerUpdatedAt: run.startedAt ?? run.createdAt,
  };
  return [
    {
      deliveryId: `bench-${n}-run-start`,
      event: 'workflow_run',
      runs: [started],
    },
    ...jobs.map(job => ({
      deliveryId: `bench-${n}-job-${job.id}`,
      event: 'workflow_job',
      jobs: [{ runId: run.id, job }],
    })),
    { deliveryId: `bench-${n}-run-done`, event: 'workflow_run', runs: [bare] },
  ];
}

/**
 * Intake until `until()` says stop: `writers` loops each applying the
 * deliveries of 10 runs per call. Counts runs whose last delivery was
 * applied, and each call's latency.
 */
async function intake(store, templates, state, { writers, sources, until }) {
  const started = Date.now();
  let runs = 0;
  let deliveries = 0;
  const latencies = [];
  const worker = async () => {
    while (!until()) {
      const batch = [];
      const from = state.next;
      state.next += 10;
      for (let i = from; i < from + 10; i++) {
        const run = c.makeRun(templates, 20_000_000 + i, {
          sources,
          end: Date.now(),
          spanMs: 3600_000,
          count: 1e9,
        });
        batch.push(...deliveriesOf(run, i));
      }
      const t = Date.now();
      const results = await store.applyDeliveries(batch);
      latencies.push(Date.now() - t);
      if (results.some(r => r !== 'applied')) {
        throw new Error('a fresh delivery was taken for a duplicate');
      }
      runs += 10;
      deliveries += batch.length;
    }
  };
  await Promise.all(Array.from({ length: writers }, worker));
  const ms = Date.now() - started;
  latencies.sort((a, b) => a - b);
  return {
    ms,
    runs,
    deliveries,
    rate: runs / (ms / 1000),
    deliveryRate: deliveries / (ms / 1000),
    p50: c.pct(latencies, 0.5),
    p99: c.pct(latencies, 0.99),
    max: latencies[latencies.length - 1],
  };
}

async function runPruneBench({ log = c.makeLog('prune') } = {}) {
  const s = settings();
  const templates = c.templateRuns();
  const { knex, database } = await c.createDatabase('prune', {
    min: 0,
    max: s.writers + 4,
  });
  try {
    log(`database ${database}: migrations`);
    const { KnexCiStore } = c.backend('database/KnexCiStore');
    const { RetentionPruner, readRetention } = c.backend('service/Retention');
    const store = await KnexCiStore.fromKnex(knex);
    const env = await c.machine(knex);
    const now = Date.now();
    let t = Date.now();
    await c.storeRuns(store, templates, {
      count: s.seed,
      sources: s.sources,
      end: now - 14 * MONTH,
      spanMs: 6 * MONTH,
      log,
    });
    log(`seeded ${s.seed} expired runs in ${c.f((Date.now() - t) / 1000)} s`);
    const amp = await c.amplify(knex, { target: s.runs, log });
    t = Date.now();
    await knex.raw('VACUUM ANALYZE');
    const vacuumMs = Date.now() - t;
    const seeded = await c.tableSizes(knex);
    log(
      `${c.f(seeded.ci_runs.rows, 0)} expired runs, ${c.f(
        seeded.ci_jobs.rows,
        0,
      )} jobs (${c.bytes(seeded.ci_runs.total + seeded.ci_jobs.total)})`,
    );

    const state = { next: 0 };
    const window = ms => {
      const end = Date.now() + ms;
      return () => Date.now() >= end;
    };
    const opts = { writers: s.writers, sources: s.sources };
    // Warm-up (untimed): connections, plans, caches.
    await intake(store, templates, state, { ...opts, until: window(5000) });
    log(`intake without the prune, ${s.baselineS} s`);
    const before = await intake(store, templates, state, {
      ...opts,
      until: window(s.baselineS * 1000),
    });
    log(
      `  ${c.f(before.rate)} runs/s (${c.f(before.deliveryRate)} deliveries/s)`,
    );

    const batches = [];
    const logger = {
      info: line => log(line),
      warn: line => log(line),
      error: line => log(line),
      debug: () => {},
      child: () => logger,
    };
    const pruner = new RetentionPruner(knex, readRetention(undefined), logger, {
      ...(s.batchSize ? { batchSize: s.batchSize } : {}),
      ...(s.pauseMs ? { pauseMs: s.pauseMs } : {}),
      onBatch: b => batches.push({ ...b, at: Date.now() }),
    });
    const abort = new AbortController();
    const limit = setTimeout(() => abort.abort(), s.maxPruneS * 1000);
    let pruneDone = false;
    let progress = Date.now();
    log('intake while the prune runs');
    const pruneStart = Date.now();
    const pruning = pruner.prune(abort.signal).finally(() => {
      pruneDone = true;
    });
    const during = await intake(store, templates, state, {
      ...opts,
      until: () => {
        if (Date.now() - progress > 30_000) {
          progress = Date.now();
          const runs = batches
            .filter(b => b.table === 'ci_runs')
            .reduce((sum, b) => sum + b.rows, 0);
          log(`  pruned ${c.f(runs, 0)} runs so far`);
        }
        return pruneDone;
      },
    });
    const pruned = await pruning;
    clearTimeout(limit);
    const pruneMs = Date.now() - pruneStart;
    log(
      `  ${c.f(during.rate)} runs/s (${c.f(
        during.deliveryRate,
      )} deliveries/s); prune ${c.f(pruneMs / 1000)} s, ${c.f(
        pruned.runs,
        0,
      )} runs`,
    );
    log(`intake without the prune again, ${s.baselineS} s`);
    const after = await intake(store, templates, state, {
      ...opts,
      until: window(s.baselineS * 1000),
    });
    log(`  ${c.f(after.rate)} runs/s`);
    const runBatches = batches.filter(b => b.table === 'ci_runs');
    const ms = runBatches.map(b => b.ms).sort((a, b) => a - b);
    const left = Number((await knex('ci_runs').count('* as n'))[0].n);
    const without = (before.rate + after.rate) / 2;
    return {
      settings: s,
      env,
      date: new Date().toISOString(),
      amplifyMs: amp.ms,
      vacuumMs,
      seeded: {
        runs: seeded.ci_runs.rows,
        jobs: seeded.ci_jobs.rows,
        bytes: seeded.ci_runs.total + seeded.ci_jobs.total,
      },
      before,
      during,
      after,
      without,
      ratio: during.rate / without,
      met: during.rate / without >= TARGET,
      prune: {
        ms: pruneMs,
        aborted: abort.signal.aborted,
        runs: pruned.runs,
        jobs: pruned.jobs,
        batches: runBatches.length,
        batchSize: s.batchSize ?? 500,
        pauseMs: s.pauseMs,
        runsPerSec: pruned.runs / (pruneMs / 1000),
        batchP50: c.pct(ms, 0.5),
        batchP99: c.pct(ms, 0.99),
        batchMax: ms[ms.length - 1],
      },
      left,
    };
  } finally {
    await knex.destroy();
  }
}

function report(r, error) {
  const heading = '## 6. Prune beside intake';
  if (!r) {
    return {
      rows: [
        `| 6. Prune beside intake | could not run: ${error} | | **did not run** |`,
      ],
      section: [heading, '', `Could not run: ${error}`, ''],
    };
  }
  const s = r.settings;
  const p = r.prune;
  const rows = [
    `| 6. Prune of ${c.f(
      r.seeded.runs,
      0,
    )} expired runs beside intake, PostgreSQL | intake ${c.f(
      r.during.rate,
      0,
    )} vs ${c.f(r.without, 0)} runs/s without (${c.f(
      r.ratio,
      2,
    )}x); prune ${c.f(p.runsPerSec, 0)} runs/s, longest batch ${c.f(
      p.batchMax,
      0,
    )} ms | >= ${TARGET}x | ${c.yes(r.met)} |`,
  ];
  const L = [heading, ''];
  L.push(
    `Run of ${r.date.slice(0, 10)} on ${
      r.env
    }. Method: \`bench/prune/\` (\`yarn bench prune\`), in the bench process against the plugin's own code. A fresh database with the plugin's migrations; ${c.f(
      s.seed,
      0,
    )} runs over ${c.f(
      s.sources,
      0,
    )} sources stored through \`KnexCiStore.upsertRuns\`, 14 to 20 months old (past the default 13 months), shaped as in section 5 (GitHub simulator runs and GitLab's recorded pipeline), then copied in SQL to **${c.f(
      r.seeded.runs,
      0,
    )} expired runs with ${c.f(r.seeded.jobs, 0)} jobs** (${c.bytes(
      r.seeded.bytes,
    )}; ${c.f(r.amplifyMs / 1000)} s, then \`VACUUM ANALYZE\`). Intake: ${
      s.writers
    } concurrent writers, each applying the webhook deliveries of 10 new runs per call through \`KnexCiStore.applyDeliveries\` (the store path \`DeliveryIngestor\` writes a batch of deliveries through, one transaction per call): for each run a delivery that starts it, one per job that finishes it, one that finishes the run. Windows: ${
      s.baselineS
    } s without the prune, then intake while \`RetentionPruner.prune()\` (as the plugin's scheduled task runs it: ${
      p.batchSize
    } runs per batch, ${
      p.pauseMs ? `a ${p.pauseMs} ms pause between batches` : 'no pause'
    }) deletes the expired runs and their jobs, then ${
      s.baselineS
    } s without again; the rate without is the mean of the two windows without. The figures are runs whose last delivery was applied, per second.`,
  );
  L.push('');
  L.push('| | Without (before) | While pruning | Without (after) |');
  L.push('| --- | ---: | ---: | ---: |');
  const row = (label, fn) =>
    L.push(`| ${label} | ${fn(r.before)} | ${fn(r.during)} | ${fn(r.after)} |`);
  row('Window', w => `${c.f(w.ms / 1000)} s`);
  row(
    'Runs taken in (deliveries)',
    w => `${c.f(w.runs, 0)} (${c.f(w.deliveries, 0)})`,
  );
  row('Runs/s', w => `**${c.f(w.rate, 0)}**`);
  row('Deliveries/s', w => c.f(w.deliveryRate, 0));
  row(
    'One call (10 runs): p50 / p99 / max',
    w => `${c.f(w.p50, 0)} / ${c.f(w.p99, 0)} / ${c.f(w.max, 0)} ms`,
  );
  L.push('');
  L.push('| | Figure | Target |');
  L.push('| --- | ---: | --- |');
  L.push(
    `| Intake while pruning / without | **${c.f(r.ratio, 2)}x** (${c.f(
      r.during.rate,
      0,
    )} / ${c.f(r.without, 0)} runs/s) | >= ${TARGET}x: ${c.yes(r.met)} |`,
  );
  L.push(
    `| Prune | ${c.f(p.runs, 0)} runs and ${c.f(p.jobs, 0)} jobs in ${c.f(
      p.ms / 1000,
    )} s${p.aborted ? ' (stopped at BENCH_PRUNE_MAX_S)' : ''}: **${c.f(
      p.runsPerSec,
      0,
    )} runs/s** | |`,
  );
  L.push(
    `| Batches of runs (each one transaction: the jobs, then the runs) | ${c.f(
      p.batches,
      0,
    )}: p50 ${c.f(p.batchP50, 0)} ms, p99 ${c.f(
      p.batchP99,
      0,
    )} ms, **longest ${c.f(p.batchMax, 0)} ms** | |`,
  );
  L.push(`| Runs left after the prune (the new ones) | ${c.f(r.left, 0)} | |`);
  L.push('');
  L.push(
    `Each batch holds row locks only on the expired rows it deletes, which no writer touches, so intake waits for none of them; what the prune takes from intake is CPU and I/O on this 2-core machine, which is why the pruner pauses after each batch as long as the batch took (\`pauseMs\` overrides it): without any pause (the pruner before this change), a run of 1M runs on this machine pruned 3,548 runs/s with a longest batch of 725 ms, and intake while pruning was 0.79x its rate without (683 against 1,029 runs/s before the prune and 703 after). Each batch starts at the \`created_at\` where the last one ended, so it does not walk again over the index entries of rows already deleted (with autovacuum off here they stay until \`VACUUM\`). Knobs: \`BENCH_PRUNE_RUNS\` (1,000,000), \`BENCH_PRUNE_SEED\` (5,000), \`BENCH_PRUNE_SOURCES\` (1,000), \`BENCH_PRUNE_WRITERS\` (4), \`BENCH_PRUNE_BASELINE_S\` (30), \`BENCH_PRUNE_MAX_S\` (1,200), \`BENCH_PRUNE_BATCH\` and \`BENCH_PRUNE_PAUSE_MS\` (the pruner's options; its defaults otherwise).`,
  );
  L.push('');
  return { rows, section: L };
}

module.exports = { runPruneBench, pruneReport: report };
