/* eslint-disable no-console */
/**
 * `yarn bench tests` (issue 18, benchmarks): test results at scale.
 *
 * On a fresh PostgreSQL database `bench_tests_<ts>` (127.0.0.1:5432, user
 * postgres, dropped at the end; BENCH_KEEP=1 keeps it) and a fresh SQLite
 * file, each with the plugin's migrations (`KnexCiStore.fromKnex`):
 * BENCH_TESTS_ENTITIES sources (100, one per entity), BENCH_TESTS_RUNS run
 * attempts each (100) over the last 28 days, BENCH_TESTS_CASES tests per
 * attempt (2,000): 20,000,000 results. 1 % of the tests are flaky (fail a
 * first attempt in five, the run then re-run on its commit 7 times in 10;
 * pass on a retry within one in twenty), one test per entity fails always
 * (broken), the rest pass; durations 5 ms
 * to 5 s. Runs are stored through `KnexCiStore.upsertRuns`, results through
 * `KnexTestResultsStore.putResults` (the upload's and the fetcher's path),
 * BENCH_TESTS_WRITERS at a time (2) on PostgreSQL, one on SQLite.
 *
 * Measured:
 * - ingestion, results per second, with the per-day counts and commit
 *   sums (what the flaky judgment reads) compacted inside the timed span;
 * - the entity Tests view: what `GET /entities/.../tests` does (the window's
 *   and the previous window's aggregates, `judgeTests`, quarantines),
 *   called directly, BENCH_TESTS_VIEWS times (100) on random entities,
 *   p50 / p95;
 * - a team's flaky ranking: what `GET /groups/.../tests` does for 20
 *   entities (4 at a time), BENCH_TESTS_TEAMS times (20), p50 / p95;
 * - bytes per result on PostgreSQL after VACUUM ANALYZE
 *   (`pg_total_relation_size` of every ci_test_* table of results:
 *   results, per-day counts, tests, runs and sources; heap, indexes,
 *   TOAST, over the results);
 * - a 10,000-case JUnit file parsed in a child process: peak RSS over the
 *   baseline (`process.resourceUsage().maxRSS`, after `global.gc()`).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const knexLib = require('knex');
const c = require('../scale/common.cjs');

const DAY = 24 * 3600_000;
const TEAM = 20;

function settings() {
  return {
    entities: c.num('BENCH_TESTS_ENTITIES', 100),
    runs: c.num('BENCH_TESTS_RUNS', 100),
    cases: c.num('BENCH_TESTS_CASES', 2000),
    writers: c.num('BENCH_TESTS_WRITERS', 2),
    views: c.num('BENCH_TESTS_VIEWS', 100),
    teams: c.num('BENCH_TESTS_TEAMS', 20),
    sqlite: process.env.BENCH_TESTS_SQLITE !== '0',
  };
}

/** A seeded generator: the same history on every run. */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The run attempts of one entity, oldest first, with their cases. */
function* historyOf(e, s, end) {
  const random = rng(e + 1);
  const sourceKey = `github-actions:github.com/bench/svc-${e}`;
  let runNumber = 0;
  let attempts = 0;
  while (attempts < s.runs) {
    runNumber += 1;
    const createdAt = new Date(
      end - 28 * DAY + Math.floor((attempts / s.runs) * 28 * DAY),
    ).toISOString();
    // Attempt 1; a run a flaky test broke is re-run on its commit (7 in 10),
    // where the flaky tests pass.
    let rerun = false;
    for (let attempt = 1; attempt <= (rerun ? 2 : 1); attempt++) {
      attempts += 1;
      const id = `github-actions_bench_svc-${e}-${runNumber}-${attempt}`;
      const cases = [];
      let flakeFailed = false;
      for (let k = 0; k < s.cases; k++) {
        const flakyTest = k % 100 === 7;
        const broken = k === 13;
        const roll = flakyTest ? random() : 1;
        const failed = broken || (attempt === 1 && roll < 0.2);
        // Passed on a retry within the attempt (Surefire's flakyFailure).
        const retried = !failed && attempt === 1 && roll < 0.25;
        if (failed && !broken) flakeFailed = true;
        const c1 = {
          suite: `com.bench.svc${e}.Suite${k % 50}`,
          classname: `com.bench.svc${e}.Suite${k % 50}`,
          name: `test_${k}`,
          status: failed ? 'failed' : retried ? 'flaky' : 'passed',
          durationMs: 5 + Math.floor(random() * 4995),
        };
        if (failed || retried) {
          c1.message = `expected <${k}> but was: <${k + 1}>`;
        }
        cases.push(c1);
      }
      if (
        attempt === 1 &&
        flakeFailed &&
        attempts + 1 <= s.runs &&
        random() < 0.7
      ) {
        rerun = true;
      }
      yield {
        run: {
          id,
          sourceKey,
          providerRunId: String(runNumber),
          provider: 'github-actions',
          source: `github.com/bench/svc-${e}`,
          workflow: 'CI',
          runNumber,
          attempt,
          status: cases.some(x => x.status === 'failed')
            ? 'failed'
            : 'succeeded',
          providerStatus: 'completed',
          branch: 'main',
          commitSha: `sha-${e}-${runNumber}`,
          url: `https://github.com/bench/svc-${e}/actions/runs/${runNumber}`,
          createdAt,
          providerUpdatedAt: createdAt,
          finishedAt: createdAt,
          durationMs: 600_000,
        },
        cases,
      };
    }
  }
}

