/* eslint-disable no-console */
/**
 * The fault bench (issue 16, point 3): two real backend replicas
 * (packages/backend) on one set of fresh PostgreSQL databases, Redis as their
 * cache and the events bus on; an in-process CI simulator whose GitHub API
 * answers with chaos (a share of 5xx, of slow answers past the backend's
 * request time-out and of 429 with Retry-After). The replica that runs the
 * scheduled sync (A) gets a burst of signed GitHub webhook deliveries and is
 * killed with SIGKILL mid-burst and mid-sync; the rest of the burst (and what
 * A did not answer) goes to the survivor (B); chaos is turned off; then the
 * store is checked: every run the simulator knows stored once per attempt
 * in its latest state, every accepted delivery applied, and how long B took
 * to sync the sources A held leases on.
 *
 * Alone:
 *
 *   node --require @backstage/cli/config/nodeTransform.cjs bench/fault/index.cjs
 *
 * prints the section and writes it to bench/fault/last-result.md (exit 0
 * when it ran, whatever the figures; 1 when it could not run). Knobs
 * (environment): FAULT_DELIVERIES (1200), FAULT_RECOVERY_MAX_S (240),
 * FAULT_SETTLE_MAX_S (90), FAULT_CHAOS (JSON for POST /_simulator/chaos).
 */
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { randomBytes, randomUUID, createHmac } = require('node:crypto');
const { Client } = require('pg');
const sim = require('@ci-experience/ci-simulator');
const {
  sleep,
  assertPortFree,
  waitFor,
  getJson,
  startProcess,
  fmt,
  shuffle,
} = require('../lib.cjs');

const ROOT = path.resolve(__dirname, '../..');
const BACKEND_DIR = path.join(ROOT, 'packages/backend');
const SIM_PORT = 7208; // as in app-config.fault.yaml and entities.yaml
const PORTS = [7207, 7217];
const SIM_BASE = `http://localhost:${SIM_PORT}`;
const WEBHOOK_SECRET = 'simulator-webhook-secret'; // as in app-config.fault.yaml
const INTERVAL_MS = 20_000; // the sync frequency in app-config.fault.yaml
const REQUEST_TIMEOUT_MS = 30_000; // the backend's provider request time-out
const RESULT_FILE = path.join(__dirname, 'last-result.md');

const num = (name, fallback) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const DELIVERIES = num('FAULT_DELIVERIES', 1200);
const RECOVERY_MAX_MS = num('FAULT_RECOVERY_MAX_S', 240) * 1000;
const SETTLE_MAX_MS = num('FAULT_SETTLE_MAX_S', 90) * 1000;
const GLOBAL_TIMEOUT_MS = 11 * 60_000;
const CONCURRENCY = 8;
const CHAOS = {
  seed: 16,
  error5xx: 0.5,
  slow: 0.1,
  slowMs: REQUEST_TIMEOUT_MS + 5_000,
  tooMany: 0.1,
  retryAfterSeconds: 2,
  ...(process.env.FAULT_CHAOS ? JSON.parse(process.env.FAULT_CHAOS) : {}),
};

const NAMES = Array.from(
  { length: 10 },
  (_, i) => `fault-service-${String(i + 1).padStart(2, '0')}`,
);

function createContext() {
  const stamp = Date.now();
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ci-experience-fault-'));
  const ctx = {
    stamp,
    logDir,
    token: randomBytes(24).toString('hex'),
    dbPrefix: `bench_fault_${stamp}_`,
    log: line =>
      console.log(
        `[fault ${((Date.now() - stamp) / 1000)
          .toFixed(0)
          .padStart(3)}s] ${line}`,
      ),
  };
  // Ten repositories cloned from the demo specs; one hour of history, so
  // every run fits in the pages a sync reads.
  const baseSpecs = sim.DEMO_REPOS.filter(r => !r.forbidden);
  ctx.repos = NAMES.map((name, i) => {
    const spec = structuredClone(baseSpecs[i % baseSpecs.length]);
    delete spec.forbidden;
    return { ...spec, repo: name };
  });
  ctx.history = new sim.SimulatedHistory(ctx.repos, { historyMs: 3600_000 });
  ctx.simulator = new sim.GithubSimulator(ctx.history, {
    apiBaseUrl: `${SIM_BASE}/api/v3`,
    webBaseUrl: SIM_BASE,
    requireAuth: true,
  });
  ctx.control = new sim.SimulatorControl(ctx.history, {
    chaos: ctx.simulator.chaos,
  });
  ctx.upstream = { byStatus: {}, total: 0 };
  return ctx;
}

