/* eslint-disable no-console */
/**
 * `yarn bench`: three benchmarks of CI Experience against one real backend
 * (packages/backend on PostgreSQL) and an in-process CI simulator, then
 * docs/benchmarks.md. Run with the nodeTransform require hook so that the
 * simulator's TypeScript loads:
 *
 *   node --require @backstage/cli/config/nodeTransform.cjs bench/run.cjs
 *
 * Exit code 0 when every benchmark ran (targets met or not: this reports, it
 * is not a test), 1 when one could not run.
 *
 * Knobs (environment): BENCH_VIEW_SECONDS (120), BENCH_VIEWERS (100),
 * BENCH_THINK_MS (1000), BENCH_CANNON_SECONDS (15), BENCH_DELIVERIES (5000),
 * BENCH_BACKEND=yarn to start the backend through `yarn workspace backend
 * start` (watch mode) instead of plain node, BENCH_BACKEND_PROFILE=<dir> to
 * write a V8 CPU profile of the backend there. BENCH_ONLY=insights runs only
 * benchmark 4 (CI insights on a generated history, bench/insights/; its own
 * knobs BENCH_INSIGHTS_* are described there) and rewrites only its part of
 * docs/benchmarks.md; BENCH_ONLY=portal runs only benchmarks 1-3.
 *
 * `yarn bench storage`, `yarn bench prune`, `yarn bench migrate` (or
 * BENCH_ONLY=<mode>; `scale` for the three) run benchmarks 5-7 alone;
 * `yarn bench tests` runs benchmark 10 (test results, bench/tests/) alone
 * (bench/scale/run.cjs: bytes per run, prune beside intake, migrations
 * beside writes, on PostgreSQL at 1M runs), each rewriting only its own
 * section; a full run keeps those sections as they are.
 */
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { execSync } = require('node:child_process');
const { randomBytes, randomUUID, createHmac } = require('node:crypto');
const { Client } = require('pg');
const autocannon = require('autocannon');
const sim = require('@ci-experience/ci-simulator');
const { runInsightsBench, cleanupInsights } = require('./insights/index.cjs');
const {
  SCALE_MODES,
  runScaleMode,
  reportScaleFrom,
} = require('./scale/run.cjs');
const { keepScaleSections } = require('./scale/common.cjs');
const {
  insightsSummaryRows,
  insightsSection,
  spliceInsights,
} = require('./insights/report.cjs');
const {
  sleep,
  assertPortFree,
  waitFor,
  getJson,
  startProcess,
  cannon,
  fmt,
  shuffle,
} = require('./lib.cjs');

const ROOT = path.resolve(__dirname, '..');
/** Where the report goes: docs/benchmarks.md, or BENCH_OUT (to compare runs without touching the docs). */
const benchOut = () =>
  process.env.BENCH_OUT ?? path.join(ROOT, 'docs/benchmarks.md');
const BACKEND_DIR = path.join(ROOT, 'packages/backend');
const BACKEND_PORT = 7107; // as in app-config.bench.yaml
const SIM_PORT = 7108; // as in app-config.bench.yaml and bench/entities.yaml
const BACKEND = `http://localhost:${BACKEND_PORT}`;
const SIM_BASE = `http://localhost:${SIM_PORT}`;
const WEBHOOK_SECRET = 'simulator-webhook-secret'; // as in app-config.bench.yaml
const SYNC_FREQUENCY_MS = 20_000; // as in app-config.bench.yaml

const num = (name, fallback) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const VIEW_SECONDS = num('BENCH_VIEW_SECONDS', 120);
const VIEWERS = num('BENCH_VIEWERS', 100);
const THINK_MS = num('BENCH_THINK_MS', 1000);
const CANNON_SECONDS = num('BENCH_CANNON_SECONDS', 15);
const DELIVERIES = num('BENCH_DELIVERIES', 5000);
const INTAKE_CONCURRENCY = 20;
/**
 * Where deliveries go: the plugin's own ingress (answered after the commit,
 * no events service on the way), or BENCH_INTAKE_PATH=/api/events/http/github
 * for the events backend's.
 */
const INTAKE_PATH =
  process.env.BENCH_INTAKE_PATH ?? '/api/ci-experience/webhooks/github';
const INTAKE_MAX_MS = 60_000;
const GLOBAL_TIMEOUT_MS = 14 * 60_000; // benchmarks 1-3
/** `insights`: only benchmark 4; `portal`: only 1-3; unset: all. */
const ONLY = process.env.BENCH_ONLY ?? '';

const ENTITY_NAMES = Array.from(
  { length: 10 },
  (_, i) => `bench-service-${String(i + 1).padStart(2, '0')}`,
);
const runsUrl = name =>
  `${BACKEND}/api/ci-experience/entities/component/default/${name}/runs`;
const catalogUrl = name =>
  `${BACKEND}/api/catalog/entities/by-name/component/default/${name}`;

const started = new Date();
const stamp = started.getTime();
const TOKEN = randomBytes(24).toString('hex');
const DB_PREFIX = `bench_${stamp}_`;
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ci-experience-bench-'));
const backendLog = path.join(logDir, 'backend.log');

const log = line =>
  console.log(
    `[bench ${((Date.now() - stamp) / 1000).toFixed(0).padStart(3)}s] ${line}`,
  );

// ---------------------------------------------------------------------------
// The simulated GitHub: ten repositories cloned from the demo specs.
// ---------------------------------------------------------------------------

const baseSpecs = sim.DEMO_REPOS.filter(r => !r.forbidden);
const repos = ENTITY_NAMES.map((name, i) => {
  const spec = structuredClone(baseSpecs[i % baseSpecs.length]);
  delete spec.forbidden;
  return { ...spec, repo: name };
});
const history = new sim.SimulatedHistory(repos);
const simulator = new sim.GithubSimulator(history, {
  apiBaseUrl: `${SIM_BASE}/api/v3`,
  webBaseUrl: SIM_BASE,
  requireAuth: true,
});

/** Every request the backend made to the simulator, in order. */
const upstream = [];
function recordUpstream(line) {
  const m = /^(\S+) (\S+) (\d+) (\d+)ms$/.exec(line);
  if (!m) {
    upstream.push({ t: Date.now(), kind: 'failed', line });
    return;
  }
  const [, method, url, status] = m;
  const u = new URL(url, SIM_BASE);
  const p = u.pathname;
  let kind = 'other';
  let repo;
  const r = /^\/api\/v3\/repos\/([^/]+\/[^/]+)(\/.*)?$/.exec(p);
  if (r) {
    repo = r[1];
    const rest = r[2] ?? '';
    if (rest === '') kind = 'repo';
    else if (rest === '/actions/runs') kind = 'list';
    else if (/\/jobs$/.test(rest)) kind = 'jobs';
    else if (/^\/actions\/runs\/\d+(\/attempts\/\d+)?$/.test(rest))
      kind = 'run';
    else if (/^\/actions\/jobs\/\d+\/logs$/.test(rest)) kind = 'logs';
  } else if (p.startsWith('/_simulator/logs/')) {
    // The log download GitHub's 302 points at (blob storage at GitHub).
    kind = 'logs';
  }
  upstream.push({
    t: Date.now(),
    method,
    kind,
    repo,
    page: Number(u.searchParams.get('page') ?? 1),
    status: Number(status),
  });
}

