/**
 * The insights benchmark's part of docs/benchmarks.md: summary rows (one
 * per database and target) and section "4. Insights"; and, for
 * `BENCH_ONLY=insights`, splicing them into the page a full run wrote.
 */
const { TARGETS, HISTORY_DAYS } = require('./index.cjs');

const f = (n, digits = 1) =>
  n === undefined || n === null || Number.isNaN(n)
    ? 'n/a'
    : Number(n).toLocaleString('en-US', {
        maximumFractionDigits: digits,
        minimumFractionDigits: 0,
      });
const yes = met => (met ? '**met**' : '**not met**');
const FULL_RUNS = 1_000_000;
const NAMES = { postgres: 'PostgreSQL', sqlite: 'SQLite' };

function summaryRows(ins, error) {
  if (!ins) {
    return [
      `| 4. Insights | could not run: ${error ?? 'n/a'} | | **did not run** |`,
    ];
  }
  const rows = [];
  const scale =
    ins.settings.runs < FULL_RUNS
      ? ` (${f(ins.settings.runs, 0)} runs, not the issue's ${f(FULL_RUNS, 0)})`
      : '';
  for (const kind of ins.settings.dbs) {
    const d = ins.dbs[kind];
    const name = NAMES[kind] ?? kind;
    if (!d) {
      rows.push(
        `| 4. Insights, ${name} | could not run: ${
          String(ins.errors?.[kind] ?? 'n/a').split('\n')[0]
        } | | **did not run** |`,
      );
      continue;
    }
    if (!d.entity) {
      rows.push(
        `| 4. Insights, ${name} | catch-up of the aggregates stopped at the time limit (BENCH_INSIGHTS_CATCHUP_MAX_S) after ${f(
          d.catchUp.ms / 1000,
        )} s: reads and ingestion not measured | see section 4 | **not measured** |`,
      );
      continue;
    }
    rows.push(
      `| 4. Insights, ${name}${scale}: one entity, 90 days | p95 ${f(
        d.entity.p95,
      )} ms (p50 ${f(d.entity.p50)} ms, ${d.entity.samples} entities) | < ${
        d.entity.target
      } ms p95 | ${yes(d.entity.met)} |`,
    );
    rows.push(
      `| 4. Insights, ${name}${scale}: roll-up of ${
        d.rollup.size
      } components | p95 ${f(d.rollup.p95)} ms (p50 ${f(d.rollup.p50)} ms, ${
        d.rollup.groups
      } groups) | < ${d.rollup.target} ms p95 | ${yes(d.rollup.met)} |`,
    );
    rows.push(
      `| 4. Insights, ${name}${scale}: ingestion with aggregates | ${f(
        d.ingest.withRate,
        0,
      )} vs ${f(d.ingest.withoutRate, 0)} runs/s without (${f(
        d.ingest.ratio,
        2,
      )}x) | >= ${d.ingest.target}x | ${yes(d.ingest.met)} |`,
    );
  }
  return rows;
}

