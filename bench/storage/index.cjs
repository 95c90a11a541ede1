/* eslint-disable no-console */
/**
 * `yarn bench storage` (issue 16 point 2): bytes per stored run, with its
 * jobs, on PostgreSQL, and the size of a 1M-run database.
 *
 * On a fresh database `bench_storage_<ts>` (127.0.0.1:5432, user postgres,
 * dropped at the end; BENCH_KEEP=1 keeps it): the plugin's migrations
 * (`KnexCiStore.fromKnex`), then BENCH_STORAGE_RUNS runs (10,000) over
 * BENCH_STORAGE_SOURCES sources (1,000) and 13 months, stored through
 * `KnexCiStore.upsertRuns` (the sync's path) and folded by the insights
 * aggregator as the plugin does, shaped like the recorded provider answers
 * (bench/scale/common.cjs `templateRuns`); VACUUM ANALYZE; the size of
 * every ci_* table (`pg_total_relation_size`: heap, indexes and TOAST);
 * bytes per run and its extrapolation to BENCH_STORAGE_TARGET runs
 * (1,000,000). Then the stored rows are copied in SQL up to the target
 * (`amplify`), VACUUM ANALYZE again, and the real size at the target.
 */
const c = require('../scale/common.cjs');

const RUN_TABLES = ['ci_runs', 'ci_jobs'];

function settings() {
  return {
    runs: c.num('BENCH_STORAGE_RUNS', 10_000),
    sources: c.num('BENCH_STORAGE_SOURCES', 1_000),
    target: c.num('BENCH_STORAGE_TARGET', 1_000_000),
  };
}

async function runStorageBench({ log = c.makeLog('storage') } = {}) {
  const s = settings();
  const templates = c.templateRuns();
  const { knex, database } = await c.createDatabase('storage');
  try {
    log(`database ${database}: migrations`);
    const { KnexCiStore } = c.backend('database/KnexCiStore');
    const { InsightsAggregator } = c.backend('insights/InsightsAggregator');
    const { KnexInsightsStore } = c.backend('insights/KnexInsightsStore');
    const store = await KnexCiStore.fromKnex(knex);
    const env = await c.machine(knex);
    const end = Date.now();
    let t = Date.now();
    await c.storeRuns(store, templates, {
      count: s.runs,
      sources: s.sources,
      end,
      spanMs: 395 * 24 * 3600_000,
      log,
    });
    const storeMs = Date.now() - t;
    log(`stored ${s.runs} runs in ${c.f(storeMs / 1000)} s; aggregating`);
    t = Date.now();
    const folded = await new InsightsAggregator({
      store: new KnexInsightsStore(knex),
    }).aggregatePending();
    const aggregateMs = Date.now() - t;
    await knex.raw('VACUUM ANALYZE');
    const vacuumed = await c.tableSizes(knex);
    // The aggregator's updates leave free space in the pages (reused by
    // later writes): the compacted size too, which the copies below have.
    await knex.raw('VACUUM (FULL, ANALYZE) ci_runs, ci_jobs');
    const small = await c.tableSizes(knex);
    const steps = (
      await knex('ci_jobs').select(
        knex.raw(
          `avg(json_array_length((data::json)->'steps')) AS steps, avg(length(data)) AS data`,
        ),
      )
    )[0];
    const perRun = sizes =>
      RUN_TABLES.reduce((sum, tb) => sum + sizes[tb].total, 0) /
      sizes.ci_runs.rows;
    const smallPerRun = perRun(small);
    log(
      `${s.runs} runs, ${small.ci_jobs.rows} jobs: ${c.f(
        smallPerRun,
        0,
      )} B per run with its jobs; copying to ${c.f(s.target, 0)} runs`,
    );
    const amp = await c.amplify(knex, { target: s.target, log });
    t = Date.now();
    await knex.raw('VACUUM ANALYZE');
    const vacuumMs = Date.now() - t;
    const large = await c.tableSizes(knex);
    const { rows: dbRows } = await knex.raw(
      'SELECT pg_database_size(current_database()) AS size',
    );
    const result = {
      settings: s,
      env,
      date: new Date().toISOString(),
      templates: {
        github: templates.github.length,
        gitlab: 1,
      },
      storeMs,
      aggregateMs,
      folded,
      jobsPerRun: small.ci_jobs.rows / small.ci_runs.rows,
      stepsPerJob: Number(steps.steps),
      jobDataBytes: Number(steps.data),
      vacuumed,
      vacuumedPerRun: perRun(vacuumed),
      small,
      smallPerRun,
      extrapolated: smallPerRun * s.target,
      amplify: amp,
      vacuumMs,
      large,
      largePerRun: perRun(large),
      largeRunTables: RUN_TABLES.reduce((sum, tb) => sum + large[tb].total, 0),
      databaseSize: Number(dbRows[0].size),
    };
    log(
      `at ${c.f(large.ci_runs.rows, 0)} runs: ${c.bytes(
        result.largeRunTables,
      )} of runs and jobs (${c.f(
        result.largePerRun,
        0,
      )} B per run), database ${c.bytes(
        result.databaseSize,
      )}; extrapolated ${c.bytes(result.extrapolated)}`,
    );
    return result;
  } finally {
    await knex.destroy();
  }
}

