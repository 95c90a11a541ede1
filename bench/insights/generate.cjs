/**
 * A generated CI history for the insights benchmark: sources (one per
 * entity), runs (attempts) and jobs, streamed in batches of row arrays in
 * the column order of RUN_COLUMNS / JOB_COLUMNS, so that 6M rows never sit in
 * memory at once. Deterministic (seeded PRNG): two loads of the same size
 * hold the same history.
 *
 * Shape, per entity (source): its share of the runs drawn from a log-normal
 * activity weight (a few busy services, many quiet ones), spread uniformly
 * over HISTORY_DAYS (two 90-day windows and some, so previous windows have
 * data); three workflows (CI 60%, Deploy 25% on the default branch, Nightly
 * 15% on the default branch); the default branch (`main`, or `master` for one
 * source in ten) for about two thirds of CI runs, the rest on a few others;
 * a commit re-used by about a third of the runs (several workflows, reruns);
 * failures from a per-source propensity plus broken streaks (so recoveries
 * take a while); half the failed runs get attempt 2 (the same provider run),
 * which passes 70% of the time (flaky commits); cancelled ~3%, skipped ~1%;
 * a few runs still running or queued in the last hour. Jobs: 3..7 per run
 * (5 on average); a failed run has one failed job, the jobs after it
 * skipped; a failed job carries a failure class (JSON as triage stores it).
 */

const DAY = 86_400_000;
const HISTORY_DAYS = 200;

const RUN_COLUMNS = [
  ['id', 'text'],
  ['source_key', 'text'],
  ['provider', 'text'],
  ['source', 'text'],
  ['provider_run_id', 'text'],
  ['attempt', 'int'],
  ['workflow', 'text'],
  ['workflow_path', 'text'],
  ['run_number', 'int'],
  ['status', 'text'],
  ['provider_status', 'text'],
  ['branch', 'text'],
  ['commit_sha', 'text'],
  ['commit_message', 'text'],
  ['actor', 'text'],
  ['event', 'text'],
  ['url', 'text'],
  ['created_at', 'text'],
  ['started_at', 'text'],
  ['finished_at', 'text'],
  ['duration_ms', 'bigint'],
  ['queued_ms', 'bigint'],
  ['provider_updated_at', 'text'],
  ['status_rank', 'int'],
  ['jobs_synced', 'boolean'],
  ['failure', 'text'],
];

const JOB_COLUMNS = [
  ['run_id', 'text'],
  ['job_id', 'text'],
  ['status_rank', 'int'],
  ['version', 'text'],
  ['started_at', 'text'],
  ['data', 'text'],
  ['status', 'text'],
  ['failure', 'text'],
  ['triaged_at', 'text'],
  ['triage_attempts', 'int'],
];

const SOURCE_COLUMNS = [
  ['key', 'text'],
  ['provider', 'text'],
  ['source', 'text'],
  ['host', 'text'],
  ['default_branch', 'text'],
  ['last_synced_at', 'text'],
  ['last_attempt_at', 'text'],
];

const WORKFLOWS = [
  {
    name: 'CI',
    path: '.github/workflows/ci.yml',
    share: 0.6,
    medianMs: 8 * 60_000,
    jobs: [
      'build',
      'lint',
      'unit-tests',
      'integration-tests',
      'typecheck',
      'e2e',
      'docker-image',
    ],
  },
  {
    name: 'Deploy',
    path: '.github/workflows/deploy.yml',
    share: 0.25,
    medianMs: 4 * 60_000,
    defaultOnly: true,
    jobs: [
      'build',
      'push-image',
      'deploy-staging',
      'smoke-tests',
      'deploy-production',
      'notify',
      'migrate-db',
    ],
  },
  {
    name: 'Nightly',
    path: '.github/workflows/nightly.yml',
    share: 0.15,
    medianMs: 25 * 60_000,
    defaultOnly: true,
    jobs: [
      'full-build',
      'long-tests',
      'fuzz',
      'benchmarks',
      'license-scan',
      'report',
      'cleanup',
    ],
  },
];