function section(ins, error) {
  const L = [];
  L.push('## 4. Insights');
  L.push('');
  const s = ins?.settings;
  if (ins?.now) {
    L.push(
      `Run of ${ins.now.slice(0, 10)} (the history ends at ${
        ins.now
      }). Figures on this 2-core machine move with load: a run beside a CI run measured 2-3 times these latencies, so record them on a quiet machine.`,
    );
    L.push('');
  }
  L.push(
    `Method: \`bench/insights/\`, in the bench process, against the plugin's own code (\`KnexCiStore\`, \`InsightsAggregator\`, \`InsightsService\` from \`plugins/ci-experience-backend/src\`, loaded as TypeScript), no HTTP and no catalog, so the figures are the database work of a view and not the route's (the route adds the catalog lookup the read-latency benchmark above measures). A generated history of ${
      s ? f(s.runs, 0) : '1,000,000'
    } runs (attempts) and about five jobs each over ${
      s ? f(s.entities, 0) : '10,000'
    } entities, one source each, spread over ${HISTORY_DAYS} days (two 90-day windows and some): three workflows (CI 60%, Deploy 25%, Nightly 15%), the default branch (\`main\`, \`master\` for one source in ten) for two thirds of CI runs and a few other branches, a log-normal activity per source (a few busy ones, many quiet ones), about 20% failed (a per-source propensity plus broken streaks), half the failed runs rerun as attempt 2 (passing 70% of the time: flaky commits), 3% cancelled, 1% skipped, failed jobs with a failure class as triage stores it (\`bench/insights/generate.cjs\`, seeded: every run loads the same history). Tables from the plugin's migrations (\`KnexCiStore.fromKnex\`), loaded in bulk (PostgreSQL: multi-row \`INSERT ... SELECT FROM unnest(...)\`, two connections; SQLite: prepared statements in one transaction per batch; secondary indexes built once after the load, \`ANALYZE\` after it), all rows not yet aggregated, as a sync leaves them; then the aggregator's catch-up (\`aggregatePending()\`) folds the whole history, and \`VACUUM ANALYZE\` follows it on PostgreSQL (untimed; this machine's PostgreSQL runs with autovacuum off, and the catch-up leaves a dead version of each aggregate row per update, which autovacuum clears within minutes in production; read before it, the roll-up measured 216.5 ms at p95 instead of about 60 ms), \`ANALYZE\` on SQLite. Then: the insights (\`getInsights\`, window \`90d\`, default branch) of ${
      s?.samples ?? 200
    } random entities after 10 warm-up calls; ${
      s?.groups ?? 20
    } roll-ups (\`getRollup\`, 90 days) of ${
      s?.groupSize ?? 200
    } random components each after 2 warm-ups; and ingestion: the same ${
      s ? f(s.ingest, 0) : '20,000'
    } new runs with their jobs (two copies of one generated set, ids apart) through \`KnexCiStore.upsertRuns\` in batches of ${
      s?.batch ?? 100
    } runs, without aggregation and with the aggregates kept up to date (${
      s?.ingestMode === 'each'
        ? 'an aggregation pass, `aggregatePending()`, awaited after each batch'
        : 'the aggregator run as the plugin runs it: `schedule()` after each batch, a pass 2 s later (debounced) beside the ingestion, in batches of 500 runs; timed until all the runs are ingested AND folded, the last pass included (`BENCH_INSIGHTS_INGEST_MODE=each`: a pass awaited after each batch instead)'
    }), in the order half without, half with, half with, half without, so that drift weighs on both (what the first half without left pending is folded, untimed, before the first half with). PostgreSQL: a fresh database \`bench_insights_<timestamp>\` on 127.0.0.1:5432, dropped at the end (kept with \`BENCH_INSIGHTS_KEEP=1\`, to look into a figure with EXPLAIN); SQLite: a file under the system temp directory, deleted at the end.`,
  );
  L.push('');
  if (!ins) {
    L.push(`Could not run: ${error ?? 'n/a'}`);
    L.push('');
    return L;
  }
  if (ins.settings.runs < FULL_RUNS) {
    L.push(
      `**Scale: ${f(
        ins.settings.runs,
        0,
      )} runs (\`BENCH_INSIGHTS_RUNS\`), not the issue's ${f(
        FULL_RUNS,
        0,
      )}: these figures are a smaller run's; the targets are for the full size.**`,
    );
    L.push('');
  }
  L.push(
    '| | ' +
      ins.settings.dbs.map(k => NAMES[k] ?? k).join(' | ') +
      ' | Target |',
  );
  L.push(`| --- | ${ins.settings.dbs.map(() => '---:').join(' | ')} | --- |`);
  const row = (label, fn, target = '') =>
    L.push(
      `| ${label} | ${ins.settings.dbs
        .map(k => {
          const d = ins.dbs[k];
          if (!d) return 'did not run';
          const v = fn(d, k);
          return v === undefined ? 'not measured' : v;
        })
        .join(' | ')} | ${target} |`,
    );
  row('Runs loaded', d => f(d.load.runs, 0));
  row('Jobs loaded', d => f(d.load.jobs, 0));
  row(
    'Load time (inserts + index builds)',
    d =>
      `${f(d.load.loadMs / 1000)} s (${f(d.load.insertMs / 1000)} + ${f(
        d.load.indexMs / 1000,
      )} s)`,
  );
  row('Load rate (rows/s)', d =>
    f((d.load.runs + d.load.jobs) / (d.load.loadMs / 1000), 0),
  );
  row('ANALYZE', d => `${f(d.load.analyzeMs / 1000)} s`);
  row(
    'Aggregator catch-up (whole history)',
    d =>
      `${f(d.catchUp.ms / 1000)} s${
        d.catchUp.partial ? ' (stopped at the time limit)' : ''
      }`,
  );
  row(
    'Catch-up: runs / jobs / classes folded',
    d =>
      `${f(d.catchUp.runs, 0)} / ${f(d.catchUp.jobs, 0)} / ${f(
        d.catchUp.classes,
        0,
      )}`,
  );
  row('Catch-up rate (runs+jobs/s)', d => f(d.catchUp.rowsPerSec, 0));
  row('VACUUM ANALYZE (PostgreSQL) / ANALYZE after the catch-up', d =>
    d.vacuumMs === undefined ? undefined : `${f(d.vacuumMs / 1000)} s`,
  );
  row('Aggregate rows (daily, daily jobs, classes, commits)', d =>
    d.aggregateRows
      ? ['ci_daily', 'ci_daily_jobs', 'ci_daily_classes', 'ci_commits']
          .map(t => f(d.aggregateRows[t], 0))
          .join(' / ')
      : undefined,
  );
  row('SQLite file size', d =>
    d.sizeBytes ? `${f(d.sizeBytes / 2 ** 20, 0)} MiB` : '',
  );
  row(
    'Entity insights, 90 days: p50 / p95 / max (ms)',
    d =>
      d.entity &&
      `${f(d.entity.p50)} / **${f(d.entity.p95)}** / ${f(d.entity.max)}`,
    `p95 < ${TARGETS.entityP95Ms.postgres} ms (PostgreSQL), < ${TARGETS.entityP95Ms.sqlite} ms (SQLite)`,
  );
  row('Entity target', d => d.entity && yes(d.entity.met));
  row(
    'Roll-up of 200 components: p50 / p95 / max (ms)',
    d =>
      d.rollup &&
      `${f(d.rollup.p50)} / **${f(d.rollup.p95)}** / ${f(d.rollup.max)}`,
    `p95 < ${TARGETS.rollupP95Ms} ms`,
  );
  row('Roll-up target', d => d.rollup && yes(d.rollup.met));
  row(
    'Ingestion without aggregates (runs/s)',
    d =>
      d.ingest &&
      `${f(d.ingest.withoutRate, 0)} (${f(d.ingest.runs, 0)} runs + ${f(
        d.ingest.jobs,
        0,
      )} jobs in ${f(d.ingest.withoutMs / 1000)} s)`,
  );
  row(
    ins.settings.ingestMode === 'each'
      ? 'Ingestion with a pass after each batch (runs/s)'
      : 'Ingestion with aggregates, until all folded (runs/s)',
    d =>
      d.ingest &&
      `${f(d.ingest.withRate, 0)} (${f(d.ingest.withMs / 1000)} s, ${f(
        d.ingest.foldedRuns,
        0,
      )} runs folded)`,
  );
  row(
    'Ingestion ratio (with / without)',
    d => d.ingest && `**${f(d.ingest.ratio, 2)}x**`,
    `>= ${TARGETS.ingestRatio}x`,
  );
  row('Ingestion target', d => d.ingest && yes(d.ingest.met));
  row(
    'Untimed passes folding the halves without',
    d =>
      d.ingest &&
      `${f(d.ingest.drainedRuns, 0)} runs in ${f(
        d.ingest.drainMs / 1000,
      )} s; ${f(d.ingest.drained2Runs, 0)} runs in ${f(
        d.ingest.drain2Ms / 1000,
      )} s`,
  );
  L.push('');
  for (const kind of ins.settings.dbs) {
    const d = ins.dbs[kind];
    if (d?.entity?.example) {
      L.push(
        `- ${NAMES[kind] ?? kind}, a sample answer (${
          d.entity.example.entity
        }, 90 days): runs ${d.entity.example.runs}, success rate ${f(
          d.entity.example.successRate,
          3,
        )}, duration p95 ${f(
          d.entity.example.durationP95 / 1000,
        )} s, flaky rate ${f(d.entity.example.flakyRate, 3)}, ${
          d.entity.example.trendDays
        } trend days.`,
      );
    }
    if (d?.catchUp?.partial) {
      L.push(
        `- ${
          NAMES[kind] ?? kind
        }: the catch-up was stopped at the time limit with ${f(
          d.catchUp.pendingRuns,
          0,
        )} runs and ${f(
          d.catchUp.pendingJobs,
          0,
        )} jobs still pending, so the reads and the ingestion were not measured at this size (reads over half-built aggregates would mean nothing).`,
      );
    }
    if (ins.errors?.[kind]) {
      L.push(
        `- ${NAMES[kind] ?? kind} could not run: ${
          String(ins.errors[kind]).split('\n')[0]
        }`,
      );
    }
  }
  L.push('');
  L.push(
    `Every figure is reported beside its target, met or not. Run only this benchmark with \`BENCH_ONLY=insights yarn bench\` (it rewrites only this section and its summary rows); knobs: \`BENCH_INSIGHTS_RUNS\` (1,000,000; e.g. 50000 for a quick check), \`BENCH_INSIGHTS_ENTITIES\` (runs / 100, at least 250), \`BENCH_INSIGHTS_INGEST\` (20,000), \`BENCH_INSIGHTS_BATCH\` (100), \`BENCH_INSIGHTS_DBS\` (\`postgres,sqlite\`), \`BENCH_INSIGHTS_CATCHUP_MAX_S\` (none: stop the catch-up after that many seconds and report its rate only), \`BENCH_INSIGHTS_KEEP\` (keep the PostgreSQL database). \`BENCH_REPORT_FROM=<results.json>\` writes this section again from a run's saved results without running it.`,
  );
  L.push('');
  return L;
}

