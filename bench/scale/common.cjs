/* eslint-disable no-console */
/**
 * Shared by the storage, prune and migrate benchmarks (`yarn bench storage`,
 * `yarn bench prune`, `yarn bench migrate`; issue 16 points 2 and 3): fresh
 * PostgreSQL databases, the plugin's own code loaded as TypeScript (through
 * the nodeTransform hook `yarn bench` runs under), runs shaped like the
 * recorded provider answers, their copy to a million rows in SQL, table
 * sizes, and the splice of one section into docs/benchmarks.md.
 */
const path = require('node:path');
const fs = require('node:fs');
const { execSync } = require('node:child_process');
const { Client } = require('pg');
const knexLib = require('knex');

const ROOT = path.resolve(__dirname, '../..');
const BACKEND = path.join(ROOT, 'plugins/ci-experience-backend');
const BACKEND_SRC = path.join(BACKEND, 'src');
const MIGRATIONS = path.join(BACKEND, 'migrations');
const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };

const num = (name, fallback) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
};

const f = (n, digits = 1) =>
  n === undefined || n === null || Number.isNaN(n)
    ? 'n/a'
    : Number(n).toLocaleString('en-US', {
        maximumFractionDigits: digits,
        minimumFractionDigits: 0,
      });
const bytes = n => {
  if (n === undefined || n === null || Number.isNaN(n)) return 'n/a';
  if (n >= 2 ** 30) return `${f(n / 2 ** 30, 2)} GiB`;
  if (n >= 2 ** 20) return `${f(n / 2 ** 20, 1)} MiB`;
  if (n >= 2 ** 10) return `${f(n / 2 ** 10, 2)} KiB`;
  return `${f(n, 0)} B`;
};
const yes = met => (met ? '**met**' : '**not met**');

function makeLog(name) {
  const t0 = Date.now();
  return line =>
    console.log(
      `[bench ${name} ${((Date.now() - t0) / 1000)
        .toFixed(0)
        .padStart(3)}s] ${line}`,
    );
}

/** Databases this process created, dropped by `dropDatabases`. */
const created = new Set();