async function ingest(knex, s, { writers, log, label, end }) {
  const { KnexCiStore } = c.backend('database/KnexCiStore');
  const { KnexTestResultsStore } = c.backend('testResults/TestResultsStore');
  const ci = await KnexCiStore.fromKnex(knex);
  const store = new KnexTestResultsStore(knex);
  for (let e = 0; e < s.entities; e++) {
    await ci.upsertSource({
      provider: 'github-actions',
      key: `github-actions:github.com/bench/svc-${e}`,
      source: `github.com/bench/svc-${e}`,
      host: 'github.com',
    });
  }
  // Entities interleaved, as runs arrive in life: one attempt of each in turn.
  const histories = Array.from({ length: s.entities }, (_, e) =>
    historyOf(e, s, end),
  );
  let turn = 0;
  const next = () => {
    for (let tries = 0; tries < histories.length; tries++) {
      const h = histories[turn++ % histories.length];
      const item = h.next();
      if (!item.done) return item.value;
    }
    return undefined;
  };
  let results = 0;
  let busyMs = 0;
  let lastLog = Date.now();
  const total = s.entities * s.runs * s.cases;
  const t0 = Date.now();
  const worker = async () => {
    for (;;) {
      const item = next();
      if (!item) return;
      await ci.upsertRuns([item.run]);
      const t = Date.now();
      // (Not `results += await …`: that reads `results` before the wait.)
      const stored = await store.putResults(
        {
          id: item.run.id,
          sourceKey: item.run.sourceKey,
          attempt: item.run.attempt,
        },
        item.cases,
        item.run.createdAt,
      );
      results += stored;
      busyMs += Date.now() - t;
      if (Date.now() - lastLog > 30_000) {
        lastLog = Date.now();
        log(
          `${label}: ${c.f(results, 0)} of ${c.f(total, 0)} results, ${c.f(
            results / ((Date.now() - t0) / 1000),
            0,
          )}/s`,
        );
      }
    }
  };
  // The per-day counts and commit sums, compacted once per day and source
  // at the end, inside the timed ingestion. (The plugin's DayCompaction
  // compacts a day two minutes after it was first marked; the bench
  // stores 28 days in minutes, so each day's runs have all arrived.)
  let compactMs = 0;
  let compacted = 0;
  const compact = async () => {
    const t = Date.now();
    for (;;) {
      const n = await store.compactDays({ limit: 200 });
      compacted += n;
      if (n < 200) break;
    }
    compactMs += Date.now() - t;
  };
  await Promise.all(Array.from({ length: writers }, worker));
  await compact();
  const seconds = (Date.now() - t0) / 1000;
  return {
    results,
    seconds,
    perSecond: results / seconds,
    busyMs,
    compactMs,
    compacted,
  };
}