const OTHER_BRANCHES = [
  'develop',
  'release/1.x',
  'feature/login',
  'feature/search',
  'fix/flaky-test',
];

const FAILURE_CLASSES = [
  { id: 'failing-tests', title: 'Failing tests', category: 'test', w: 0.45 },
  {
    id: 'compile-error',
    title: 'Compilation error',
    category: 'code',
    w: 0.15,
  },
  {
    id: 'out-of-memory',
    title: 'Out of memory',
    category: 'infrastructure',
    w: 0.1,
  },
  {
    id: 'dependency-resolution',
    title: 'Dependency resolution failed',
    category: 'dependency',
    w: 0.1,
  },
  {
    id: 'network-timeout',
    title: 'Network or DNS timeout',
    category: 'infrastructure',
    w: 0.08,
  },
  {
    id: 'time-limit',
    title: 'Time limit exceeded',
    category: 'timeout',
    w: 0.04,
  },
  { id: 'unknown', title: 'Unknown failure', w: 0.08 },
].map(c => {
  const { w, ...cls } = c;
  return {
    w,
    json: JSON.stringify({
      ...cls,
      ...(cls.category
        ? {
            guide: `/docs/default/component/ci-experience/troubleshooting/${cls.id}/`,
          }
        : {}),
    }),
  };
});

/** mulberry32: small, fast, good enough for a benchmark's shape. */
function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const gauss = () => {
    const u = Math.max(next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  };
  return { next, gauss };
}

/** 0 queued, 1 running, 2 final (as the store's status_rank). */
function rankOf(status) {
  if (status === 'queued') return 0;
  return status === 'running' ? 1 : 2;
}

function eventOf(workflow, onDefault) {
  if (workflow === 'Nightly') return 'schedule';
  return onDefault ? 'push' : 'pull_request';
}

/** Job j's status in a run: the jobs after a failed or cancelled one skipped. */
function jobStatus(status, j, failAt, cancelAt) {
  if (status === 'succeeded') return 'succeeded';
  if (status === 'running') return j === 0 ? 'running' : 'queued';
  if (status === 'queued' || status === 'skipped') return status;
  const at = status === 'failed' ? failAt : cancelAt;
  if (j < at) return 'succeeded';
  return j === at ? status : 'skipped';
}

const pad = (n, w) => String(n).padStart(w, '0');
const iso = ms => new Date(ms).toISOString();

/** The entity names and sources of a history of `entities` entities. */
function entityOf(i) {
  const name = `svc-${pad(i, 5)}`;
  const source = `bench-org/${name}`;
  return {
    name,
    entityRef: `component:default/${name}`,
    source,
    sourceKey: `github-actions:github.com/${source}`,
    defaultBranch: i % 10 === 3 ? 'master' : 'main',
  };
}

/**
 * How many runs each entity gets: log-normal weights scaled so the total is
 * exactly `runs`.
 */
function runCounts(entities, runs, seed) {
  const r = prng(seed);
  const w = Array.from({ length: entities }, () => Math.exp(0.8 * r.gauss()));
  const sum = w.reduce((a, b) => a + b, 0);
  // At least one run per entity when there are enough runs for that (the
  // history); fewer runs than entities (an ingestion set) leaves some with
  // none: with a minimum of one, the trimming below never ended.
  const min = runs >= entities ? 1 : 0;
  const counts = w.map(x => Math.max(min, Math.floor((x / sum) * runs)));
  let left = runs - counts.reduce((a, b) => a + b, 0);
  for (let i = 0; left > 0; i = (i + 1) % entities, left--) counts[i] += 1;
  for (let i = 0; left < 0; i = (i + 1) % entities) {
    if (counts[i] > 1) {
      counts[i] -= 1;
      left += 1;
    }
  }
  return counts;
}

function pick(r, items, weightOf) {
  let x = r.next();
  for (const item of items) {
    x -= weightOf(item);
    if (x <= 0) return item;
  }
  return items[items.length - 1];
}