/** Signed deliveries for runs the simulator never made (ids from 9e9 up), as bench/run.cjs makes them. */
function buildDeliveries(ctx, total) {
  const { history, simulator, repos } = ctx;
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
  for (let i = 0; unique.length < uniqueTarget; i++) {
    const spec = repos[i % repos.length];
    const tpl = templateOf(spec);
    const id = 9_000_000_000 + i;
    const created = Math.floor((base + i * 1000) / 1000) * 1000;
    const startedAt = created + 5000;
    const jobSpan = 20_000;
    const done = startedAt + tpl.jobs.length * jobSpan;
    const conclusion = i % 5 === 0 ? 'failure' : 'success';
    const run = (status, c, updatedAt) => ({
      ...tpl,
      id,
      attempt: 1,
      runNumber: 900_000 + i,
      status,
      conclusion: c,
      createdAt: created,
      startedAt: status === 'queued' ? created : startedAt,
      updatedAt,
      jobs: [],
    });
    const states = [
      ['requested', run('queued', null, created)],
      ['in_progress', run('in_progress', null, startedAt)],
      ['completed', run('completed', conclusion, done)],
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
      for (const js of [
        { status: 'in_progress', conclusion: null, startedAt: jobStart },
        {
          status: 'completed',
          conclusion: 'success',
          startedAt: jobStart,
          completedAt: jobStart + jobSpan,
        },
      ]) {
        const job = {
          ...tj,
          ...js,
          id: id * 100 + 10 + j,
          steps: js.status === 'completed' ? tj.steps : [],
          log: [],
        };
        unique.push({
          event: 'workflow_job',
          runId: id,
          payload: {
            action: js.status,
            workflow_job: simulator.jobJson(spec, running, job),
            repository,
            sender: { login: tpl.actor },
          },
        });
      }
    });
    expectedRuns.set(String(id), {
      source: `${spec.owner}/${spec.repo}`,
      providerStatus: conclusion,
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
  return {
    all: shuffle([...withBodies, ...dupes]),
    unique: withBodies,
    duplicates: dupes.length,
    expectedRuns,
  };
}

async function post(port, d) {
  const res = await fetch(`http://localhost:${port}/api/events/http/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/fault-bench',
      'x-github-event': d.event,
      'x-github-delivery': d.id,
      'x-github-hook-id': '7207',
      'x-hub-signature-256': d.signature,
    },
    body: d.body,
    signal: AbortSignal.timeout(30_000),
  });
  await res.arrayBuffer();
  return res.status;
}

function dbClient(database) {
  return new Client({
    host: '127.0.0.1',
    port: 5432,
    user: 'postgres',
    database,
  });
}

async function dropDatabases(prefix) {
  const admin = dbClient('postgres');
  await admin.connect();
  try {
    const { rows } = await admin.query(
      `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`,
      [prefix],
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

/** Lines of a replica's log that tell of a sync of one source ending. */
function syncLines(logFile) {
  try {
    return fs
      .readFileSync(logFile, 'utf8')
      .split('\n')
      .filter(l => /Synced demo-org\/|Sync of demo-org\/\S+ failed/.test(l))
      .length;
  } catch {
    return 0;
  }
}

async function liveLeases(db) {
  const { rows } = await db.query(
    `SELECT key, source, sync_lease_owner, sync_lease_until, last_synced_at, last_attempt_at
       FROM ci_sources WHERE sync_lease_owner IS NOT NULL AND sync_lease_until > $1`,
    [new Date().toISOString()],
  );
  return rows;
}

/** What the simulator knows now: every attempt of every run, through its API objects. */
function simulatorRuns(ctx) {
  const out = [];
  for (const spec of ctx.repos) {
    for (const latest of ctx.history.listRuns(spec)) {
      for (let a = 1; a <= latest.attempt; a++) {
        const run =
          a === latest.attempt
            ? latest
            : ctx.history.getRun(spec, latest.id, a);
        if (run) {
          out.push({
            source: `${spec.owner}/${spec.repo}`,
            id: String(run.id),
            attempt: run.attempt,
            latestAttempt: a === latest.attempt,
            providerStatus: run.conclusion ?? run.status,
            updatedAt: run.updatedAt,
          });
        }
      }
    }
  }
  return out;
}

/** Compares the store with the simulator and the accepted deliveries. */
async function check(db, ctx, burst, acceptedIds, heldKeys) {
  const { rows } = await db.query(
    `SELECT source, source_key, provider_run_id, attempt, provider_status, provider_updated_at
       FROM ci_runs WHERE source LIKE 'demo-org/fault-service-%'`,
  );
  const byKey = new Map();
  for (const r of rows) {
    const k = `${r.source}#${r.provider_run_id}#${r.attempt}`;
    byKey.set(k, [...(byKey.get(k) ?? []), r]);
  }
  const duplicates = [...byKey.values()].filter(v => v.length > 1).length;
  const now = Date.now();
  const leasedNow = new Set(
    (await liveLeases(db)).filter(l => heldKeys.has(l.key)).map(l => l.source),
  );
  // The simulator's runs.
  const simRuns = simulatorRuns(ctx);
  const s = {
    latest: 0,
    latestOk: 0,
    missing: [],
    notLatest: [],
    recentlyChanged: 0,
    inLeasedSources: 0,
    earlier: 0,
    earlierStored: 0,
    earlierNotFinal: 0,
  };
  for (const r of simRuns) {
    const stored = byKey.get(`${r.source}#${r.id}#${r.attempt}`)?.[0];
    if (!r.latestAttempt) {
      s.earlier += 1;
      if (stored) {
        s.earlierStored += 1;
        if (stored.provider_status !== r.providerStatus) s.earlierNotFinal += 1;
      }
      continue;
    }
    s.latest += 1;
    const ok =
      stored &&
      stored.provider_status === r.providerStatus &&
      Date.parse(stored.provider_updated_at) ===
        Math.floor(r.updatedAt / 1000) * 1000;
    if (ok) {
      s.latestOk += 1;
      continue;
    }
    // A run that changed within the last interval may not be synced yet.
    if (now - r.updatedAt < INTERVAL_MS + 5_000) s.recentlyChanged += 1;
    if (leasedNow.has(r.source)) s.inLeasedSources += 1;
    (stored ? s.notLatest : s.missing).push(
      `${r.source}#${r.id}/${r.attempt} ${r.providerStatus}${
        stored ? ` (stored ${stored.provider_status})` : ''
      }`,
    );
  }
  // The burst's runs.
  const acceptedRunIds = new Set(
    burst.unique
      .filter(d => acceptedIds.has(d.id) && d.event === 'workflow_run')
      .map(d => String(d.runId)),
  );
  const d = {
    runs: acceptedRunIds.size,
    stored: 0,
    notLatest: 0,
    jobsExpected: 0,
    jobsStored: 0,
    jobsNotFinal: 0,
  };
  for (const id of acceptedRunIds) {
    const want = burst.expectedRuns.get(id);
    const stored = byKey.get(`${want.source}#${id}#1`)?.[0];
    d.jobsExpected += want.jobs;
    if (!stored) continue;
    d.stored += 1;
    if (
      stored.provider_status !== want.providerStatus ||
      Date.parse(stored.provider_updated_at) !== Date.parse(want.updatedAt)
    ) {
      d.notLatest += 1;
    }
  }
  const jobs = await db.query(
    `SELECT r.provider_run_id, j.status_rank FROM ci_jobs j JOIN ci_runs r ON r.id = j.run_id
      WHERE r.provider_run_id = ANY($1)`,
    [[...acceptedRunIds]],
  );
  d.jobsStored = jobs.rows.length;
  d.jobsNotFinal = jobs.rows.filter(j => Number(j.status_rank) !== 2).length;
  const deliveries = await db.query(
    `SELECT count(*)::int AS n FROM ci_deliveries WHERE delivery_id = ANY($1)`,
    [[...acceptedIds]],
  );
  d.deliveriesExpected = acceptedIds.size;
  d.deliveriesStored = deliveries.rows[0].n;
  const simOk = s.missing.length === 0 && s.notLatest.length === 0;
  const burstOk =
    d.stored === d.runs &&
    d.notLatest === 0 &&
    d.jobsStored === d.jobsExpected &&
    d.jobsNotFinal === 0 &&
    d.deliveriesStored === d.deliveriesExpected;
  return {
    rows: rows.length,
    duplicates,
    sim: s,
    burst: d,
    passed: duplicates === 0 && simOk && burstOk,
    simOk,
    burstOk,
  };
}

async function runFaultBench(options = {}) {
  const ctx = createContext();
  const log = options.log ?? ctx.log;
  const replicas = [];
  let server;
  let db;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    ctx.simulator.chaos.clear();
    for (const r of replicas) await r.proc.stop();
    if (db) await db.end().catch(() => {});
    if (server) {
      // Slow answers still pending keep their sockets: do not wait for them.
      await Promise.race([server.close().catch(() => {}), sleep(3000)]);
    }
    try {
      const n = await dropDatabases(ctx.dbPrefix);
      log(`dropped ${n} bench databases (${ctx.dbPrefix}*)`);
    } catch (error) {
      log(`could not drop ${ctx.dbPrefix}*: ${error.message}`);
    }
  };
  const onSignal = () => cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const watchdog = setTimeout(() => {
    console.error('fault bench: global time-out reached; stopping');
    cleanup().finally(() => process.exit(1));
  }, GLOBAL_TIMEOUT_MS);

  const result = { chaos: CHAOS, logDir: ctx.logDir };
  try {
    for (const port of [...PORTS, SIM_PORT]) await assertPortFree(port);
    server = await sim.startSimulatorServer({
      simulator: ctx.simulator,
      control: ctx.control,
      port: SIM_PORT,
      log: line => {
        const m = / (\d{3}) \d+ms$/.exec(line);
        const status = m ? m[1] : 'failed';
        ctx.upstream.byStatus[status] =
          (ctx.upstream.byStatus[status] ?? 0) + 1;
        ctx.upstream.total += 1;
      },
    });
    log(`simulator: ${ctx.repos.length} repositories at ${server.url}/api/v3`);

    const transform = require.resolve(
      '@backstage/cli/config/nodeTransform.cjs',
    );
    const startReplica = (name, port) => {
      const logFile = path.join(ctx.logDir, `backend-${name}.log`);
      const proc = startProcess(
        process.execPath,
        [
          '--enable-source-maps',
          '--require',
          transform,
          'src/index',
          '--config',
          '../../app-config.yaml',
          '--config',
          '../../bench/fault/app-config.fault.yaml',
        ],
        {
          cwd: BACKEND_DIR,
          env: {
            ...process.env,
            NODE_ENV: process.env.NODE_ENV ?? 'development',
            FAULT_TOKEN: ctx.token,
            FAULT_DB_PREFIX: ctx.dbPrefix,
            FAULT_BASE_URL: `http://localhost:${port}`,
            APP_CONFIG_backend_listen_port: String(port),
          },
          logFile,
        },
      );
      const replica = { name, port, proc, logFile };
      replicas.push(replica);
      return replica;
    };
    const ready = async replica => {
      const t = Date.now();
      const why = () => {
        const e = replica.proc.exited();
        return e
          ? `replica ${replica.name} exited (${e.code ?? e.signal}); see ${
              replica.logFile
            }`
          : undefined;
      };
      await waitFor(
        `replica ${replica.name} ready`,
        async () =>
          (
            await fetch(
              `http://localhost:${replica.port}/.backstage/health/v1/readiness`,
              { signal: AbortSignal.timeout(2000) },
            )
          ).status === 200,
        { timeoutMs: 240_000, intervalMs: 1000, abort: why },
      );
      await waitFor(
        `replica ${replica.name}'s catalog holds the entities`,
        async () => {
          for (const n of NAMES) {
            const url = `http://localhost:${replica.port}/api/catalog/entities/by-name/component/default/${n}`;
            if ((await getJson(url, ctx.token)).status !== 200) return false;
          }
          return true;
        },
        { timeoutMs: 120_000, intervalMs: 1000, abort: why },
      );
      log(
        `replica ${replica.name} (:${replica.port}) ready in ${fmt(
          (Date.now() - t) / 1000,
        )} s`,
      );
    };

    // The first replica migrates the databases; the second starts once it is up.
    const first = startReplica('1', PORTS[0]);
    log(
      `replica 1 starting on :${PORTS[0]}, databases ${ctx.dbPrefix}*, logs in ${ctx.logDir}`,
    );
    await ready(first);
    const second = startReplica('2', PORTS[1]);
    await ready(second);
    db = dbClient(`${ctx.dbPrefix}ci-experience`);
    await db.connect();
    await waitFor(
      'a first sync of every source',
      async () =>
        (
          await db.query(
            `SELECT count(*)::int AS n FROM ci_sources WHERE last_synced_at IS NOT NULL AND source LIKE 'demo-org/fault-service-%'`,
          )
        ).rows[0].n === NAMES.length,
      { timeoutMs: 120_000, intervalMs: 1000 },
    );

    // Chaos on; find the replica that runs the scheduled sync: it holds the leases.
    await fetch(`${SIM_BASE}/_simulator/chaos`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(CHAOS),
    }).then(async r => {
      if (r.status !== 200)
        throw new Error(`chaos: HTTP ${r.status} ${await r.text()}`);
    });
    const chaosOnAt = Date.now();
    log(`chaos on: ${JSON.stringify(CHAOS)}`);
    // Which replica owns which lease owner id: one replica's log tells of a
    // source synced (or failed) while the same single owner held the leases
    // before and after.
    const ownerOf = new Map();
    let prevLines = replicas.map(r => syncLines(r.logFile));
    let prevOwners = (await liveLeases(db)).map(l => l.sync_lease_owner);
    const { victim, owners } = await waitFor(
      'a scheduled sync in progress under chaos',
      async () => {
        const lines = replicas.map(r => syncLines(r.logFile));
        const leases = await liveLeases(db);
        const nowOwners = [...new Set(leases.map(l => l.sync_lease_owner))];
        const grown = replicas.filter((r, i) => lines[i] > prevLines[i]);
        const before = [...new Set(prevOwners)];
        if (
          grown.length === 1 &&
          nowOwners.length === 1 &&
          before.length === 1 &&
          before[0] === nowOwners[0]
        ) {
          ownerOf.set(nowOwners[0], grown[0]);
        }
        prevLines = lines;
        prevOwners = nowOwners;
        const held = nowOwners.filter(o => ownerOf.has(o));
        if (held.length === 0 || Date.now() - chaosOnAt < 3000) return false;
        return { victim: ownerOf.get(held[0]), owners: new Set([held[0]]) };
      },
      { timeoutMs: 180_000, intervalMs: 300 },
    );
    const survivor = replicas.find(r => r !== victim);
    result.victim = victim.name;
    log(
      `replica ${victim.name} (A) syncs (lease owner ${[...owners].join(
        ', ',
      )}); burst to it, then SIGKILL`,
    );

    // The burst: to A until it is killed, then to B; what A did not answer 2xx is sent to B.
    const burst = buildDeliveries(ctx, DELIVERIES);
    const queue = burst.all.slice();
    const retryQueue = [];
    const accepted = new Set();
    const stats = {
      sent: burst.all.length,
      a2xx: 0,
      aFailed: 0,
      aStatuses: {},
      b2xx: 0,
      bNon2xx: 0,
      bStatuses: {},
      bErrors: 0,
    };
    const bAccepted = new Set();
    let killed = false;
    let paused = false;
    let answered = 0;
    const worker = async () => {
      for (;;) {
        while (paused) await sleep(50);
        const d = killed ? retryQueue.shift() ?? queue.shift() : queue.shift();
        if (!d) return;
        if (!killed) {
          try {
            const status = await post(victim.port, d);
            stats.aStatuses[status] = (stats.aStatuses[status] ?? 0) + 1;
            if (status >= 200 && status < 300) {
              stats.a2xx += 1;
              accepted.add(d.id);
              answered += 1;
              continue;
            }
          } catch {
            // killed under it
          }
          stats.aFailed += 1;
          retryQueue.push(d);
          continue;
        }
        let ok = false;
        for (let attempt = 0; attempt < 3 && !ok; attempt++) {
          try {
            const status = await post(survivor.port, d);
            stats.bStatuses[status] = (stats.bStatuses[status] ?? 0) + 1;
            ok = status >= 200 && status < 300;
          } catch {
            stats.bErrors += 1;
          }
          if (!ok) await sleep(1000);
        }
        if (ok) {
          stats.b2xx += 1;
          accepted.add(d.id);
          bAccepted.add(d.id);
        } else {
          stats.bNon2xx += 1;
        }
      }
    };
    const burstStart = Date.now();
    const workers = Promise.all(Array.from({ length: CONCURRENCY }, worker));
    // Kill once 40 % of the burst is answered and A still holds sync leases.
    await waitFor(
      '40 % of the burst answered by A',
      () => answered >= burst.all.length * 0.4 || queue.length === 0,
      {
        timeoutMs: 120_000,
        intervalMs: 50,
      },
    );
    paused = true;
    let heldAtKill = [];
    try {
      heldAtKill = await waitFor(
        'A holding a sync lease',
        async () => {
          const leases = (await liveLeases(db)).filter(l =>
            owners.has(l.sync_lease_owner),
          );
          return leases.length > 0 ? leases : false;
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
    } catch (error) {
      log(`${error.message}: killing anyway`);
    }
    paused = false;
    await sleep(300); // deliveries in flight at the kill
    const killAt = Date.now();
    process.kill(-victim.proc.child.pid, 'SIGKILL');
    killed = true;
    const killLeases = (await liveLeases(db)).filter(l =>
      owners.has(l.sync_lease_owner),
    );
    if (killLeases.length > 0) heldAtKill = killLeases;
    result.killAfterBurstMs = killAt - burstStart;
    result.answeredBeforeKill = answered;
    result.heldAtKill = heldAtKill.map(l => ({
      source: l.source,
      until: l.sync_lease_until,
    }));
    log(
      `SIGKILL replica ${victim.name} after ${answered} of ${
        burst.all.length
      } deliveries, holding leases on ${
        heldAtKill.map(l => l.source).join(', ') || 'nothing'
      }`,
    );

    // Chaos off a while after the kill (once the burst is through, at least 40 s).
    const chaosOff = (async () => {
      await workers;
      const wait = Math.max(0, killAt + 40_000 - Date.now());
      await sleep(wait);
      const res = await fetch(`${SIM_BASE}/_simulator/chaos`, {
        method: 'DELETE',
      });
      result.chaosCounts = (await res.json()).counts;
      result.chaosOffAt = Date.now();
      log(
        `chaos off after ${fmt(
          (Date.now() - chaosOnAt) / 1000,
        )} s: ${JSON.stringify(result.chaosCounts)}`,
      );
    })();

    // Recovery: B syncs every source A held a lease on.
    const heldKeys = new Set(heldAtKill.map(l => l.key));
    const recovery = new Map();
    const recoveryDeadline = killAt + RECOVERY_MAX_MS;
    while (Date.now() < recoveryDeadline) {
      const { rows } = await db.query(
        `SELECT key, source, last_synced_at, last_attempt_at, sync_lease_owner FROM ci_sources WHERE key = ANY($1)`,
        [[...heldKeys]],
      );
      for (const r of rows) {
        const rec = recovery.get(r.key) ?? { source: r.source };
        if (
          !rec.attemptMs &&
          r.last_attempt_at &&
          Date.parse(r.last_attempt_at) > killAt
        ) {
          rec.attemptMs = Date.parse(r.last_attempt_at) - killAt;
        }
        if (
          !rec.syncedMs &&
          r.last_synced_at &&
          Date.parse(r.last_synced_at) > killAt
        ) {
          rec.syncedMs = Date.parse(r.last_synced_at) - killAt;
        }
        recovery.set(r.key, rec);
      }
      const done = [...recovery.values()].filter(r => r.syncedMs).length;
      if (heldKeys.size > 0 && done === heldKeys.size && result.chaosOffAt)
        break;
      if (heldKeys.size === 0 && result.chaosOffAt) break;
      await sleep(1000);
    }
    await chaosOff;
    result.recovery = [...recovery.values()];
    result.recoveryMaxMs = RECOVERY_MAX_MS;
    result.burst = stats;
    result.burstMs = Date.now() - burstStart;
    // Other sources: B's first successful sync of every source after chaos went off.
    const firstPass = await db.query(
      `SELECT count(*)::int AS n FROM ci_sources WHERE source LIKE 'demo-org/fault-service-%' AND last_synced_at > $1`,
      [new Date(result.chaosOffAt).toISOString()],
    );
    result.syncedSinceChaosOff = firstPass.rows[0].n;

    // Settle: poll the store until it matches (bounded).
    const settleStart = Date.now();
    let checked;
    while (Date.now() - settleStart < SETTLE_MAX_MS) {
      checked = await check(db, ctx, burst, accepted, heldKeys);
      if (checked.passed) break;
      await sleep(2000);
    }
    result.settleMs = Date.now() - settleStart;
    result.check = checked;
    result.bAccepted = bAccepted.size;
    result.survivorAlive = !survivor.proc.exited();
    result.upstream = ctx.upstream;
    // Errors in the survivor's log (not the expected provider failures).
    result.survivorErrors = fs
      .readFileSync(survivor.logFile, 'utf8')
      .split('\n')
      .filter(l => /\berror\b/i.test(l) && !/Sync of demo-org/.test(l))
      .slice(0, 5);
    result.leaseMs = 15_000; // sync.leaseDuration in app-config.fault.yaml
    log(
      `check: ${JSON.stringify({
        ...checked,
        sim: {
          ...checked.sim,
          missing: checked.sim.missing.length,
          notLatest: checked.sim.notLatest.length,
        },
      })}`,
    );
  } catch (error) {
    result.error = error.message;
    log(`fault bench: ${error.message}`);
  } finally {
    clearTimeout(watchdog);
    await cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  result.section = faultSection(result);
  fs.writeFileSync(RESULT_FILE, result.section);
  fs.writeFileSync(
    path.join(ctx.logDir, 'result.json'),
    JSON.stringify(result, null, 2),
  );
  return result;
}

const s = ms => (ms === undefined ? 'n/a' : `${fmt(ms / 1000)} s`);
const yes = ok => (ok ? 'yes' : '**no**');

/** The section for docs/benchmarks.md. */
function faultSection(r) {
  const L = ['## Faults: a replica killed mid-sync and mid-burst', ''];
  L.push(
    "Written by `node --require @backstage/cli/config/nodeTransform.cjs bench/fault/index.cjs` (bench/fault/). Two backend replicas (`packages/backend`, `app-config.yaml` + `bench/fault/app-config.fault.yaml`) share fresh PostgreSQL databases, this machine's Redis as `backend.cache` and the events bus (`events.useEventBus: auto`, Backstage's default); the scheduled sync runs every 20 s. The in-process CI simulator serves ten repositories (one hour of history each) with chaos on: " +
      `${fmt(
        r.chaos.error5xx * 100,
      )} % of GitHub API requests answered 500/502/503, ${fmt(
        r.chaos.slow * 100,
      )} % answered after ${fmt(
        r.chaos.slowMs / 1000,
      )} s (the backend gives up after 30 s), ${fmt(
        r.chaos.tooMany * 100,
      )} % answered 429 with \`Retry-After: ${
        r.chaos.retryAfterSeconds
      }\` (seed ${r.chaos.seed}). ` +
      'The replica running the scheduled sync (A) gets a burst of signed `workflow_run`/`workflow_job` deliveries (shuffled, 10 % resent) and is killed with SIGKILL while it holds sync leases and has deliveries in flight; the rest of the burst, and every delivery A did not answer 2xx, goes to the survivor (B); chaos goes off 40 s after the kill at the earliest; then the store is polled until it matches (bounded).',
    '',
  );
  if (r.error && !r.check) {
    L.push(`**Could not run:** ${r.error}`, '');
    return `${L.join('\n')}\n`;
  }
  const c = r.check;
  const b = r.burst;
  const recs = r.recovery ?? [];
  const synced = recs.filter(x => x.syncedMs !== undefined);
  const worst =
    synced.length === recs.length && recs.length > 0
      ? Math.max(...synced.map(x => x.syncedMs))
      : undefined;
  const tried = recs.filter(x => x.attemptMs !== undefined);
  const takenOver =
    tried.length === recs.length && recs.length > 0
      ? Math.max(...tried.map(x => x.attemptMs))
      : undefined;
  // Recovered: the survivor took up every source the dead replica held
  // within one interval (whether GitHub answered it then is chaos's call).
  const within = takenOver !== undefined && takenOver <= INTERVAL_MS;
  L.push('| Figure | Result | Target | Met |', '|---|---|---|---|');
  L.push(
    `| Sources A held sync leases on at the kill | ${recs.length} (${
      recs.map(x => x.source.replace('demo-org/', '')).join(', ') || 'none'
    }) | ≥ 1 (killed mid-sync) | ${yes(recs.length > 0)} |`,
  );
  L.push(
    `| Deliveries in flight at the kill | A answered ${fmt(
      r.answeredBeforeKill,
      0,
    )} of ${fmt(b.sent, 0)} 2xx before it; ${fmt(
      b.aFailed,
      0,
    )} failed or unanswered, resent to B | killed mid-burst | ${yes(
      b.aFailed > 0 && r.answeredBeforeKill < b.sent,
    )} |`,
  );
  L.push(
    `| Time from the kill until B took up (synced again, or tried to) every source A held | ${
      takenOver !== undefined
        ? s(takenOver)
        : `not within ${s(r.recoveryMaxMs)} (${tried.length} of ${
            recs.length
          } tried)`
    } | ≤ one interval (20 s) | ${yes(within)} |`,
  );
  L.push(
    `| Time from the kill until B synced every source A held successfully | ${
      worst !== undefined
        ? s(worst)
        : `not within ${s(r.recoveryMaxMs)} (${synced.length} of ${
            recs.length
          } synced)`
    } | once GitHub answers again (chaos off 40 s or more after the kill; the breaker then lets a probe through each minute) | ${yes(
      worst !== undefined,
    )} |`,
  );
  L.push(
    `| Runs the simulator knows (latest attempts) stored in their latest status and conclusion | ${fmt(
      c.sim.latestOk,
      0,
    )} of ${fmt(c.sim.latest, 0)} | all | ${yes(c.simOk)} |`,
  );
  L.push(
    `| Rows stored twice for one run attempt | ${fmt(
      c.duplicates,
      0,
    )} | 0 | ${yes(c.duplicates === 0)} |`,
  );
  L.push(
    `| Burst runs with an accepted delivery stored once, in their latest state | ${fmt(
      c.burst.stored - c.burst.notLatest,
      0,
    )} of ${fmt(c.burst.runs, 0)}; jobs ${fmt(c.burst.jobsStored, 0)} of ${fmt(
      c.burst.jobsExpected,
      0,
    )}, ${fmt(c.burst.jobsNotFinal, 0)} not final | all | ${yes(c.burstOk)} |`,
  );
  L.push(
    `| Accepted deliveries recorded (A's 2xx before the kill and B's) | ${fmt(
      c.burst.deliveriesStored,
      0,
    )} of ${fmt(c.burst.deliveriesExpected, 0)} (B answered ${fmt(
      b.b2xx,
      0,
    )} 2xx, ${fmt(b.bNon2xx, 0)} not after 3 tries) | all | ${yes(
      c.burst.deliveriesStored === c.burst.deliveriesExpected &&
        b.bNon2xx === 0,
    )} |`,
  );
  L.push('');
  L.push(
    `Chaos answered ${Object.entries(r.chaosCounts ?? {})
      .map(([k, v]) => `${k} ${fmt(v, 0)}`)
      .join(
        ', ',
      )} of the GitHub API requests while it was on; the simulator served ${fmt(
      r.upstream.total,
      0,
    )} requests in all (${Object.entries(r.upstream.byStatus)
      .map(([k, v]) => `${k}: ${fmt(v, 0)}`)
      .join(', ')}). The store settled ${s(
      r.settleMs,
    )} after the recovery wait; ${fmt(
      r.syncedSinceChaosOff,
      0,
    )} of 10 sources had synced successfully since chaos went off by then. The survivor ${
      r.survivorAlive ? 'stayed up' : '**exited**'
    }.`,
    '',
  );
  if (recs.length) {
    L.push(
      `Per source A held: ${recs
        .map(
          x =>
            `${x.source.replace('demo-org/', '')} first tried again after ${s(
              x.attemptMs,
            )}, synced after ${s(x.syncedMs)}`,
        )
        .join('; ')}.`,
      '',
    );
  }
  if (!within) {
    L.push(
      `Why not within one interval: a killed replica's sync leases lapse unreleased after \`sync.leaseDuration\` (${fmt(
        r.leaseMs / 1000,
      )} s here; renewed every third of it while a sync runs), and a lease that lapsed unreleased makes its source due at once in the survivor's next pass (every replica runs its own passes, every 20 s here). See B's \`Scheduled sync of …\` lines (bench log directory) for what each pass found due.`,
      '',
    );
  }
  const misses = [...c.sim.missing, ...c.sim.notLatest];
  if (misses.length) {
    L.push(
      `Not as the simulator has them at the end (${fmt(
        misses.length,
        0,
      )}; ${fmt(
        c.sim.inLeasedSources,
        0,
      )} in sources still leased by the dead replica, ${fmt(
        c.sim.recentlyChanged,
        0,
      )} changed within the last interval): ${misses.slice(0, 8).join('; ')}${
        misses.length > 8 ? '; …' : ''
      }.`,
      '',
    );
  }
  L.push(
    `Earlier attempts of re-run runs (the runs list shows only the latest attempt; the store keeps an earlier one only when it saw it): ${fmt(
      c.sim.earlierStored,
      0,
    )} of ${fmt(c.sim.earlier, 0)} stored, ${fmt(
      c.sim.earlierNotFinal,
      0,
    )} of them not in their final state.`,
    '',
  );
  if (r.error) L.push(`Stopped early: ${r.error}`, '');
  return `${L.join('\n')}\n`;
}

module.exports = { runFaultBench, faultSection };

if (require.main === module) {
  runFaultBench().then(
    r => {
      console.log(`\n${r.section}`);
      console.log(
        `(written to ${RESULT_FILE}; logs and result.json in ${r.logDir})`,
      );
      process.exit(r.error && !r.check ? 1 : 0);
    },
    error => {
      console.error(error);
      process.exit(1);
    },
  );
}