/** What the entity Tests view does, timed. */
async function measureViews(knex, s, { end, log, label }) {
  const { KnexTestResultsStore } = c.backend('testResults/TestResultsStore');
  const { KnexQuarantineStore } = c.backend('testResults/QuarantineStore');
  const { judgeTests } = c.backend('testResults/flaky');
  const store = new KnexTestResultsStore(knex);
  const quarantines = new KnexQuarantineStore(knex);
  const view = async e => {
    const sourceKeys = [`github-actions:github.com/bench/svc-${e}`];
    const since = new Date(end - 30 * DAY).toISOString();
    const before = new Date(end - 60 * DAY).toISOString();
    const [now, previous, q] = await Promise.all([
      store.aggregateTests({ sourceKeys, since }),
      store.aggregateTests({ sourceKeys, since: before, until: since }),
      quarantines.listForEntity(
        `component:default/svc-${e}`,
        new Date(end).toISOString(),
      ),
    ]);
    const tests = judgeTests(now);
    judgeTests(previous);
    return { tests, quarantined: q.length };
  };
  const random = rng(99);
  const entity = () => Math.floor(random() * s.entities);
  // Warm-up: the first query of a connection plans and reads cold pages.
  const check = await view(entity());
  const flaky = check.tests.filter(t => t.state === 'flaky').length;
  const broken = check.tests.filter(t => t.state === 'broken').length;
  const times = [];
  for (let i = 0; i < s.views; i++) {
    const t = process.hrtime.bigint();
    await view(entity());
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  log(
    `${label}: entity view p50 ${c.f(c.pct(times, 0.5))} ms, p95 ${c.f(
      c.pct(times, 0.95),
    )} ms (${flaky} flaky, ${broken} broken of ${check.tests.length})`,
  );
  const teams = [];
  for (let i = 0; i < s.teams; i++) {
    const members = Array.from({ length: Math.min(TEAM, s.entities) }, () =>
      entity(),
    );
    const t = process.hrtime.bigint();
    const ranked = [];
    for (let j = 0; j < members.length; j += 4) {
      const batch = await Promise.all(
        members.slice(j, j + 4).map(async e => {
          const summaries = await store.aggregateTests({
            sourceKeys: [`github-actions:github.com/bench/svc-${e}`],
            since: new Date(end - 30 * DAY).toISOString(),
            failingOnly: true,
          });
          await quarantines.listForEntity(
            `component:default/svc-${e}`,
            new Date(end).toISOString(),
          );
          return judgeTests(summaries).filter(x => x.state === 'flaky');
        }),
      );
      ranked.push(...batch.flat());
    }
    ranked.sort((a, b) => b.timeLostMs - a.timeLostMs);
    teams.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  teams.sort((a, b) => a - b);
  log(
    `${label}: team ranking p50 ${c.f(c.pct(teams, 0.5))} ms, p95 ${c.f(
      c.pct(teams, 0.95),
    )} ms`,
  );
  return {
    view: { p50: c.pct(times, 0.5), p95: c.pct(times, 0.95), n: times.length },
    team: { p50: c.pct(teams, 0.5), p95: c.pct(teams, 0.95), n: teams.length },
    tests: check.tests.length,
    flaky,
    broken,
  };
}

/** A 10,000-case JUnit file parsed in a child process: peak RSS growth. */
function parseMemory(log) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-junit-'));
  const file = path.join(dir, 'TEST-big.xml');
  const L = ['<?xml version="1.0" encoding="UTF-8"?>', '<testsuites>'];
  for (let sidx = 0; sidx < 100; sidx++) {
    L.push(
      `<testsuite name="com.bench.Suite${sidx}" tests="100" failures="2" time="12.5">`,
    );
    for (let k = 0; k < 100; k++) {
      const name = `test_${sidx}_${k}`;
      if (k % 50 === 3) {
        L.push(
          `<testcase classname="com.bench.Suite${sidx}" name="${name}" time="0.125"><failure message="expected &lt;1&gt; but was: &lt;2&gt;" type="org.opentest4j.AssertionFailedError">${'at com.bench.Suite.method(Suite.java:42)\n'.repeat(
            40,
          )}</failure><system-out>${'log line of the test\n'.repeat(
            100,
          )}</system-out></testcase>`,
        );
      } else {
        L.push(
          `<testcase classname="com.bench.Suite${sidx}" name="${name}" time="0.0${
            k % 10
          }"/>`,
        );
      }
    }
    L.push('</testsuite>');
  }
  L.push('</testsuites>');
  fs.writeFileSync(file, L.join('\n'));
  const size = fs.statSync(file).size;
  const script = `
    const fs = require('node:fs');
    const { readReports } = require(${JSON.stringify(
      path.join(c.BACKEND_SRC, 'testResults/reports'),
    )});
    (async () => {
      global.gc();
      const base = process.resourceUsage().maxRSS * 1024;
      const rssBase = process.memoryUsage().rss;
      const body = fs.readFileSync(${JSON.stringify(file)});
      const cases = await readReports(body, 'application/xml');
      const peak = process.resourceUsage().maxRSS * 1024;
      console.log(JSON.stringify({ cases: cases.length, base: Math.max(base, rssBase), peak }));
    })();
  `;
  const out = execFileSync(
    process.execPath,
    [
      '--expose-gc',
      '--require',
      require.resolve('@backstage/cli/config/nodeTransform.cjs'),
      '-e',
      script,
    ],
    { cwd: c.ROOT, encoding: 'utf8' },
  );
  fs.rmSync(dir, { recursive: true, force: true });
  const r = JSON.parse(out.trim().split('\n').pop());
  const growth = r.peak - r.base;
  log(
    `parse: ${r.cases} cases, ${c.bytes(size)} file, peak RSS ${c.bytes(
      growth,
    )} over the baseline`,
  );
  return { cases: r.cases, fileBytes: size, growthBytes: growth };
}

async function runTestsBench({ log = c.makeLog('tests') } = {}) {
  const s = settings();
  const end = Date.now();
  const result = { date: new Date().toISOString(), settings: s };
  result.parse = parseMemory(log);
  const { knex, database } = await c.createDatabase('tests');
  try {
    log(
      `database ${database}: migrations, then ${c.f(
        s.entities * s.runs * s.cases,
        0,
      )} results`,
    );
    result.env = await c.machine(knex);
    result.pg = {
      ingest: await ingest(knex, s, {
        writers: s.writers,
        log,
        label: 'PostgreSQL',
        end,
      }),
    };
    log(
      `PostgreSQL: ingested ${c.f(result.pg.ingest.results, 0)} in ${c.f(
        result.pg.ingest.seconds,
      )} s; VACUUM ANALYZE`,
    );
    await knex.raw('VACUUM ANALYZE');
    const sizes = await knex.raw(
      `SELECT pg_total_relation_size('ci_test_results') AS results,
        pg_total_relation_size('ci_test_days') + pg_total_relation_size('ci_test_day_commits') + pg_total_relation_size('ci_test_days_pending') AS days,
        pg_total_relation_size('ci_tests') + pg_total_relation_size('ci_test_runs') + pg_total_relation_size('ci_test_sources') AS tests,
        (SELECT COUNT(*) FROM ci_test_results) AS n`,
    );
    const row = sizes.rows[0];
    result.pg.bytes = {
      results: Number(row.results),
      days: Number(row.days),
      tests: Number(row.tests),
      count: Number(row.n),
      perResult:
        (Number(row.results) + Number(row.days) + Number(row.tests)) /
        Number(row.n),
    };
    log(`PostgreSQL: ${c.f(result.pg.bytes.perResult)} bytes per result`);
    Object.assign(
      result.pg,
      await measureViews(knex, s, { end, log, label: 'PostgreSQL' }),
    );
  } finally {
    await knex.destroy();
  }
  if (s.sqlite) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-tests-sqlite-'));
    const sqlite = knexLib({
      client: 'better-sqlite3',
      connection: { filename: path.join(dir, 'tests.sqlite') },
      useNullAsDefault: true,
    });
    try {
      result.sqlite = {
        ingest: await ingest(sqlite, s, {
          writers: 1,
          log,
          label: 'SQLite',
          end,
        }),
      };
      await sqlite.raw('ANALYZE');
      Object.assign(
        result.sqlite,
        await measureViews(sqlite, s, { end, log, label: 'SQLite' }),
      );
    } finally {
      await sqlite.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return result;
}

const TARGETS = {
  viewPg: 100,
  viewSqlite: 200,
  team: 200,
  ingest: 20_000,
  parseBytes: 64 * 2 ** 20,
  perResult: 100,
};

function report(r, error) {
  const heading = '## 10. Test results';
  const prefix = '| 10. Test results';
  if (!r) {
    return {
      rows: [`${prefix} | could not run: ${error} | | **did not run** |`],
      section: [heading, '', `Could not run: ${error}`, ''],
    };
  }
  const s = r.settings;
  const n = s.entities * s.runs * s.cases;
  const ms = v => `${c.f(v)} ms`;
  const rows = [
    `${prefix}, PostgreSQL: entity Tests view | p95 ${ms(
      r.pg.view.p95,
    )} (p50 ${ms(r.pg.view.p50)}, ${c.f(n, 0)} results) | <= ${
      TARGETS.viewPg
    } ms p95 | ${c.yes(r.pg.view.p95 <= TARGETS.viewPg)} |`,
    `${prefix}, PostgreSQL: flaky ranking of a team of 20 | p95 ${ms(
      r.pg.team.p95,
    )} (p50 ${ms(r.pg.team.p50)}) | <= ${TARGETS.team} ms p95 | ${c.yes(
      r.pg.team.p95 <= TARGETS.team,
    )} |`,
    `${prefix}, PostgreSQL: ingestion | ${c.f(
      r.pg.ingest.perSecond,
      0,
    )} results/s (${s.writers} writers) | >= ${c.f(
      TARGETS.ingest,
      0,
    )} results/s | ${c.yes(r.pg.ingest.perSecond >= TARGETS.ingest)} |`,
    `${prefix}, PostgreSQL: bytes per result | ${c.f(
      r.pg.bytes.perResult,
      0,
    )} B (${c.bytes(
      r.pg.bytes.results + r.pg.bytes.days + r.pg.bytes.tests,
    )} for ${c.f(r.pg.bytes.count, 0)}) | <= ${TARGETS.perResult} B | ${c.yes(
      r.pg.bytes.perResult <= TARGETS.perResult,
    )} |`,
  ];
  if (r.sqlite) {
    rows.push(
      `${prefix}, SQLite: entity Tests view | p95 ${ms(
        r.sqlite.view.p95,
      )} (p50 ${ms(r.sqlite.view.p50)}) | <= ${
        TARGETS.viewSqlite
      } ms p95 | ${c.yes(r.sqlite.view.p95 <= TARGETS.viewSqlite)} |`,
      `${prefix}, SQLite: flaky ranking of a team of 20 | p95 ${ms(
        r.sqlite.team.p95,
      )} (p50 ${ms(r.sqlite.team.p50)}) | <= ${TARGETS.team} ms p95 | ${c.yes(
        r.sqlite.team.p95 <= TARGETS.team,
      )} |`,
    );
  }
  rows.push(
    `${prefix}: parse of a ${c.f(
      r.parse.cases,
      0,
    )}-case JUnit file | peak RSS ${c.bytes(
      r.parse.growthBytes,
    )} over the baseline (${c.bytes(
      r.parse.fileBytes,
    )} file) | <= 64 MiB | ${c.yes(
      r.parse.growthBytes <= TARGETS.parseBytes,
    )} |`,
  );
  const L = [heading, ''];
  L.push(
    `Run of ${r.date.slice(0, 10)} on ${
      r.env
    }. Method: \`bench/tests/\` (\`yarn bench tests\`), in the bench process against the plugin's own code: fresh databases with the plugin's migrations; ${c.f(
      s.entities,
      0,
    )} entities (one source each) × ${c.f(
      s.runs,
      0,
    )} run attempts over 28 days × ${c.f(s.cases, 0)} tests = **${c.f(
      n,
      0,
    )} results** per database. 1 % of the tests are flaky: each fails one first attempt in five (its run is then re-run on its commit, 7 times in 10, where it passes) and passes on a retry within one in twenty; one test per entity always fails (broken). Runs are stored through \`KnexCiStore.upsertRuns\` and results through \`KnexTestResultsStore.putResults\`, the upload's and the fetcher's path (${
      s.writers
    } writers on PostgreSQL, one on SQLite; entities interleaved). Storing marks each result's day; the per-day counts (\`ci_test_days\`) and the per-commit sums of the tests that ever failed (\`ci_test_day_commits\`) are then computed by \`compactDays\`, once per day and source, inside the timed ingestion (${c.f(
      r.pg.ingest.compacted,
      0,
    )} days, ${c.f(
      r.pg.ingest.compactMs / 1000,
      1,
    )} s of it on PostgreSQL). The entity view is what \`GET /entities/{kind}/{namespace}/{name}/tests\` does (the 30-day window's and the previous window's per-test aggregates by \`aggregateTests\`: whole days from the per-day counts, the partial first day from the results, the tests that failed or flaked added up per commit from their per-day commit sums; then \`judgeTests\` and the quarantines), called directly ${
      r.pg.view.n
    } times on random entities after one warm-up; the team ranking is what \`GET /groups/{namespace}/{name}/tests\` does for 20 entities (four at a time), ${
      r.pg.team.n
    } times. Bytes per result: \`pg_total_relation_size\` of \`ci_test_results\`, \`ci_test_days\`, \`ci_test_day_commits\`, \`ci_test_days_pending\`, \`ci_tests\`, \`ci_test_runs\` and \`ci_test_sources\` (heap, indexes, TOAST) after \`VACUUM ANALYZE\`, over the results. The parse: a generated 100-suite, 10,000-case Surefire-style file (2 % failing with a stack trace and 100 lines of output) read by \`readReports\` as an upload is, in a child process; peak RSS (\`process.resourceUsage().maxRSS\`) over its RSS after \`global.gc()\`.`,
    '',
    '| Database | Ingestion | Entity view p50 / p95 | Team of 20 p50 / p95 | Tests of the viewed entity (flaky, broken) |',
    '| --- | --- | --- | --- | --- |',
    `| PostgreSQL | ${c.f(r.pg.ingest.perSecond, 0)} results/s (${c.f(
      r.pg.ingest.seconds,
      0,
    )} s) | ${ms(r.pg.view.p50)} / ${ms(r.pg.view.p95)} | ${ms(
      r.pg.team.p50,
    )} / ${ms(r.pg.team.p95)} | ${r.pg.tests} (${r.pg.flaky}, ${
      r.pg.broken
    }) |`,
  );
  if (r.sqlite) {
    L.push(
      `| SQLite | ${c.f(r.sqlite.ingest.perSecond, 0)} results/s (${c.f(
        r.sqlite.ingest.seconds,
        0,
      )} s) | ${ms(r.sqlite.view.p50)} / ${ms(r.sqlite.view.p95)} | ${ms(
        r.sqlite.team.p50,
      )} / ${ms(r.sqlite.team.p95)} | ${r.sqlite.tests} (${r.sqlite.flaky}, ${
        r.sqlite.broken
      }) |`,
    );
  }
  if (s.entities !== 100) {
    L.push(
      '',
      `Scale: ${c.f(
        n,
        0,
      )} results, not the issue's 20,000,000: each entity has the issue's shape (${c.f(
        s.runs,
        0,
      )} attempts × ${c.f(
        s.cases,
        0,
      )} tests, what one view and one team member read), with ${
        s.entities
      } entities instead of 100 around it (\`BENCH_TESTS_ENTITIES=100\` for the full run).`,
    );
  }
  if (r.pg.view.p95 > TARGETS.viewPg || r.pg.team.p95 > TARGETS.team) {
    L.push(
      '',
      `Not met: a view reads one row per test and whole day of its window (\`ci_test_days\`), the per-day commit sums of the tests that failed or flaked (\`ci_test_day_commits\`), and the results of its partial first day and of the days not compacted yet; \`EXPLAIN ANALYZE\` of \`aggregateTests\`' queries on the kept database (\`BENCH_KEEP=1\`) shows which dominates.`,
    );
  }
  if (r.pg.bytes.perResult > TARGETS.perResult) {
    L.push(
      '',
      `Not met: a result is a row of two integer keys, a status and a duration (about 44 bytes with its tuple header) and an entry in its primary key (about 24); the per-day counts add a row per test and day (about 90 bytes with its index share), which weighs more per result the fewer attempts a day has.`,
    );
  }
  L.push(
    '',
    `Storage on PostgreSQL: ${c.bytes(
      r.pg.bytes.results,
    )} for the results, ${c.bytes(
      r.pg.bytes.days,
    )} for the per-day counts and commit sums, ${c.bytes(
      r.pg.bytes.tests,
    )} for the tests', runs' and sources' numbers: ${c.f(
      r.pg.bytes.perResult,
      0,
    )} bytes per result.`,
    '',
    `Knobs: \`BENCH_TESTS_ENTITIES\` (100), \`BENCH_TESTS_RUNS\` (100 attempts per entity), \`BENCH_TESTS_CASES\` (2,000), \`BENCH_TESTS_WRITERS\` (2), \`BENCH_TESTS_VIEWS\` (100), \`BENCH_TESTS_TEAMS\` (20), \`BENCH_TESTS_SQLITE=0\` (PostgreSQL only).`,
    '',
  );
  return { rows, section: L };
}

module.exports = { runTestsBench, testsReport: report };