/**
 * Streams the history: yields { sources, runs, jobs } batches (row arrays),
 * about `batchRuns` runs at a time, entity by entity.
 *
 * `idPrefix` and `runIdBase` keep ids of several histories apart (the
 * ingestion batches are generated the same way, later in time).
 */
function* generateHistory({
  entities,
  runs,
  now,
  days = HISTORY_DAYS,
  seed = 42,
  batchRuns = 5000,
  idPrefix = 'b',
  runIdBase = 1_000_000_000,
  entityOffset = 0,
  withSources = true,
  liveLastHour = true,
}) {
  const counts = runCounts(entities, runs, seed);
  const r = prng(seed * 7 + 1);
  const start = now - days * DAY;
  let runSeq = 0;
  let jobSeq = 0;
  let batch = { sources: [], runs: [], jobs: [] };
  for (let e = 0; e < entities; e++) {
    const ent = entityOf(e + entityOffset);
    if (withSources) {
      batch.sources.push([
        ent.sourceKey,
        'github-actions',
        ent.source,
        'github.com',
        ent.defaultBranch,
        iso(now),
        iso(now),
      ]);
    }
    const failP = 0.03 + 0.2 * r.next();
    const speed = Math.exp(0.5 * r.gauss());
    const n = counts[e];
    // Creation times of first attempts: sorted uniform over the span; reruns
    // are added beside their run, so the entity's total stays n.
    const times = [];
    for (let k = 0; k < n; k++) times.push(start + r.next() * (now - start));
    times.sort((a, b) => a - b);
    const runNumbers = new Map();
    const lastSha = new Map();
    const broken = new Map();
    let made = 0;
    for (let k = 0; made < n; k++) {
      const created = Math.floor(times[Math.min(k, n - 1)]);
      const wf = pick(r, WORKFLOWS, x => x.share);
      const onDefault = wf.defaultOnly || r.next() < 0.65;
      const branch = onDefault
        ? ent.defaultBranch
        : OTHER_BRANCHES[Math.floor(r.next() * OTHER_BRANCHES.length)];
      let sha = lastSha.get(branch);
      if (!sha || r.next() >= 0.35) {
        sha = (((e + 1) * 2654435761) ^ (k * 40503) ^ runSeq)
          .toString(16)
          .padStart(8, '0')
          .concat(pad(runSeq, 12))
          .padEnd(40, 'a');
        lastSha.set(branch, sha);
      }
      const streakKey = `${wf.name}\n${branch}`;
      const runNumber = (runNumbers.get(wf.name) ?? 0) + 1;
      runNumbers.set(wf.name, runNumber);
      const providerRunId = String(runIdBase + runSeq);
      runSeq += 1;
      const live = liveLastHour && now - created < 3_600_000 && r.next() < 0.5;
      // Attempt 1, and attempt 2 when a failed attempt 1 is rerun.
      let attempt = 1;
      let attemptCreated = created;
      for (;;) {
        let status;
        const x = r.next();
        if (live) status = x < 0.5 ? 'running' : 'queued';
        else if (x < 0.03) status = 'cancelled';
        else if (x < 0.04) status = 'skipped';
        else {
          const isBroken = broken.get(streakKey) ?? false;
          const p = attempt === 2 ? 0.3 : failP;
          const failed = r.next() < (isBroken ? 0.6 : p);
          status = failed ? 'failed' : 'succeeded';
          if (attempt === 1) {
            if (failed && !isBroken) broken.set(streakKey, r.next() < 0.5);
            if (!failed) broken.set(streakKey, false);
          }
        }
        const queuedMs = Math.min(
          1_800_000,
          Math.round(2000 * Math.exp(1.2 * r.gauss())),
        );
        let durationMs = Math.round(
          wf.medianMs * speed * Math.exp(0.35 * r.gauss()),
        );
        if (status === 'cancelled') durationMs = Math.round(durationMs * 0.3);
        const startedAt =
          status === 'skipped' || status === 'queued'
            ? null
            : attemptCreated + queuedMs;
        const final = status !== 'running' && status !== 'queued';
        const finishedAt =
          final && startedAt !== null ? startedAt + durationMs : null;
        const runId = `${idPrefix}${providerRunId}a${attempt}`;
        // Jobs: sequential shares of the run's duration.
        const jobCount = 3 + Math.floor(r.next() * 5);
        const failAt =
          status === 'failed' ? Math.floor(r.next() * jobCount) : -1;
        const cancelAt =
          status === 'cancelled' ? Math.floor(r.next() * jobCount) : -1;
        let runFailure = null;
        let t = startedAt;
        const slice = startedAt === null ? 0 : durationMs / jobCount;
        for (let j = 0; j < jobCount; j++) {
          const js = jobStatus(status, j, failAt, cancelAt);
          const jobDur =
            js === 'skipped' || js === 'queued' || t === null
              ? undefined
              : Math.round(slice * (0.6 + 0.8 * r.next()));
          const jStart = jobDur === undefined ? undefined : t;
          const jEnd =
            jobDur === undefined || js === 'running'
              ? undefined
              : jStart + jobDur;
          if (jobDur !== undefined) t += jobDur;
          const jobId = String(runIdBase * 10 + jobSeq);
          jobSeq += 1;
          const job = {
            id: jobId,
            name: wf.jobs[j],
            status: js,
            providerStatus: js === 'succeeded' ? 'success' : js,
            ...(jStart !== undefined ? { startedAt: iso(jStart) } : {}),
            ...(jEnd !== undefined
              ? { finishedAt: iso(jEnd), durationMs: jobDur }
              : {}),
          };
          let failure = null;
          if (js === 'failed') {
            failure = pick(r, FAILURE_CLASSES, c => c.w).json;
            runFailure = runFailure ?? failure;
          }
          const rank = rankOf(js);
          batch.jobs.push([
            runId,
            jobId,
            rank,
            job.finishedAt ?? job.startedAt ?? null,
            job.startedAt ?? null,
            JSON.stringify(job),
            js,
            failure,
            failure ? job.finishedAt : null,
            0,
          ]);
        }
        const providerStatus =
          {
            succeeded: 'success',
            failed: 'failure',
            cancelled: 'cancelled',
            skipped: 'skipped',
            running: 'in_progress',
            queued: 'queued',
          }[status] ?? status;
        batch.runs.push([
          runId,
          ent.sourceKey,
          'github-actions',
          ent.source,
          providerRunId,
          attempt,
          wf.name,
          wf.path,
          runNumber,
          status,
          providerStatus,
          branch,
          sha,
          `Change ${runSeq}`,
          `dev-${Math.floor(r.next() * 40)}`,
          eventOf(wf.name, onDefault),
          `https://github.com/${ent.source}/actions/runs/${providerRunId}/attempts/${attempt}`,
          iso(attemptCreated),
          startedAt === null ? null : iso(startedAt),
          finishedAt === null ? null : iso(finishedAt),
          finishedAt === null ? null : durationMs,
          startedAt === null ? null : queuedMs,
          iso(finishedAt ?? startedAt ?? attemptCreated),
          rankOf(status),
          true,
          runFailure,
        ]);
        made += 1;
        const rerun =
          attempt === 1 &&
          status === 'failed' &&
          made < n &&
          r.next() < 0.5 &&
          finishedAt !== null &&
          finishedAt + 3_600_000 < now;
        if (!rerun) break;
        attempt = 2;
        attemptCreated = finishedAt + Math.floor(60_000 + r.next() * 3_000_000);
      }
      if (batch.runs.length >= batchRuns) {
        yield batch;
        batch = { sources: [], runs: [], jobs: [] };
      }
    }
  }
  if (batch.runs.length || batch.sources.length) yield batch;
}

module.exports = {
  DAY,
  HISTORY_DAYS,
  RUN_COLUMNS,
  JOB_COLUMNS,
  SOURCE_COLUMNS,
  WORKFLOWS,
  entityOf,
  generateHistory,
  prng,
};