async function admin(fn) {
  const client = new Client({ ...PG, database: 'postgres' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh database `bench_<kind>_<timestamp>` and a knex on it. */
async function createDatabase(kind, pool = { min: 0, max: 10 }) {
  const database = `bench_${kind}_${Date.now()}`;
  await admin(c => c.query(`CREATE DATABASE "${database}"`));
  created.add(database);
  const knex = knexLib({
    client: 'pg',
    connection: { ...PG, database },
    pool,
  });
  return { database, knex };
}

/** Drops what `createDatabase` made (unless BENCH_KEEP=1). */
async function dropDatabases(log = () => {}) {
  if (process.env.BENCH_KEEP === '1') {
    if (created.size) log(`kept ${[...created].join(', ')} (BENCH_KEEP=1)`);
    return;
  }
  for (const database of [...created]) {
    await admin(c =>
      c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`),
    );
    created.delete(database);
  }
}

const backend = rel => require(path.join(BACKEND_SRC, rel));
/** A source file of a plugin package, e.g. `plugin('ci-experience-node', 'mapping/runIds')`. */
const plugin = (pkg, rel) =>
  require(path.join(ROOT, 'plugins', pkg, 'src', rel));

/**
 * Runs with their jobs as the plugin stores them after a sync, built with
 * the plugin's own mapping (`toProviderRun`, `toJob`, `storedRunOf`) from:
 * GitHub Actions runs and jobs as this repository's GitHub simulator answers
 * them (`packages/ci-simulator`, the demo repositories: four to six jobs of
 * eight to twelve steps each; the shapes `providers/github` contract tests
 * hold against GitHub's documented answers), and GitLab's recorded pipeline
 * and its jobs (`providers/gitlab/__fixtures__/pipeline.json`,
 * `pipeline-jobs.json`, from GitLab's documentation). Completed runs only:
 * what retention keeps for 13 months is finished runs.
 */
function templateRuns(now = Date.parse('2026-11-20T12:00:00Z')) {
  const sim = require('@ci-experience/ci-simulator');
  const gh = plugin('ci-experience-backend-module-github', 'mapping');
  const gl = plugin('ci-experience-backend-module-gitlab', 'mapping');
  const { storedRunOf } = backend('service/CiSyncService');
  const history = new sim.SimulatedHistory(
    sim.DEMO_REPOS.filter(r => !r.forbidden),
    { now: () => now, historyMs: 2 * 24 * 3600_000 },
  );
  const simulator = new sim.GithubSimulator(history, {
    apiBaseUrl: 'https://api.github.com',
    webBaseUrl: 'https://github.com',
  });
  const github = [];
  for (const spec of history.repos) {
    const source = {
      provider: 'github-actions',
      key: `github-actions:github.com/${spec.owner}/${spec.repo}`,
      source: `${spec.owner}/${spec.repo}`,
      host: 'github.com',
    };
    for (const r of history.listRuns(spec)) {
      if (r.status !== 'completed' || r.jobs.length === 0) continue;
      const run = gh.toProviderRun(
        gh.githubRunSchema.parse(simulator.runJson(spec, r)),
      );
      const jobs = r.jobs.map(j =>
        gh.toJob(gh.githubJobSchema.parse(simulator.jobJson(spec, r, j))),
      );
      github.push(storedRunOf(source, run, jobs, now).run);
    }
  }
  const fixtures = path.join(
    ROOT,
    'plugins/ci-experience-backend-module-gitlab/src/__fixtures__',
  );
  const pipeline = JSON.parse(
    fs.readFileSync(path.join(fixtures, 'pipeline.json'), 'utf8'),
  );
  const glJobs = JSON.parse(
    fs.readFileSync(path.join(fixtures, 'pipeline-jobs.json'), 'utf8'),
  );
  const glSource = {
    provider: 'gitlab',
    key: 'gitlab:gitlab.example.com/group/project',
    source: 'group/project',
    host: 'gitlab.example.com',
  };
  const glRun = gl.toProviderRun(gl.gitlabPipelineSchema.parse(pipeline));
  const gitlab = storedRunOf(
    glSource,
    glRun,
    gl.fitJobsToRun(
      glRun,
      glJobs.map(j => gl.toJob(gl.gitlabJobSchema.parse(j))),
    ),
    now,
  ).run;
  if (github.length === 0) throw new Error('the simulator made no runs');
  return { github, gitlab };
}

/**
 * The i-th of `count` runs: a template (nine GitHub runs in ten, a GitLab
 * pipeline in ten) moved to source `s` of `sources`, with its own run id
 * and times spread over `spanMs` before `end`.
 */
function makeRun(templates, i, { sources, end, spanMs, count }) {
  const { runIdOf } = plugin('ci-experience-node', 'mapping/runIds');
  const gitlab = i % 10 === 9;
  const tpl = gitlab
    ? templates.gitlab
    : templates.github[i % templates.github.length];
  const s = i % sources;
  const sourceKey = gitlab
    ? `gitlab:gitlab.example.com/group-${s}/project-${s}`
    : `github-actions:github.com/acme-org/service-${String(s).padStart(
        5,
        '0',
      )}`;
  const providerRunId = String((gitlab ? 1_000_000_000 : 9_000_000_000) + i);
  const shift =
    end - spanMs + Math.floor((i / count) * spanMs) - Date.parse(tpl.createdAt);
  const move = t =>
    t === undefined ? undefined : new Date(Date.parse(t) + shift).toISOString();
  const jobs = tpl.jobs.map((j, k) => ({
    ...j,
    id: String(Number(providerRunId) * 10 + k),
    createdAt: move(j.createdAt),
    startedAt: move(j.startedAt),
    finishedAt: move(j.finishedAt),
    steps: j.steps?.map(st => ({
      ...st,
      startedAt: move(st.startedAt),
      finishedAt: move(st.finishedAt),
    })),
  }));
  return {
    ...tpl,
    id: runIdOf(sourceKey, providerRunId, tpl.attempt),
    sourceKey,
    source: sourceKey.replace(/^[^/]*\//, ''),
    providerRunId,
    runNumber: 1 + Math.floor(i / sources),
    createdAt: move(tpl.createdAt),
    startedAt: move(tpl.startedAt),
    finishedAt: move(tpl.finishedAt),
    providerUpdatedAt: move(tpl.providerUpdatedAt),
    jobs,
  };
}

function sourceOf(run) {
  return {
    provider: run.provider,
    key: run.sourceKey,
    source: run.source,
    host: run.sourceKey.split(':')[1].split('/')[0],
  };
}

/**
 * Stores `count` runs through `KnexCiStore.upsertRuns` (the sync's path),
 * `batch` runs per call, `writers` calls at a time; their sources first.
 */
async function storeRuns(store, templates, options) {
  const { count, sources, batch = 100, writers = 2, log } = options;
  const seen = new Set();
  for (let i = 0; i < Math.min(count, sources * 10); i++) {
    const run = makeRun(templates, i, options);
    if (!seen.has(run.sourceKey)) {
      seen.add(run.sourceKey);
      await store.upsertSource(sourceOf(run));
    }
  }
  let next = 0;
  let done = 0;
  let lastLog = Date.now();
  const worker = async () => {
    for (;;) {
      const from = next;
      if (from >= count) return;
      next = Math.min(count, from + batch);
      const runs = [];
      for (let i = from; i < next; i++)
        runs.push(makeRun(templates, i, options));
      await store.upsertRuns(runs);
      done += runs.length;
      if (log && Date.now() - lastLog > 15_000) {
        lastLog = Date.now();
        log(`stored ${f(done, 0)} of ${f(count, 0)} runs`);
      }
    }
  };
  await Promise.all(Array.from({ length: writers }, worker));
}

/** The columns of a table, in order. */
async function columnsOf(knex, table) {
  const { rows } = await knex.raw(
    `SELECT column_name FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = ?
     ORDER BY ordinal_position`,
    [table],
  );
  return rows.map(r => r.column_name);
}

/**
 * Copies the stored runs and their jobs until `ci_runs` holds `target`
 * rows, in SQL (INSERT ... SELECT over generate_series): copy g of a run
 * gets id md5(id || g) cut to the same 22 characters, its provider run id
 * and job ids moved by g * 10^10 (the same number of digits), the rest of
 * the row as stored, so each copy has the stored row's shape and size.
 * One statement per `perStatement` copies (short transactions).
 */
async function amplify(knex, { target, log }) {
  const base = Number((await knex('ci_runs').count('* as n'))[0].n);
  const copies = Math.ceil(target / base) - 1;
  if (copies <= 0) return { base, copies: 0, ms: 0 };
  // About 40,000 runs per statement.
  const perStatement = Math.max(1, Math.round(40_000 / base));
  const t0 = Date.now();
  const runCols = await columnsOf(knex, 'ci_runs');
  const jobCols = await columnsOf(knex, 'ci_jobs');
  // The stored runs and jobs, the seed of every copy, in tables of their
  // own (unlogged, dropped at the end): each statement reads only them.
  await knex.raw('DROP TABLE IF EXISTS bench_seed_runs, bench_seed_jobs');
  await knex.raw(
    'CREATE UNLOGGED TABLE bench_seed_runs AS SELECT r.*, row_number() OVER (ORDER BY r.id) AS bench_n FROM ci_runs r',
  );
  await knex.raw(
    'CREATE UNLOGGED TABLE bench_seed_jobs AS SELECT * FROM ci_jobs',
  );
  await knex.raw('CREATE INDEX ON bench_seed_jobs (run_id)');
  await knex.raw('ANALYZE bench_seed_runs, bench_seed_jobs');
  const newId = col => `left(md5(${col} || '#' || g), 22)`;
  const moved = col =>
    `CASE WHEN ${col} ~ '^[0-9]{1,15}$' THEN (${col}::bigint + g * 10000000000)::text ELSE ${col} || '-' || g END`;
  const runExpr = runCols.map(c =>
    c === 'id'
      ? newId('r.id')
      : c === 'provider_run_id'
      ? moved('r.provider_run_id')
      : `r.${c}`,
  );
  const jobExpr = jobCols.map(c =>
    c === 'run_id'
      ? newId('j.run_id')
      : c === 'job_id'
      ? moved('j.job_id')
      : `j.${c}`,
  );
  for (let g0 = 1; g0 <= copies; g0 += perStatement) {
    const g1 = Math.min(copies, g0 + perStatement - 1);
    // The last statement copies only part of the runs: exactly `target`.
    const left = target - base * g0;
    const limit = g1 === copies ? left - base * (g1 - g0) : undefined;
    await knex.transaction(async tx => {
      await tx.raw(
        `INSERT INTO ci_runs (${runCols.join(', ')})
         SELECT ${runExpr.join(', ')} FROM generate_series(?::int, ?::int) g
         CROSS JOIN bench_seed_runs r
         WHERE ?::int IS NULL OR g < ? OR r.bench_n <= ?`,
        [g0, g1, limit ?? null, g1, limit ?? 0],
      );
      await tx.raw(
        `INSERT INTO ci_jobs (${jobCols.join(', ')})
         SELECT ${jobExpr.join(', ')} FROM generate_series(?::int, ?::int) g
         CROSS JOIN bench_seed_jobs j JOIN bench_seed_runs r ON r.id = j.run_id
         WHERE ?::int IS NULL OR g < ? OR r.bench_n <= ?`,
        [g0, g1, limit ?? null, g1, limit ?? 0],
      );
    });
    if (log) {
      log(
        `copies ${g0}-${g1} of ${copies}: ${f(
          Math.min(target, base * (g1 + 1)),
          0,
        )} runs (${f((Date.now() - t0) / 1000)} s)`,
      );
    }
  }
  await knex.raw('DROP TABLE bench_seed_runs, bench_seed_jobs');
  return { base, copies, ms: Date.now() - t0 };
}

/** Sizes of every ci_* table: heap, indexes, TOAST, total; and row counts. */
async function tableSizes(knex) {
  const { rows } = await knex.raw(`
    SELECT c.relname AS name,
           pg_relation_size(c.oid) AS heap,
           pg_indexes_size(c.oid) AS indexes,
           COALESCE(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0) AS toast,
           pg_total_relation_size(c.oid) AS total
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname LIKE 'ci\\_%'
    ORDER BY pg_total_relation_size(c.oid) DESC, c.relname`);
  const out = {};
  for (const r of rows) {
    const count = Number((await knex(r.name).count('* as n'))[0].n);
    out[r.name] = {
      rows: count,
      heap: Number(r.heap),
      indexes: Number(r.indexes),
      toast: Number(r.toast),
      total: Number(r.total),
    };
  }
  return out;
}

/** docs/benchmarks.md, or BENCH_OUT. */
const benchOut = () =>
  process.env.BENCH_OUT ?? path.join(ROOT, 'docs/benchmarks.md');

/** The scale sections, in page order, and their summary rows' prefix. */
const SECTIONS = [
  { heading: '## 5. Storage per run', row: '| 5. Storage' },
  { heading: '## 6. Prune beside intake', row: '| 6. Prune' },
  { heading: '## 7. Migrations at 1M runs', row: '| 7. Migrations' },
  { heading: '## 8. Ten thousand sources', row: '| 8. Ten thousand sources' },
  {
    heading: '## 9. Faults: a replica killed mid-sync and mid-burst',
    row: '| 9. Faults',
  },
  { heading: '## 10. Test results', row: '| 10. Test results' },
];

/**
 * Replaces one section (heading up to the next `## `) and its summary rows
 * (lines starting with `rowPrefix`) in a page, or adds them: the section
 * before `## Benchmarks that could not run` / `## How to run`, after the
 * other scale sections that come before it.
 */
function splice(md, { heading, rowPrefix, rows, section }) {
  const kept = md.split('\n').filter(l => !l.startsWith(rowPrefix));
  const sum = kept.indexOf('## Summary');
  let at = -1;
  if (sum >= 0) {
    for (let i = sum + 1; i < kept.length && !kept[i].startsWith('## '); i++) {
      if (kept[i].startsWith('|')) at = i;
    }
  }
  if (at >= 0) kept.splice(at + 1, 0, ...rows);
  const start = kept.indexOf(heading);
  if (start >= 0) {
    let end = start + 1;
    while (end < kept.length && !kept[end].startsWith('## ')) end++;
    kept.splice(start, end - start, ...section);
  } else {
    const order = SECTIONS.findIndex(s => s.heading === heading);
    let before = kept.findIndex(
      l =>
        l === '## Benchmarks that could not run' ||
        l === '## How to run' ||
        SECTIONS.slice(order + 1).some(s => s.heading === l),
    );
    if (before < 0) before = kept.length;
    kept.splice(before, 0, ...section);
  }
  return kept.join('\n');
}

/** The scale sections and rows of a page, to keep them across a rewrite. */
function extractScale(md) {
  const lines = md.split('\n');
  return SECTIONS.map(s => {
    const rows = lines.filter(l => l.startsWith(s.row));
    const start = lines.indexOf(s.heading);
    if (start < 0) return undefined;
    let end = start + 1;
    while (end < lines.length && !lines[end].startsWith('## ')) end++;
    return {
      heading: s.heading,
      rowPrefix: s.row,
      rows,
      section: lines.slice(start, end),
    };
  }).filter(Boolean);
}

/** A page written anew (a full `yarn bench`) keeps the scale sections of the old one. */
function keepScaleSections(oldMd, newMd) {
  let md = newMd;
  for (const part of extractScale(oldMd)) md = splice(md, part);
  return md;
}

function writeSection(key, rows, section) {
  const s =
    SECTIONS[
      key === 'tests' ? 5 : ['storage', 'prune', 'migrate'].indexOf(key)
    ];
  const out = benchOut();
  let md;
  try {
    md = fs.readFileSync(out, 'utf8');
  } catch {
    md = [
      '# Benchmarks',
      '',
      '## Summary',
      '',
      '| Benchmark | Figure | Target | Result |',
      '| --- | --- | --- | --- |',
      '',
    ].join('\n');
  }
  fs.writeFileSync(
    out,
    splice(md, { heading: s.heading, rowPrefix: s.row, rows, section }),
  );
  try {
    execSync(
      `${path.join(ROOT, 'node_modules/.bin/prettier')} --write ${out}`,
      { stdio: 'ignore', cwd: ROOT },
    );
  } catch {
    // unformatted is still correct
  }
  return out;
}

/** Percentile of a sorted array. */
const pct = (sorted, q) =>
  sorted.length
    ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
    : undefined;

async function machine(knex) {
  const os = require('node:os');
  const { rows } = await knex.raw(
    `SELECT current_setting('server_version') AS version, current_setting('shared_buffers') AS sb, current_setting('autovacuum') AS av, current_setting('synchronous_commit') AS sc`,
  );
  const r = rows[0];
  return `PostgreSQL ${r.version} on 127.0.0.1 (\`shared_buffers\` ${
    r.sb
  }, \`autovacuum\` ${r.av}, \`synchronous_commit\` ${r.sc}), ${
    os.cpus().length
  } cores, Node ${process.version}`;
}

module.exports = {
  ROOT,
  BACKEND_SRC,
  MIGRATIONS,
  num,
  f,
  bytes,
  yes,
  pct,
  makeLog,
  createDatabase,
  dropDatabases,
  backend,
  plugin,
  templateRuns,
  makeRun,
  sourceOf,
  storeRuns,
  amplify,
  tableSizes,
  columnsOf,
  writeSection,
  keepScaleSections,
  splice,
  SECTIONS,
  machine,
};