// ---------------------------------------------------------------------------
// Benchmark 1: upstream requests
// ---------------------------------------------------------------------------

async function benchUpstream() {
  log(
    `upstream: first sync of the ${ENTITY_NAMES.length} sources (one GET of each entity's runs triggers it)`,
  );
  const t0 = Date.now();
  for (const name of ENTITY_NAMES) {
    const res = await getJson(runsUrl(name), TOKEN);
    if (res.status !== 200) {
      throw new Error(`GET runs of ${name}: HTTP ${res.status}`);
    }
  }
  await waitFor(
    'every source synced once',
    async () => {
      for (const name of ENTITY_NAMES) {
        const { body } = await getJson(runsUrl(name), TOKEN);
        const s = body?.sources?.[0];
        if (s?.error) {
          throw new Error(`${name}: ${s.error.name}: ${s.error.message}`);
        }
        if (!s?.lastSyncedAt || s.syncing) {
          return false;
        }
      }
      return true;
    },
    { timeoutMs: 180_000, intervalMs: 1000 },
  );
  // Let the backfill's tail (and a scheduled sync that overlapped it) finish.
  await waitFor(
    'quiet upstream after the first sync',
    () => {
      const last = upstream[upstream.length - 1];
      return !last || Date.now() - last.t > 2500;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  const backfill = summarize(upstream.slice());
  log(
    `upstream: backfill took ${fmt((Date.now() - t0) / 1000)} s and ${
      backfill.total
    } requests; now ${VIEWERS} viewers for ${VIEW_SECONDS} s`,
  );

  const from = upstream.length;
  const windowStart = Date.now();
  const end = windowStart + VIEW_SECONDS * 1000;
  let views = 0;
  let failedViews = 0;
  const viewLatencies = [];
  const viewer = async index => {
    // Staggered arrival, then open a random entity page every ~THINK_MS.
    await sleep((index / VIEWERS) * THINK_MS);
    while (Date.now() < end) {
      const name =
        ENTITY_NAMES[Math.floor(Math.random() * ENTITY_NAMES.length)];
      const t = Date.now();
      try {
        const res = await fetch(runsUrl(name), {
          headers: { authorization: `Bearer ${TOKEN}` },
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        if (res.ok) {
          views += 1;
          viewLatencies.push(Date.now() - t);
        } else {
          failedViews += 1;
        }
      } catch {
        failedViews += 1;
      }
      const think = THINK_MS * (0.5 + Math.random());
      await sleep(Math.max(0, Math.min(think, end - Date.now())));
    }
  };
  await Promise.all(Array.from({ length: VIEWERS }, (_, i) => viewer(i)));
  const windowMs = Date.now() - windowStart;
  const inWindow = upstream.slice(from);
  const s = summarize(inWindow);

  // Sync rounds: bursts of list requests separated by a quiet gap.
  const lists = inWindow.filter(e => e.kind === 'list');
  const rounds = [];
  for (const e of lists) {
    const round = rounds[rounds.length - 1];
    if (round && e.t - round.last < SYNC_FREQUENCY_MS / 4) {
      round.items.push(e);
      round.last = e.t;
    } else {
      rounds.push({ first: e.t, last: e.t, items: [e] });
    }
  }
  let maxListsPerSourceRound = 0;
  let maxFirstPagePerSourceRound = 0;
  const perRound = rounds.map(round => {
    const bySource = new Map();
    const firstBySource = new Map();
    for (const e of round.items) {
      bySource.set(e.repo, (bySource.get(e.repo) ?? 0) + 1);
      if (e.page === 1) {
        firstBySource.set(e.repo, (firstBySource.get(e.repo) ?? 0) + 1);
      }
    }
    const max = Math.max(0, ...bySource.values());
    const maxFirst = Math.max(0, ...firstBySource.values());
    maxListsPerSourceRound = Math.max(maxListsPerSourceRound, max);
    maxFirstPagePerSourceRound = Math.max(maxFirstPagePerSourceRound, maxFirst);
    return {
      at: Math.round((round.first - windowStart) / 1000),
      lists: round.items.length,
      sources: bySource.size,
      pagesBeyondFirst: round.items.filter(e => e.page > 1).length,
      max,
    };
  });
  const intervals = windowMs / SYNC_FREQUENCY_MS;
  // Per-view model of today's browser-side plugin (community github-actions):
  // one list of runs plus one jobs request per entity page view.
  const naive = { list: views, jobs: views, total: views * 2 };
  // Triage reads each failed job's log once, whatever the number of
  // viewers: reported apart, and not part of what viewers cost.
  const logs = s.byKind.logs ?? 0;
  const served = s.total - logs;
  const ratio = served === 0 ? Infinity : naive.total / served;
  const ratioWithBackfill =
    naive.total / (served + backfill.total - (backfill.byKind.logs ?? 0));
  const maxRounds = Math.ceil(intervals) + 1;
  const met =
    ratio >= 100 && maxListsPerSourceRound <= 1 && rounds.length <= maxRounds;
  viewLatencies.sort((a, b) => a - b);
  const pct = q =>
    viewLatencies.length
      ? viewLatencies[
          Math.min(
            viewLatencies.length - 1,
            Math.floor(q * viewLatencies.length),
          )
        ]
      : undefined;
  return {
    windowMs,
    viewers: VIEWERS,
    thinkMs: THINK_MS,
    views,
    failedViews,
    viewsPerSecond: views / (windowMs / 1000),
    viewP50: pct(0.5),
    viewP99: pct(0.99),
    backfill,
    backend: s,
    naive,
    ratio,
    ratioWithBackfill,
    rounds: perRound,
    intervals,
    maxListsPerSourceRound,
    maxFirstPagePerSourceRound,
    met,
  };
}

function summarize(events) {
  const byKind = {};
  const byStatus = {};
  for (const e of events) {
    byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
    if (e.status) {
      byStatus[e.status] = (byStatus[e.status] ?? 0) + 1;
    }
  }
  return { total: events.length, byKind, byStatus };
}

// ---------------------------------------------------------------------------
// Benchmark 3: read latency
// ---------------------------------------------------------------------------

async function benchLatency() {
  const warm = ENTITY_NAMES[0];
  const { body } = await getJson(runsUrl(warm), TOKEN);
  if (!body?.items?.length) {
    throw new Error(`${warm} has no runs stored: it is not warm`);
  }
  const opts = { token: TOKEN, connections: 50 };
  log('latency: warm-up (3 s each endpoint)');
  await cannon({ ...opts, url: catalogUrl(warm), durationSec: 3 });
  await cannon({ ...opts, url: runsUrl(warm), durationSec: 3 });
  log(`latency: catalog by-name, 50 connections, ${CANNON_SECONDS} s`);
  const catalog = await cannon({
    ...opts,
    url: catalogUrl(warm),
    durationSec: CANNON_SECONDS,
  });
  log(`latency: ci-experience runs, 50 connections, ${CANNON_SECONDS} s`);
  const runs = await cannon({
    ...opts,
    url: runsUrl(warm),
    durationSec: CANNON_SECONDS,
  });
  for (const r of [catalog, runs]) {
    const bad = r.non2xx + r.errors + r.timeouts;
    if (r.requests === 0 || bad > r.requests * 0.01) {
      throw new Error(
        `${r.url}: ${bad} of ${r.requests} requests failed; the figures would mean nothing`,
      );
    }
  }
  const ratio = runs.p99 / catalog.p99;
  return {
    entity: warm,
    items: body.items.length,
    catalog,
    runs,
    ratio,
    rpsRatio: runs.rps / catalog.rps,
    met: ratio <= 1.5,
  };
}

// ---------------------------------------------------------------------------
// Benchmark 2: webhook intake
// ---------------------------------------------------------------------------

/** Signed deliveries for runs the simulator never made (ids from 9e9 up). */
function buildDeliveries(total) {
  // Per run: workflow_run requested, in_progress, completed, and
  // workflow_job in_progress, completed per job; runs are added until 90% of
  // `total` unique deliveries, the rest are resends of random ones.
  const uniqueTarget = total - Math.round(total * 0.1);
  const templates = new Map();
  const templateOf = spec => {
    if (!templates.has(spec.repo)) {
      const t = history
        .listRuns(spec)
        .find(r => r.status === 'completed' && r.jobs.length > 0);
      if (!t) throw new Error(`no completed run to copy in ${spec.repo}`);
      templates.set(spec.repo, t);
    }
    return templates.get(spec.repo);
  };
  const unique = [];
  const expectedRuns = new Map();
  const base = Date.now() - 3 * 3600_000;
  let runCount = 0;
  for (let i = 0; unique.length < uniqueTarget; i++) {
    runCount += 1;
    const spec = repos[i % repos.length];
    const tpl = templateOf(spec);
    const id = 9_000_000_000 + i;
    const created = Math.floor((base + i * 1000) / 1000) * 1000;
    const startedAt = created + 5000;
    const jobSpan = 20_000;
    const done = startedAt + tpl.jobs.length * jobSpan;
    const run = (status, conclusion, updatedAt) => ({
      ...tpl,
      id,
      attempt: 1,
      runNumber: 900_000 + i,
      status,
      conclusion,
      createdAt: created,
      startedAt: status === 'queued' ? created : startedAt,
      updatedAt,
      jobs: [],
    });
    const states = [
      ['requested', run('queued', null, created)],
      ['in_progress', run('in_progress', null, startedAt)],
      [
        'completed',
        run('completed', i % 5 === 0 ? 'failure' : 'success', done),
      ],
    ];
    for (const [action, r] of states) {
      const runJson = simulator.runJson(spec, r);
      unique.push({
        event: 'workflow_run',
        runId: id,
        payload: {
          action,
          workflow_run: runJson,
          workflow: {
            id: r.workflow.id,
            name: runJson.name,
            path: runJson.path,
          },
          repository: runJson.repository,
          sender: runJson.triggering_actor,
        },
      });
    }
    const running = states[1][1];
    const repository = simulator.runJson(spec, running).repository;
    tpl.jobs.forEach((tj, j) => {
      const jobStart = startedAt + j * jobSpan;
      const jobStates = [
        { status: 'in_progress', conclusion: null, startedAt: jobStart },
        {
          status: 'completed',
          conclusion: 'success',
          startedAt: jobStart,
          completedAt: jobStart + jobSpan,
        },
      ];
      for (const js of jobStates) {
        const job = {
          ...tj,
          ...js,
          id: id * 100 + 10 + j,
          steps: js.status === 'completed' ? tj.steps : [],
          log: [],
        };
        const jobJson = simulator.jobJson(spec, running, job);
        unique.push({
          event: 'workflow_job',
          runId: id,
          payload: {
            action: js.status,
            workflow_job: jobJson,
            repository,
            sender: { login: tpl.actor },
          },
        });
      }
    });
    expectedRuns.set(String(id), {
      updatedAt: new Date(done).toISOString(),
      jobs: tpl.jobs.length,
    });
  }
  const withBodies = unique.map(d => {
    const body = JSON.stringify(d.payload);
    return {
      id: randomUUID(),
      event: d.event,
      runId: d.runId,
      body,
      signature: `sha256=${createHmac('sha256', WEBHOOK_SECRET)
        .update(body)
        .digest('hex')}`,
    };
  });
  const dupes = shuffle(withBodies.slice()).slice(
    0,
    Math.max(0, total - withBodies.length),
  );
  const all = shuffle([...withBodies, ...dupes]);
  return {
    all,
    unique: withBodies,
    runCount,
    duplicates: dupes.length,
    expectedRuns,
  };
}

async function benchIntake() {
  const name = ENTITY_NAMES[0];
  log(`intake: catalog by-name read rate, 20 connections, ${CANNON_SECONDS} s`);
  await cannon({
    token: TOKEN,
    connections: 20,
    url: catalogUrl(name),
    durationSec: 3,
  });
  const catalog = await cannon({
    token: TOKEN,
    connections: 20,
    url: catalogUrl(name),
    durationSec: CANNON_SECONDS,
  });
  if (
    catalog.requests === 0 ||
    catalog.non2xx + catalog.errors > catalog.requests * 0.01
  ) {
    throw new Error(
      `catalog reads failed: ${catalog.non2xx} non-2xx, ${catalog.errors} errors`,
    );
  }

  const { all, unique, runCount, duplicates, expectedRuns } =
    buildDeliveries(DELIVERIES);
  log(
    `intake: posting ${
      all.length
    } signed deliveries (${runCount} runs, ${duplicates} duplicates, shuffled), concurrency ${INTAKE_CONCURRENCY}, at most ${
      INTAKE_MAX_MS / 1000
    } s`,
  );
  // Sent with autocannon, the load generator the catalog's side is measured
  // with (a \`fetch\` per delivery cost the bench process, on the same two
  // cores, several times the CPU of autocannon's keep-alive connections, and
  // so favoured the catalog): each request is the next delivery; each answer
  // is tied to its delivery through the connection's context.
  const statuses = {};
  const accepted = new Set();
  let next = 0;
  const t0 = Date.now();
  const tracker = autocannon({
    url: `${BACKEND}${INTAKE_PATH}`,
    connections: INTAKE_CONCURRENCY,
    amount: all.length,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        setupRequest: (req, context) => {
          const d = all[next++ % all.length];
          context.delivery = d;
          return {
            ...req,
            headers: {
              'content-type': 'application/json',
              'user-agent': 'GitHub-Hookshot/bench',
              'x-github-event': d.event,
              'x-github-delivery': d.id,
              'x-github-hook-id': '7107',
              'x-hub-signature-256': d.signature,
            },
            body: d.body,
          };
        },
        onResponse: (status, _body, context) => {
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status >= 200 && status < 300 && context.delivery) {
            accepted.add(context.delivery.id);
          }
        },
      },
    ],
  });
  // \`amount\` makes autocannon ignore \`duration\`: bounded here instead.
  const bound = setTimeout(() => tracker.stop(), INTAKE_MAX_MS);
  const result = await tracker;
  clearTimeout(bound);
  const elapsedMs = Date.now() - t0;
  const errors = result.errors + result.timeouts;
  const latencies = { p50: result.latency.p50, p99: result.latency.p99 };
  const sent = Object.values(statuses).reduce((a, b) => a + b, 0) + errors;
  const ok = Object.entries(statuses)
    .filter(([s]) => Number(s) >= 200 && Number(s) < 300)
    .reduce((a, [, n]) => a + n, 0);
  const rate = ok / (elapsedMs / 1000);
  log(
    `intake: ${ok} of ${sent} accepted in ${fmt(elapsedMs / 1000)} s (${fmt(
      rate,
    )}/s); waiting for the store to settle`,
  );

  // What the store must hold: every run that got at least one accepted
  // delivery, once, in its latest accepted state.
  const acceptedUnique = unique.filter(d => accepted.has(d.id));
  const expectRunIds = [
    ...new Set(
      acceptedUnique
        .filter(d => d.event === 'workflow_run')
        .map(d => String(d.runId)),
    ),
  ];
  const allRunIds = [...expectedRuns.keys()];
  const deliveryIds = acceptedUnique.map(d => d.id);
  const db = new Client({
    host: '127.0.0.1',
    port: 5432,
    user: 'postgres',
    database: `${DB_PREFIX}ci-experience`,
  });
  await db.connect();
  try {
    const counts = async () => {
      const runs = await db.query(
        `SELECT provider_run_id, status, status_rank, provider_updated_at FROM ci_runs WHERE provider_run_id = ANY($1)`,
        [allRunIds],
      );
      const jobs = await db.query(
        `SELECT r.provider_run_id, j.job_id, j.status_rank FROM ci_jobs j JOIN ci_runs r ON r.id = j.run_id WHERE r.provider_run_id = ANY($1)`,
        [allRunIds],
      );
      const jobsAll = await db.query(
        `SELECT count(*)::int AS n FROM ci_jobs WHERE job_id LIKE '9%' AND length(job_id) >= 12`,
      );
      const deliveries = await db.query(
        `SELECT count(*)::int AS n FROM ci_deliveries WHERE delivery_id = ANY($1)`,
        [deliveryIds],
      );
      return {
        runs: runs.rows,
        jobs: jobs.rows,
        jobsAll: jobsAll.rows[0].n,
        deliveries: deliveries.rows[0].n,
      };
    };
    let last;
    let stable = 0;
    const settleStart = Date.now();
    while (Date.now() - settleStart < 60_000) {
      const c = await counts();
      const key = `${c.runs.length}/${c.jobs.length}/${c.deliveries}`;
      stable = last === key ? stable + 1 : 0;
      last = key;
      if (stable >= 3) break;
      await sleep(1000);
    }
    const settleMs = Date.now() - settleStart;
    const c = await counts();
    const distinctRuns = new Set(c.runs.map(r => r.provider_run_id)).size;
    const notLatest = c.runs.filter(r => {
      const want = expectedRuns.get(r.provider_run_id);
      return (
        Number(r.status_rank) !== 2 ||
        Date.parse(r.provider_updated_at) !== Date.parse(want.updatedAt)
      );
    });
    const expectedJobs = expectRunIds.reduce(
      (n, id) => n + expectedRuns.get(id).jobs,
      0,
    );
    const jobsNotFinal = c.jobs.filter(j => Number(j.status_rank) !== 2);
    // With every delivery accepted, each run's latest state (completed) was sent.
    const allAccepted = ok === all.length;
    const check = {
      allAccepted,
      expectedRuns: expectRunIds.length,
      storedRuns: c.runs.length,
      distinctRuns,
      runsNotLatest: allAccepted ? notLatest.length : undefined,
      expectedJobs,
      storedJobs: c.jobs.length,
      jobsNotFinal: allAccepted ? jobsNotFinal.length : undefined,
      orphanJobs: c.jobsAll - c.jobs.length,
      expectedDeliveries: deliveryIds.length,
      storedDeliveries: c.deliveries,
      settleMs,
    };
    check.passed =
      allAccepted &&
      check.storedRuns === check.expectedRuns &&
      check.distinctRuns === check.expectedRuns &&
      check.runsNotLatest === 0 &&
      check.storedJobs === check.expectedJobs &&
      check.jobsNotFinal === 0 &&
      check.storedDeliveries === check.expectedDeliveries;
    return {
      catalog,
      deliveries: all.length,
      runCount,
      duplicates,
      sent,
      ok,
      statuses,
      errors,
      elapsedMs,
      rate,
      p50: latencies.p50,
      p99: latencies.p99,
      ratio: rate / catalog.rps,
      check,
      met: rate >= catalog.rps / 2 && check.passed,
    };
  } finally {
    await db.end();
  }
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

function machine() {
  const sh = cmd => {
    try {
      return execSync(cmd, { encoding: 'utf8' }).replace(/\s+$/, '');
    } catch {
      return 'n/a';
    }
  };
  return {
    nproc: sh('nproc'),
    cpu: os.cpus()[0]?.model ?? 'n/a',
    free: sh('free -h'),
    node: process.version,
    postgres: sh(
      `psql -h 127.0.0.1 -U postgres -Atc 'show server_version' 2>/dev/null`,
    ),
    date: started.toISOString(),
    os: `${os.type()} ${os.release()}`,
  };
}

const yes = met => (met ? '**met**' : '**not met**');

function report(results, errorsByBench, totalMs) {
  const m = machine();
  const L = [];
  L.push('# Benchmarks');
  L.push('');
  L.push(
    'Written by `yarn bench` (bench/run.cjs); rerun it to refresh this page. It starts the portal backend (`packages/backend`, dev mode through the `@backstage/cli` node transform, as `yarn start` runs it) with `app-config.yaml` + `app-config.bench.yaml` on PostgreSQL, and serves a simulated GitHub Actions API (packages/ci-simulator, ten repositories cloned from its demo specs) in the bench process itself, so every request the backend makes to "GitHub" is counted. Loopback traffic only; every loop is bounded in count and time.',
  );
  L.push('');
  L.push('## Machine');
  L.push('');
  L.push(`- Date: ${m.date}`);
  L.push(`- CPUs (\`nproc\`): ${m.nproc} (${m.cpu})`);
  L.push(`- Node: ${m.node}; PostgreSQL ${m.postgres}; ${m.os}`);
  L.push(`- Total bench run time: ${fmt(totalMs / 1000, 0)} s`);
  L.push('- Memory (`free -h`):');
  L.push('');
  L.push('```');
  L.push(m.free);
  L.push('```');
  L.push('');
  L.push(
    'The load generators (autocannon, viewers, webhook sender) and the simulator share these CPUs with the backend and PostgreSQL, so absolute figures are low-end; the ratios compare endpoints measured on the same backend in the same run.',
  );
  L.push('');
  L.push('## Summary');
  L.push('');
  L.push('| Benchmark | Figure | Target | Result |');
  L.push('| --- | --- | --- | --- |');
  const u = results.upstream;
  const w = results.intake;
  const r = results.latency;
  L.push(
    u
      ? `| 1. Upstream requests | ${fmt(
          u.ratio,
        )}x fewer than per-view fetching; at most ${
          u.maxListsPerSourceRound
        } list request(s) per source per sync interval | >= 100x fewer, <= 1 list request per source per interval | ${yes(
          u.met,
        )} |`
      : `| 1. Upstream requests | could not run: ${errorsByBench.upstream} | | **did not run** |`,
  );
  L.push(
    w
      ? `| 2. Webhook intake | ${fmt(w.rate)} deliveries/s vs ${fmt(
          w.catalog.rps,
        )} catalog reads/s (${fmt(w.ratio, 2)}x); count check ${
          w.check.passed ? 'passed' : 'failed'
        } | >= 0.5x catalog read rate, every run once in its latest state | ${yes(
          w.met,
        )} |`
      : `| 2. Webhook intake | could not run: ${errorsByBench.intake} | | **did not run** |`,
  );
  L.push(
    r
      ? `| 3. Read latency | runs p99 ${fmt(
          r.runs.p99,
        )} ms vs catalog p99 ${fmt(r.catalog.p99)} ms (${fmt(
          r.ratio,
          2,
        )}x) | <= 1.5x the catalog's p99 | ${yes(r.met)} |`
      : `| 3. Read latency | could not run: ${errorsByBench.latency} | | **did not run** |`,
  );
  if (ONLY !== 'portal') {
    L.push(...insightsSummaryRows(results.insights, errorsByBench.insights));
  }
  L.push('');

  L.push('## 1. Upstream requests');
  L.push('');
  L.push(
    `Method: the backend syncs the ten sources once (the backfill: ${
      VIEWERS > 0 ? "triggered by one GET of each entity's runs" : ''
    }; reported apart), then ${VIEWERS} simulated viewers open a random one of the ten entities' CI page (\`GET /api/ci-experience/entities/component/default/<name>/runs\`) every ${
      THINK_MS / 1000
    } s on average (uniform ${THINK_MS / 2}–${
      (THINK_MS * 3) / 2
    } ms think time) for ${VIEW_SECONDS} s, while the scheduled sync runs every ${
      SYNC_FREQUENCY_MS / 1000
    } s. Webhooks are off (no sender runs), so polling is what is measured. Every request the backend makes to the simulated GitHub is counted in the simulator. The naive client is a model, not a measurement: today's browser-side plugin (the community github-actions plugin) fetches per page view; we count it as 1 list-runs request + 1 jobs request per view, which is a lower bound (it reads jobs of several runs).`,
  );
  L.push('');
  if (u) {
    L.push(
      '| | Requests to GitHub | List | Jobs | Other | Logs (triage, once per failed job) |',
    );
    L.push('| --- | ---: | ---: | ---: | ---: | ---: |');
    const k = u.backend.byKind;
    L.push(
      `| Naive per-view client (model), ${fmt(u.views, 0)} views | ${fmt(
        u.naive.total,
        0,
      )} | ${fmt(u.naive.list, 0)} | ${fmt(u.naive.jobs, 0)} | 0 | 0 |`,
    );
    L.push(
      `| CI Experience backend, same ${fmt(
        u.windowMs / 1000,
        0,
      )} s window | ${fmt(u.backend.total, 0)} | ${fmt(k.list ?? 0, 0)} | ${fmt(
        k.jobs ?? 0,
        0,
      )} | ${fmt(
        u.backend.total - (k.list ?? 0) - (k.jobs ?? 0) - (k.logs ?? 0),
        0,
      )} | ${fmt(k.logs ?? 0, 0)} |`,
    );
    const bk = u.backfill.byKind;
    L.push(
      `| CI Experience backend, one-time backfill before the window | ${fmt(
        u.backfill.total,
        0,
      )} | ${fmt(bk.list ?? 0, 0)} | ${fmt(bk.jobs ?? 0, 0)} | ${fmt(
        u.backfill.total - (bk.list ?? 0) - (bk.jobs ?? 0) - (bk.logs ?? 0),
        0,
      )} | ${fmt(bk.logs ?? 0, 0)} |`,
    );
    L.push('');
    L.push(
      `- Views: ${fmt(u.views, 0)} (${fmt(u.viewsPerSecond)}/s, ${
        u.failedViews
      } failed); view latency p50 ${fmt(u.viewP50)} ms, p99 ${fmt(
        u.viewP99,
      )} ms.`,
    );
    L.push(
      `- Backend responses from GitHub in the window by status: ${JSON.stringify(
        u.backend.byStatus,
      )} (304 = ETag hit, free against GitHub's rate limit).`,
    );
    L.push(
      `- **Ratio: ${fmt(
        u.ratio,
      )}x fewer requests** than the naive client in the window (${fmt(
        u.ratioWithBackfill,
      )}x counting the one-time backfill too), triage's log reads left out.`,
    );
    L.push(
      `- Triage: ${fmt(
        (u.backend.byKind.logs ?? 0) + (u.backfill.byKind.logs ?? 0),
        0,
      )} log requests in all (${fmt(
        u.backend.byKind.logs ?? 0,
        0,
      )} in the window), each failed job's log read once to classify the failure (a 302 and the download here; at GitHub the download comes from blob storage and only the 302 counts against the API rate limit). They depend on how many jobs fail, not on viewers, so they are reported apart from the ratio; the window's share is the backlog of the backfill's failures being worked off (at most 50 a drain).`,
    );
    L.push(
      `- Sync rounds seen in the window: ${u.rounds.length} over ${fmt(
        u.intervals,
      )} intervals of ${
        SYNC_FREQUENCY_MS / 1000
      } s. List requests per source per round: at most **${
        u.maxListsPerSourceRound
      }** (first-page list requests: at most ${u.maxFirstPagePerSourceRound}).`,
    );
    L.push('');
    L.push(
      '| Round at (s into window) | List requests | Sources | Pages beyond the first | Max per source |',
    );
    L.push('| ---: | ---: | ---: | ---: | ---: |');
    for (const round of u.rounds) {
      L.push(
        `| ${round.at} | ${round.lists} | ${round.sources} | ${round.pagesBeyondFirst} | ${round.max} |`,
      );
    }
    L.push('');
    L.push(
      `Target: at least 100 times fewer requests, and at most one list request per source per sync interval whatever the number of viewers. Result: ${yes(
        u.met,
      )}.`,
    );
    L.push('');
    if (u.maxListsPerSourceRound > 1 && u.maxFirstPagePerSourceRound <= 1) {
      L.push(
        'Why a source can cost two list requests per interval: the second one is page 2. `CiSyncService` reads the next page whenever the page it read held any new or changed run (its only stop is `changed === 0 && !unfinishedLeft`), so every source with a run in progress reads page 2 each interval, to learn that nothing there changed. Runs are listed newest first, so a page that also holds a stored, unchanged run proves the pages after it unchanged; stopping there (and leaving unfinished older runs to the per-run `getRun` the sync already does) would make it one list request. That is a change in `plugins/ci-experience-backend/src/service/CiSyncService.ts`. The viewer count plays no part: views are served from the database and never reach GitHub.',
      );
      L.push('');
    }
  }

  L.push('## 2. Webhook intake');
  L.push('');
  L.push(
    `Method: ${fmt(
      DELIVERIES,
      0,
    )} signed GitHub deliveries (\`x-hub-signature-256\` HMAC of the exact body, unique \`x-github-delivery\`, \`x-github-event\`) built from the simulator's \`runJson\`/\`jobJson\` for runs with ids from 9,000,000,000 up (no collision with the simulator's own runs) on the ten synced repositories: per run \`workflow_run\` requested / in_progress / completed and \`workflow_job\` in_progress / completed for each job; 10% of them sent twice with the same delivery id; all shuffled. POSTed to \`${INTAKE_PATH}\` with autocannon at ${INTAKE_CONCURRENCY} connections, each request the next delivery, as fast as the backend answers (bounded at ${
      INTAKE_MAX_MS / 1000
    } s). Before it, on the same backend in the same run, with the same load generator, the catalog's \`GET /api/catalog/entities/by-name/component/default/<name>\` with autocannon at 20 connections for ${CANNON_SECONDS} s. Then PostgreSQL is queried until the counts settle (bounded at 60 s): every distinct run must be stored once, in its latest state, its jobs final, every distinct delivery recorded once.`,
  );
  L.push('');
  if (w) {
    L.push('| | Rate (/s) | p50 (ms) | p99 (ms) | Count |');
    L.push('| --- | ---: | ---: | ---: | ---: |');
    L.push(
      `| Webhook deliveries accepted | ${fmt(w.rate)} | ${fmt(w.p50)} | ${fmt(
        w.p99,
      )} | ${fmt(w.ok, 0)} of ${fmt(w.sent, 0)} in ${fmt(
        w.elapsedMs / 1000,
      )} s |`,
    );
    L.push(
      `| Catalog reads (by-name) | ${fmt(w.catalog.rps)} | ${fmt(
        w.catalog.p50,
      )} | ${fmt(w.catalog.p99)} | ${fmt(w.catalog.requests, 0)} |`,
    );
    L.push('');
    L.push(
      `- HTTP statuses: ${JSON.stringify(w.statuses)}; network errors: ${
        w.errors
      }.`,
    );
    L.push(`- **Ratio: ${fmt(w.ratio, 2)}x** the catalog's read rate.`);
    const c = w.check;
    L.push(
      `- Count check (${c.passed ? 'passed' : 'FAILED'}, settled after ${fmt(
        c.settleMs / 1000,
      )} s): runs stored ${c.storedRuns} (distinct ${c.distinctRuns}) of ${
        c.expectedRuns
      } expected, not in their latest state: ${
        c.runsNotLatest ?? 'n/a'
      }; jobs stored ${c.storedJobs} of ${c.expectedJobs}, not final: ${
        c.jobsNotFinal ?? 'n/a'
      }; deliveries recorded ${c.storedDeliveries} of ${
        c.expectedDeliveries
      } distinct.`,
    );
    L.push('');
    L.push(
      `Target: intake at least half the catalog's read rate. Result: ${yes(
        w.met,
      )}.`,
    );
    L.push('');
    if (!w.met && w.check.passed) {
      L.push(
        "Where a delivery's time goes: the plugin's ingress answers after the commit (HMAC check, zod parse of the payload, a source lookup remembered for 30 s, and one group-committed transaction: the delivery id, then the run or job upsert). Through the events backend (`BENCH_INTAKE_PATH=/api/events/http/github`) with `events.useEventBus` at its default, each delivery is published twice (`github`, then the router's `github.workflow_run`), and each publish is also POSTed to the events bus over HTTP with a minted token and the whole payload: on this machine 108 deliveries/s against 342 with the bus off (docs/webhooks.md).",
      );
      L.push('');
    }
  }

  L.push('## 3. Read latency');
  L.push('');
  L.push(
    `Method: autocannon, 50 connections, ${CANNON_SECONDS} s each (after 3 s of warm-up each), one after the other on the same backend: the catalog's \`GET /api/catalog/entities/by-name/component/default/${
      r?.entity ?? ENTITY_NAMES[0]
    }\`, then \`GET /api/ci-experience/entities/component/default/${
      r?.entity ?? ENTITY_NAMES[0]
    }/runs\` for the same, already-synced entity (default page of 25 runs).`,
  );
  L.push('');
  if (r) {
    L.push(
      '| Endpoint | Requests/s | p50 (ms) | p90 (ms) | p99 (ms) | Requests | Non-2xx |',
    );
    L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    L.push(
      `| Catalog by-name | ${fmt(r.catalog.rps)} | ${fmt(
        r.catalog.p50,
      )} | ${fmt(r.catalog.p90)} | ${fmt(r.catalog.p99)} | ${fmt(
        r.catalog.requests,
        0,
      )} | ${r.catalog.non2xx} |`,
    );
    L.push(
      `| CI Experience runs | ${fmt(r.runs.rps)} | ${fmt(r.runs.p50)} | ${fmt(
        r.runs.p90,
      )} | ${fmt(r.runs.p99)} | ${fmt(r.runs.requests, 0)} | ${
        r.runs.non2xx
      } |`,
    );
    L.push('');
    L.push(
      `- **Ratio: p99 ${fmt(r.ratio, 2)}x** the catalog's (throughput ${fmt(
        r.rpsRatio,
        2,
      )}x).`,
    );
    L.push('');
    L.push(
      `Target: p99 no more than 1.5 times the catalog's. Result: ${yes(
        r.met,
      )}.`,
    );
    L.push('');
    if (!r.met) {
      L.push(
        "Where the time goes: every runs request first resolves the entity through the catalog over HTTP (`CatalogService.getEntityByRef`: a plugin token minted on behalf of the caller, a loopback request to `/api/catalog/entities/by-name/...`, the catalog's own auth, query and full-entity JSON), and only then runs its own two queries (sources, one page of runs). The backend log shows one internal catalog by-name request (`node-fetch` user agent) per runs request, so each runs request costs the server at least one catalog read plus its own work; with 50 closed-loop connections on this machine the throughput falls accordingly and queueing raises the p99. Avoiding the per-request catalog round trip (e.g. a short-lived cache of the entity's annotations keyed by entity ref and caller, or asking only for the fields it needs with `fields`) is a change in `plugins/ci-experience-backend/src/routes/runs.ts`.",
      );
      L.push('');
    }
  }
  if (ONLY !== 'portal') {
    L.push(...insightsSection(results.insights, errorsByBench.insights));
  }
  const failed = Object.entries(errorsByBench).filter(([, e]) => e);
  if (failed.length) {
    L.push('## Benchmarks that could not run');
    L.push('');
    for (const [name, e] of failed) L.push(`- ${name}: ${e}`);
    L.push('');
  }
  L.push('## How to run');
  L.push('');
  L.push('```sh');
  L.push(
    'yarn bench   # benchmarks 1-3 about 6 minutes, then 4 (insights); needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and ports 7107/7108 free',
  );
  L.push('BENCH_ONLY=insights yarn bench   # only benchmark 4');
  L.push(
    'yarn bench storage   # only benchmark 5 (bytes per run, 1M-run database; about 10 minutes); likewise `yarn bench prune` (6), `yarn bench migrate` (7), `yarn bench scale` (5-7)',
    'yarn bench tests   # only benchmark 10 (test results: 20M results on PostgreSQL and SQLite; BENCH_TESTS_ENTITIES=20 for 4M)',
  );
  L.push(
    'BENCH_ONLY=insights BENCH_INSIGHTS_RUNS=50000 yarn bench   # a quick check at a smaller scale',
  );
  L.push('```');
  L.push('');
  L.push(
    'Knobs: `BENCH_VIEW_SECONDS` (120), `BENCH_VIEWERS` (100), `BENCH_THINK_MS` (1000), `BENCH_CANNON_SECONDS` (15), `BENCH_DELIVERIES` (5000), `BENCH_BACKEND=yarn` (start the backend with `yarn workspace backend start --config ../../app-config.yaml --config ../../app-config.bench.yaml`, i.e. in watch mode, instead of the same entry point with plain node). The backend log of a run is kept under the system temp directory (path printed at the end). Each run uses fresh PostgreSQL databases `bench_<timestamp>_*` and drops them at the end.',
  );
  L.push('');
  const out = benchOut();
  writePage(out, L.join('\n'));
}

/** Only benchmark 4: its rows and section into the page a full run wrote. */
function reportInsightsOnly(ins, error) {
  const out = benchOut();
  const rows = insightsSummaryRows(ins, error);
  const sec = insightsSection(ins, error);
  let md;
  try {
    md = fs.readFileSync(out, 'utf8');
  } catch {
    md = [
      '# Benchmarks',
      '',
      'Written by `yarn bench` (bench/run.cjs); this page holds only benchmark 4, from `BENCH_ONLY=insights yarn bench`. Run `yarn bench` for all of them.',
      '',
      '## Summary',
      '',
      '| Benchmark | Figure | Target | Result |',
      '| --- | --- | --- | --- |',
      '',
    ].join('\n');
  }
  writePage(out, spliceInsights(md, rows, sec));
}

function writePage(out, text) {
  let page = text;
  try {
    // The storage, prune and migrate sections (`yarn bench <mode>`) stay.
    page = keepScaleSections(fs.readFileSync(out, 'utf8'), text);
  } catch {
    // no page before
  }
  fs.writeFileSync(out, page);
  try {
    // Keep the page as `yarn prettier:check` wants it; best effort.
    execSync(
      `${path.join(ROOT, 'node_modules/.bin/prettier')} --write ${out}`,
      {
        stdio: 'ignore',
      },
    );
  } catch {
    // unformatted is still correct
  }
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

async function dropDatabases() {
  const admin = new Client({
    host: '127.0.0.1',
    port: 5432,
    user: 'postgres',
    database: 'postgres',
  });
  await admin.connect();
  try {
    const { rows } = await admin.query(
      `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`,
      [DB_PREFIX],
    );
    for (const { datname } of rows) {
      await admin.query(
        `DROP DATABASE IF EXISTS "${datname.replace(/"/g, '""')}" WITH (FORCE)`,
      );
    }
    return rows.length;
  } finally {
    await admin.end();
  }
}

/** The fault benchmark's line in the summary table. */
function faultSummaryRows(r) {
  const c = r.check;
  if (!c) {
    return [
      `| 9. Faults: a replica SIGKILLed mid-sync and mid-burst | could not run: ${r.error} | | **did not run** |`,
    ];
  }
  const recs = r.recovery ?? [];
  const took =
    recs.length > 0 && recs.every(x => x.attemptMs !== undefined)
      ? Math.max(...recs.map(x => x.attemptMs))
      : undefined;
  const met =
    took !== undefined &&
    took <= 20_000 &&
    c.sim.latestOk === c.sim.latest &&
    c.duplicates === 0;
  return [
    `| 9. Faults: a replica SIGKILLed mid-sync and mid-burst | survivor took up its sources in ${
      took === undefined ? 'n/a' : `${fmt(took / 1000)} s`
    }; ${fmt(c.sim.latestOk, 0)} of ${fmt(
      c.sim.latest,
      0,
    )} runs in their latest state; ${fmt(
      c.duplicates,
      0,
    )} stored twice | within one interval (20 s); every run right; none doubled | ${
      met ? '**met**' : '**not met**'
    } |`,
  ];
}

async function main() {
  const mode = process.argv[2] ?? '';
  // `yarn bench sources`: bench/sources/index.cjs in its own process (its
  // fake clock must be installed before anything reads Date).
  if ((mode || ONLY) === 'sources') {
    const { spawnSync } = require('node:child_process');
    const r = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        '--max-old-space-size=4096',
        '--require',
        require.resolve('@backstage/cli/config/nodeTransform.cjs'),
        path.join(__dirname, 'sources/index.cjs'),
      ],
      { stdio: 'inherit', cwd: ROOT, env: process.env },
    );
    process.exit(r.status ?? 1);
  }
  // `yarn bench fault`: two real backends, one killed (bench/fault/); its
  // section goes into docs/benchmarks.md as section 9.
  if ((mode || ONLY) === 'fault') {
    const { runFaultBench } = require('./fault/index.cjs');
    const { splice, SECTIONS } = require('./scale/common.cjs');
    const r = await runFaultBench({ log });
    const heading = SECTIONS[SECTIONS.length - 1].heading;
    const section = r.section.trimEnd().split('\n');
    section[0] = heading;
    const out = benchOut();
    fs.writeFileSync(
      out,
      splice(fs.readFileSync(out, 'utf8'), {
        heading,
        rowPrefix: '| 9. Faults',
        rows: faultSummaryRows(r),
        section: [...section, ''],
      }),
    );
    log(`wrote ${out}`);
    process.exit(r.error && !r.check ? 1 : 0);
  }
  // `yarn bench storage|prune|migrate|scale`: bench/scale/run.cjs alone.
  if (mode || SCALE_MODES.includes(ONLY)) {
    const scale = mode || ONLY;
    if (!SCALE_MODES.includes(scale)) {
      console.error(
        `yarn bench ${scale}: expected one of ${SCALE_MODES.join(', ')}`,
      );
      process.exit(1);
    }
    if (process.env.BENCH_REPORT_FROM) {
      log(`wrote ${reportScaleFrom(scale, process.env.BENCH_REPORT_FROM)}`);
      process.exit(0);
    }
    process.exit(await runScaleMode(scale));
  }
  if (!['', 'insights', 'portal'].includes(ONLY)) {
    console.error(`BENCH_ONLY=${ONLY}: expected insights or portal`);
    process.exit(1);
  }
  if (process.env.BENCH_REPORT_FROM) {
    // The report again from a run's saved results (after a change of its
    // wording), without running anything: benchmark 4 only.
    const saved = JSON.parse(
      fs.readFileSync(process.env.BENCH_REPORT_FROM, 'utf8'),
    );
    if (!saved.results?.insights) {
      console.error(`${process.env.BENCH_REPORT_FROM}: no insights results`);
      process.exit(1);
    }
    reportInsightsOnly(saved.results.insights, saved.errorsByBench?.insights);
    log(`wrote ${benchOut()} from ${process.env.BENCH_REPORT_FROM}`);
    return;
  }
  const results = {};
  const errorsByBench = {};
  const onSignal = () => cleanupInsights().finally(() => process.exit(130));
  if (ONLY !== 'insights') {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    await portalBenches(results, errorsByBench);
  }
  if (ONLY !== 'portal') {
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    log('4. insights: generated history on PostgreSQL and SQLite');
    try {
      results.insights = await runInsightsBench({ log, stamp });
      const failedDbs = Object.entries(results.insights.errors);
      if (failedDbs.length) {
        errorsByBench.insights = failedDbs
          .map(([k, e]) => `${k}: ${String(e).split('\n')[0]}`)
          .join('; ');
      }
    } catch (error) {
      errorsByBench.insights = error.message;
      log(`insights: could not run: ${error.message}`);
    } finally {
      await cleanupInsights();
    }
  }
  fs.writeFileSync(
    path.join(logDir, 'results.json'),
    JSON.stringify({ results, errorsByBench }, null, 2),
  );
  if (ONLY === 'insights') {
    reportInsightsOnly(results.insights, errorsByBench.insights);
  } else {
    report(results, errorsByBench, Date.now() - stamp);
  }
  log(`wrote ${benchOut()}; logs and results.json: ${logDir}`);
  const couldNotRun = Object.values(errorsByBench).some(Boolean);
  process.exit(couldNotRun ? 1 : 0);
}

/** Benchmarks 1-3 against the portal backend; bounded by GLOBAL_TIMEOUT_MS. */
async function portalBenches(results, errorsByBench) {
  const watchdog = setTimeout(() => {
    console.error('bench: global time-out reached; stopping');
    cleanup().finally(() => process.exit(1));
  }, GLOBAL_TIMEOUT_MS);
  let server;
  let backend;
  let cleaned = false;
  async function cleanup() {
    if (cleaned) return;
    cleaned = true;
    if (backend) await backend.stop();
    if (server) await server.close().catch(() => {});
    try {
      const n = await dropDatabases();
      log(`dropped ${n} bench databases (${DB_PREFIX}*)`);
    } catch (error) {
      log(`could not drop the bench databases ${DB_PREFIX}*: ${error.message}`);
    }
  }
  const onSignal = () =>
    cleanup()
      .then(() => cleanupInsights())
      .finally(() => process.exit(130));
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  Object.assign(errorsByBench, {
    upstream: undefined,
    intake: undefined,
    latency: undefined,
  });
  try {
    await assertPortFree(BACKEND_PORT);
    server = await sim.startSimulatorServer({
      simulator,
      port: SIM_PORT,
      log: recordUpstream,
    });
    log(
      `simulator: ${repos.length} repositories at ${server.url}/api/v3 (in-process, webhooks off)`,
    );

    const env = {
      ...process.env,
      NODE_ENV: process.env.NODE_ENV ?? 'development',
      BENCH_TOKEN: TOKEN,
      BENCH_DB_PREFIX: DB_PREFIX,
    };
    const configArgs = [
      '--config',
      '../../app-config.yaml',
      '--config',
      '../../app-config.bench.yaml',
    ];
    if (process.env.BENCH_BACKEND === 'yarn') {
      backend = startProcess(
        'yarn',
        ['workspace', 'backend', 'start', ...configArgs],
        { cwd: ROOT, env, logFile: backendLog },
      );
    } else {
      const transform = require.resolve(
        '@backstage/cli/config/nodeTransform.cjs',
      );
      backend = startProcess(
        process.execPath,
        [
          '--enable-source-maps',
          // BENCH_BACKEND_PROFILE=<dir>: a V8 CPU profile of the backend,
          // written there when it exits (open it in Chrome's DevTools).
          ...(process.env.BENCH_BACKEND_PROFILE
            ? [
                '--cpu-prof',
                `--cpu-prof-dir=${process.env.BENCH_BACKEND_PROFILE}`,
              ]
            : []),
          '--require',
          transform,
          'src/index',
          ...configArgs,
        ],
        { cwd: BACKEND_DIR, env, logFile: backendLog },
      );
    }
    log(
      `backend: starting on :${BACKEND_PORT}, databases ${DB_PREFIX}*, log ${backendLog}`,
    );
    const exitedWhy = () => {
      const e = backend.exited();
      return e
        ? `backend exited (${e.code ?? e.signal}); see ${backendLog}`
        : undefined;
    };
    const t = Date.now();
    await waitFor(
      'backend ready',
      async () =>
        (
          await fetch(`${BACKEND}/.backstage/health/v1/readiness`, {
            signal: AbortSignal.timeout(2000),
          })
        ).status === 200,
      { timeoutMs: 180_000, intervalMs: 1000, abort: exitedWhy },
    );
    log(
      `backend: ready in ${fmt(
        (Date.now() - t) / 1000,
      )} s; waiting for the catalog to hold the ten entities`,
    );
    await waitFor(
      'catalog holds the bench entities',
      async () => {
        for (const name of ENTITY_NAMES) {
          if ((await getJson(catalogUrl(name), TOKEN)).status !== 200)
            return false;
        }
        return true;
      },
      { timeoutMs: 120_000, intervalMs: 1000, abort: exitedWhy },
    );

    const runBench = async (key, fn) => {
      try {
        if (backend.exited()) throw new Error(exitedWhy());
        results[key] = await fn();
      } catch (error) {
        errorsByBench[key] = error.message;
        log(`${key}: could not run: ${error.message}`);
      }
    };
    await runBench('upstream', benchUpstream);
    if (results.upstream) {
      const u = results.upstream;
      log(
        `1. upstream: backend ${u.backend.total} requests vs naive ${
          u.naive.total
        } (${u.views} views) => ${fmt(u.ratio)}x fewer; max ${
          u.maxListsPerSourceRound
        } list requests per source per sync round (${
          u.rounds.length
        } rounds); backfill ${u.backfill.total}; target ${
          u.met ? 'met' : 'NOT met'
        }`,
      );
    }
    // Latency before intake: the intake adds fabricated runs to the entities.
    await runBench('latency', benchLatency);
    if (results.latency) {
      const r = results.latency;
      log(
        `3. latency: catalog p50 ${r.catalog.p50} p99 ${r.catalog.p99} ms ${fmt(
          r.catalog.rps,
        )} req/s; runs p50 ${r.runs.p50} p99 ${r.runs.p99} ms ${fmt(
          r.runs.rps,
        )} req/s => p99 ratio ${fmt(r.ratio, 2)}; target ${
          r.met ? 'met' : 'NOT met'
        }`,
      );
    }
    await runBench('intake', benchIntake);
    if (results.intake) {
      const w = results.intake;
      log(
        `2. intake: ${fmt(w.rate)} deliveries/s vs catalog ${fmt(
          w.catalog.rps,
        )} reads/s => ${fmt(w.ratio, 2)}x; count check ${
          w.check.passed ? 'passed' : 'FAILED'
        } ${JSON.stringify(w.check)}; target ${w.met ? 'met' : 'NOT met'}`,
      );
    }
  } catch (error) {
    for (const key of Object.keys(errorsByBench)) {
      if (!results[key] && !errorsByBench[key])
        errorsByBench[key] = error.message;
    }
    log(`bench: ${error.message}`);
  } finally {
    await cleanup();
    clearTimeout(watchdog);
  }
  log(`backend log: ${backendLog}`);
}

main();