/**
 * Replaces the insights summary rows and section of a page written before
 * (or adds them), leaving the other benchmarks' figures as they were.
 */
function splice(md, rows, sec) {
  const lines = md.split('\n');
  const kept = lines.filter(l => !l.startsWith('| 4. Insights'));
  // Summary rows after the last row of the summary table.
  const sum = kept.indexOf('## Summary');
  let at = -1;
  if (sum >= 0) {
    for (let i = sum + 1; i < kept.length && !kept[i].startsWith('## '); i++) {
      if (kept[i].startsWith('|')) at = i;
    }
  }
  if (at >= 0) kept.splice(at + 1, 0, ...rows);
  // The section: in place of the old one, else before the page's tail.
  const start = kept.indexOf('## 4. Insights');
  if (start >= 0) {
    let end = start + 1;
    while (end < kept.length && !kept[end].startsWith('## ')) end++;
    kept.splice(start, end - start, ...sec);
  } else {
    let before = kept.findIndex(
      l => l === '## Benchmarks that could not run' || l === '## How to run',
    );
    if (before < 0) before = kept.length;
    kept.splice(before, 0, ...sec);
  }
  return kept.join('\n');
}

module.exports = {
  insightsSummaryRows: summaryRows,
  insightsSection: section,
  spliceInsights: splice,
};