function report(r, error) {
  const heading = '## 5. Storage per run';
  if (!r) {
    return {
      rows: [
        `| 5. Storage per run | could not run: ${error} | | **did not run** |`,
      ],
      section: [heading, '', `Could not run: ${error}`, ''],
    };
  }
  const s = r.settings;
  const ratio = r.largePerRun / r.smallPerRun;
  const rows = [
    `| 5. Storage: bytes per stored run with its jobs, PostgreSQL | ${c.f(
      r.largePerRun,
      0,
    )} B at ${c.f(r.large.ci_runs.rows, 0)} runs (${c.f(
      r.smallPerRun,
      0,
    )} B at ${c.f(s.runs, 0)}; ${c.f(
      r.jobsPerRun,
      1,
    )} jobs per run) | measured (issue 16 point 2) | **measured** |`,
    `| 5. Storage: a ${c.f(
      r.large.ci_runs.rows,
      0,
    )}-run database, PostgreSQL | ${c.bytes(
      r.largeRunTables,
    )} of runs and jobs (database ${c.bytes(
      r.databaseSize,
    )}); extrapolated from ${c.f(s.runs, 0)} runs: ${c.bytes(
      r.extrapolated,
    )} (measured / extrapolated ${c.f(
      ratio,
      2,
    )}x) | measured (issue 16 point 2) | **measured** |`,
  ];
  const L = [heading, ''];
  L.push(
    `Run of ${r.date.slice(0, 10)} on ${
      r.env
    }. Method: \`bench/storage/\` (\`yarn bench storage\`), in the bench process against the plugin's own code. A fresh database, the plugin's migrations (\`KnexCiStore.fromKnex\`), then ${c.f(
      s.runs,
      0,
    )} finished runs over ${c.f(
      s.sources,
      0,
    )} sources and 13 months, stored through \`KnexCiStore.upsertRuns\` (the sync's write path: runs, their jobs, the superseded marks) in batches of 100, two writers, in ${c.f(
      r.storeMs / 1000,
    )} s, then folded into the insights by \`InsightsAggregator.aggregatePending()\` as the plugin does (${c.f(
      r.folded.runs,
      0,
    )} runs, ${c.f(r.folded.jobs, 0)} jobs, ${c.f(
      r.aggregateMs / 1000,
    )} s), so each row carries its counted columns as in production. The runs are shaped like the recorded provider answers, mapped by the plugin's own code (\`toProviderRun\`, \`toJob\`, \`storedRunOf\`): nine in ten are GitHub Actions runs and jobs as the repository's GitHub simulator answers them (\`packages/ci-simulator\`, the ${
      r.templates.github
    } finished runs of the demo repositories over two days, cycled; the shapes the GitHub module's contract tests hold to GitHub's documented answers), one in ten GitLab's recorded pipeline with its jobs (the GitLab module's \`__fixtures__/pipeline.json\`, \`pipeline-jobs.json\`); each with its own source, ids and times. That is ${c.f(
      r.jobsPerRun,
      2,
    )} jobs per run, ${c.f(r.stepsPerJob, 1)} steps per job, ${c.f(
      r.jobDataBytes,
      0,
    )} B of job JSON on average; no triage classes (a failed job's class adds a few hundred bytes to it). \`VACUUM ANALYZE\`, then \`pg_total_relation_size\` (heap, indexes and TOAST) of every \`ci_*\` table; again after \`VACUUM FULL\` of \`ci_runs\` and \`ci_jobs\` (compacted, the figure the extrapolation uses). Then the stored runs and jobs are copied in SQL (\`INSERT ... SELECT\` over \`generate_series\`, each copy with its own 22-character id and provider ids of the same length, the rest of the row as stored) up to ${c.f(
      r.large.ci_runs.rows,
      0,
    )} runs (${c.f(
      r.amplify.ms / 1000,
    )} s, indexes kept up to date row by row as intake does), \`VACUUM ANALYZE\` (${c.f(
      r.vacuumMs / 1000,
    )} s) and the sizes again. A run here is one stored attempt (a re-run is a row of its own).`,
  );
  L.push('');
  L.push(
    `| Table | Rows at ${c.f(s.runs, 0)} runs | Total | Rows at ${c.f(
      r.large.ci_runs.rows,
      0,
    )} runs | Heap | Indexes | TOAST | Total |`,
  );
  L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const names = Object.keys(r.large).filter(
    n => r.large[n].rows > 0 || r.small[n]?.rows > 0,
  );
  for (const n of names) {
    const a = r.small[n] ?? {};
    const b = r.large[n];
    L.push(
      `| \`${n}\` | ${c.f(a.rows, 0)} | ${c.bytes(a.total)} | ${c.f(
        b.rows,
        0,
      )} | ${c.bytes(b.heap)} | ${c.bytes(b.indexes)} | ${c.bytes(
        b.toast,
      )} | ${c.bytes(b.total)} |`,
    );
  }
  const empty = Object.keys(r.large).filter(n => !names.includes(n));
  L.push('');
  L.push(
    `The ${empty.length} other \`ci_*\` tables (${empty
      .map(n => `\`${n}\``)
      .join(', ')}) are empty here: ${c.bytes(
      empty.reduce((sum, n) => sum + r.large[n].total, 0),
    )} of empty indexes together.`,
  );
  L.push('');
  L.push('| | Figure |');
  L.push('| --- | ---: |');
  L.push(
    `| Bytes per run with its jobs (\`ci_runs\` + \`ci_jobs\`, all included, compacted), ${c.f(
      s.runs,
      0,
    )} runs | ${c.f(r.smallPerRun, 0)} B |`,
  );
  L.push(
    `| The same after plain \`VACUUM\` only, before \`VACUUM FULL\` (free space the aggregator's updates left in the pages, which later writes reuse) | ${c.f(
      r.vacuumedPerRun,
      0,
    )} B |`,
  );
  L.push(
    `| Of which the run (\`ci_runs\`) / its jobs (\`ci_jobs\`) | ${c.f(
      r.small.ci_runs.total / r.small.ci_runs.rows,
      0,
    )} B / ${c.f(r.small.ci_jobs.total / r.small.ci_runs.rows, 0)} B (${c.f(
      r.small.ci_jobs.total / r.small.ci_jobs.rows,
      0,
    )} B a job) |`,
  );
  L.push(
    `| Extrapolated to ${c.f(r.large.ci_runs.rows, 0)} runs | ${c.bytes(
      r.extrapolated,
    )} |`,
  );
  L.push(
    `| **Measured at ${c.f(
      r.large.ci_runs.rows,
      0,
    )} runs** (runs and jobs) | **${c.bytes(r.largeRunTables)}**, ${c.f(
      r.largePerRun,
      0,
    )} B per run (${c.f(ratio, 2)}x the extrapolation) |`,
  );
  L.push(
    `| Of which \`ci_runs\` / \`ci_jobs\` | ${c.bytes(
      r.large.ci_runs.total,
    )} / ${c.bytes(r.large.ci_jobs.total)} |`,
  );
  L.push(
    `| Whole database at ${c.f(
      r.large.ci_runs.rows,
      0,
    )} runs (\`pg_database_size\`, catalog and insights tables included) | ${c.bytes(
      r.databaseSize,
    )} |`,
  );
  L.push('');
  L.push(
    `Sizing: about ${c.f(
      r.largePerRun / 1000,
      1,
    )} kB per stored run with its jobs, so a 1M-run database holds about ${c.bytes(
      r.largePerRun * 1_000_000,
    )} of runs and jobs; with the default retention (13 months) that is the size of about 1M runs' worth of activity, e.g. 10,000 sources at about 7.7 runs each a month. The insights tables grow with sources, workflows, branches and days, not with runs (here ${c.bytes(
      [
        'ci_daily',
        'ci_daily_jobs',
        'ci_daily_classes',
        'ci_commits',
        'ci_job_commits',
      ]
        .filter(n => r.large[n])
        .reduce((sum, n) => sum + r.large[n].total, 0),
    )} for ${c.f(s.sources, 0)} sources, folded from the ${c.f(
      s.runs,
      0,
    )} stored runs only; the copies are marked folded). Without \`VACUUM\` (autovacuum is off on this machine's PostgreSQL) the aggregator's updates leave a dead version of each run and job row until vacuum runs; production PostgreSQL's autovacuum clears them. Knobs: \`BENCH_STORAGE_RUNS\` (10,000), \`BENCH_STORAGE_SOURCES\` (1,000), \`BENCH_STORAGE_TARGET\` (1,000,000), \`BENCH_KEEP=1\` (keep the database).`,
  );
  L.push('');
  return { rows, section: L };
}

module.exports = { runStorageBench, storageReport: report };
