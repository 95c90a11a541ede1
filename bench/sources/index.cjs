/* eslint-disable no-console */
/**
 * `yarn bench sources` (issue 16, benchmarks 1 and 2): 10,000 sources on one
 * simulated GitHub host, in the bench process against the plugin's own
 * classes (KnexCiStore on a fresh PostgreSQL database, GithubActionsProvider,
 * CiSyncService, SyncPlanner, DeliveryIngestor + parseGithubDelivery), no
 * HTTP backend and no catalog.
 *
 *   node --require @backstage/cli/config/nodeTransform.cjs bench/sources/index.cjs
 *
 * Time is compressed: `@sinonjs/fake-timers` fakes Date, setTimeout and
 * setInterval for the whole process and a real timer advances the fake clock
 * BENCH_SOURCES_SPEED times faster than the wall clock, so the simulator, the
 * planner, the store's timestamps, the rate limiter and the leases all see one
 * simulated time. The plugin's own processing time is stretched by the same
 * factor in simulated time (a 20 ms sync looks like 200 ms at speed 10):
 * figures are pessimistic by that much.
 *
 * Phases (simulated time): warm-up (every source synced once by a separate
 * provider whose requests are not counted: the backfill, "the hour before"),
 * then BENCH_SOURCES_MINUTES of polling only (benchmark 1), then the same
 * with webhooks on and 10 % of deliveries dropped (benchmark 2), then
 * polling continues for the safety-net cadence (webhook-fed 30 min + 5) and
 * every run attempt of the simulator is compared with the store.
 *
 * Knobs: BENCH_SOURCES (10000), BENCH_SOURCES_ACTIVE_EVERY (50: one source in
 * 50 is active), BENCH_SOURCES_MINUTES (60), BENCH_SOURCES_SPEED (10),
 * BENCH_SOURCES_LIMIT (15000), BENCH_SOURCES_LATENCY_MS (100, simulated per
 * request), BENCH_SOURCES_DROP (0.1), BENCH_SOURCES_SKIP_WEBHOOKS=1,
 * BENCH_KEEP=1, BENCH_OUT (where the section goes; docs/benchmarks.md),
 * BENCH_SOURCES_DRAIN_MINUTES (20: polling only after the polling phase,
 * before webhooks are switched on), BENCH_SOURCES_NO_DOCS=1 (results JSON only), BENCH_REPORT_FROM=<results
 * json> (write the section again from a saved run, without running).
 *
 * The section "## 8. Ten thousand sources" and the summary rows starting
 * with "| 8. Ten thousand sources" are replaced (bench/sources/report.cjs);
 * the rest of the page is left alone.
 */
const path = require('node:path');
const fs = require('node:fs');
const { execSync } = require('node:child_process');
const { performance } = require('node:perf_hooks');

// --- the compressed clock, before anything reads Date ----------------------
const realSetInterval = globalThis.setInterval;
const realClearInterval = globalThis.clearInterval;
const realSetTimeout = globalThis.setTimeout;
const FakeTimers = require('@sinonjs/fake-timers');

const num = (name, fallback) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const S = {
  sources: Math.floor(num('BENCH_SOURCES', 10_000)),
  activeEvery: Math.floor(num('BENCH_SOURCES_ACTIVE_EVERY', 50)),
  minutes: num('BENCH_SOURCES_MINUTES', 60),
  speed: num('BENCH_SOURCES_SPEED', 10),
  limit: Math.floor(num('BENCH_SOURCES_LIMIT', 15_000)),
  latencyMs: num('BENCH_SOURCES_LATENCY_MS', 100),
  drop: Number(process.env.BENCH_SOURCES_DROP ?? 0.1),
  webhooks: process.env.BENCH_SOURCES_SKIP_WEBHOOKS !== '1',
  drainMinutes: Number(process.env.BENCH_SOURCES_DRAIN_MINUTES ?? 20),
};
const T_START = Date.parse('2026-11-20T12:00:00Z');
const clock = FakeTimers.install({
  now: T_START,
  toFake: [
    'Date',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
  ],
});
let lastReal = performance.now();
const driver = realSetInterval(() => {
  const r = performance.now();
  const step = Math.round((r - lastReal) * S.speed);
  lastReal = r;
  if (step > 0) clock.tick(step);
}, 10);
const sleepSim = ms => new Promise(r => setTimeout(r, ms));

const c = require('../scale/common.cjs');
const sim = require('@ci-experience/ci-simulator');
const { setupServer } = require('msw/node');

const MIN = 60_000;
const HOOK_SECRET = 'bench-sources-secret';
/** How often the bench looks for changes to deliver (simulated ms). */
const SCAN_MS = 1_000;
const log = (() => {
  const t0 = performance.now();
  return line =>
    console.log(
      `[bench sources ${((performance.now() - t0) / 1000)
        .toFixed(0)
        .padStart(4)}s | sim ${new Date(Date.now())
        .toISOString()
        .slice(11, 19)}] ${line}`,
    );
})();

// --- generated repositories ------------------------------------------------
const WORKFLOW = {
  id: 1001,
  name: 'CI',
  file: 'ci.yml',
  jobs: [
    { name: 'lint', command: 'yarn lint', failures: ['lint'] },
    { name: 'test', command: 'yarn test --ci', failures: ['test'] },
    { name: 'build', command: 'yarn build', failures: ['no-space'] },
  ],
};
const isActive = i => i % S.activeEvery === 0;
const repos = Array.from({ length: S.sources }, (_, i) => ({
  owner: 'corp',
  repo: `svc-${String(i).padStart(5, '0')}`,
  defaultBranch: 'main',
  featureBranches: ['feature/x'],
  workflows: [WORKFLOW],
  failureRate: 0.15,
  __index: i,
}));
const byName = new Map(repos.map(r => [`${r.owner}/${r.repo}`, r]));
repos.indexOf = spec =>
  spec && spec.__index !== undefined ? spec.__index : -1;

/** A deterministic share in [0, 1) of (repository, slot). */
const share = (i, slot) => {
  let h = (i * 2654435761 + slot * 40503 + 12345) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 2246822507) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 3266489909) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
};
/** Active: a run in one 4-minute slot of 4 (every ~16 min); quiet: one in 90 (~6 h). */
const keep = (spec, slot) =>
  share(spec.__index, slot) < (isActive(spec.__index) ? 0.25 : 1 / 90);

class SparseHistory extends sim.SimulatedHistory {
  repo(owner, repo) {
    return byName.get(`${owner}/${repo}`.toLowerCase());
  }
}

// --- GitHub's documented limits, in front of the simulator -----------------
/** GitHub's REST resources by path shape: the per-endpoint secondary limit. */
const endpointOf = url =>
  new URL(url).pathname
    .replace(/^\/repos\/[^/]+\/[^/]+/, '/repos/{owner}/{repo}')
    .replace(/\/\d+(?=\/|$)/g, '/{id}');

function githubLimits({ limit }) {
  const st = {
    limit,
    windowStart: Date.now(),
    used: 0,
    maxUsed: 0,
    counting: false,
    inFlight: 0,
    maxInFlight: 0,
    perEndpoint: new Map(),
    all: [],
    maxPerMinute: new Map(),
    maxAllPerMinute: 0,
    byStatus: {},
    secondary: 0,
    primary: 0,
    windows: [],
  };
  const count = status => {
    if (st.counting) st.byStatus[status] = (st.byStatus[status] ?? 0) + 1;
  };
  const roll = now => {
    if (now >= st.windowStart + 3600_000) {
      st.windows.push({ start: st.windowStart, used: st.used });
      st.windowStart +=
        3600_000 * Math.floor((now - st.windowStart) / 3600_000);
      st.used = 0;
    }
  };
  const headers = h => {
    const reset = Math.ceil((st.windowStart + 3600_000) / 1000);
    const effLimit = st.counting ? st.limit : 10_000_000;
    h.set('x-ratelimit-limit', String(effLimit));
    h.set('x-ratelimit-remaining', String(Math.max(0, effLimit - st.used)));
    h.set('x-ratelimit-used', String(st.used));
    h.set('x-ratelimit-reset', String(reset));
    h.set('x-ratelimit-resource', 'core');
  };
  const refuse = (message, extra = {}) => {
    const h = new Headers({ 'content-type': 'application/json', ...extra });
    headers(h);
    return new Response(
      JSON.stringify({
        message,
        documentation_url:
          'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api',
      }),
      { status: 403, headers: h },
    );
  };
  const wrap = inner => async (input, init) => {
    const url = typeof input === 'string' ? input : input.url ?? String(input);
    if (!url.startsWith('https://api.github.com/')) return inner(input, init);
    const now = Date.now();
    roll(now);
    const ep = endpointOf(url);
    // Sliding minute per endpoint and overall (every request, 304s too).
    let epLog = st.perEndpoint.get(ep);
    if (!epLog) st.perEndpoint.set(ep, (epLog = []));
    while (epLog.length && epLog[0] <= now - MIN) epLog.shift();
    while (st.all.length && st.all[0] <= now - MIN) st.all.shift();
    epLog.push(now);
    st.all.push(now);
    if (st.counting) {
      st.maxPerMinute.set(
        ep,
        Math.max(st.maxPerMinute.get(ep) ?? 0, epLog.length),
      );
      st.maxAllPerMinute = Math.max(st.maxAllPerMinute, st.all.length);
    }
    if (st.inFlight >= 100 || epLog.length > 900) {
      if (st.counting) st.secondary += 1;
      count('403 secondary');
      return refuse(
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        { 'retry-after': '60' },
      );
    }
    if (st.counting && st.used >= st.limit) {
      st.primary += 1;
      count('403 primary');
      return refuse('API rate limit exceeded for installation.');
    }
    st.inFlight += 1;
    st.maxInFlight = Math.max(st.maxInFlight, st.inFlight);
    try {
      await sleepSim(S.latencyMs);
      const res = await inner(input, init);
      if (res.status !== 304 && st.counting) {
        st.used += 1;
        st.maxUsed = Math.max(st.maxUsed, st.used);
      }
      count(String(res.status));
      const h = new Headers(res.headers);
      headers(h);
      const body = res.status === 304 ? null : await res.arrayBuffer();
      return new Response(body, {
        status: res.status,
        statusText: res.statusText,
        headers: h,
      });
    } finally {
      st.inFlight -= 1;
    }
  };
  return { st, wrap };
}

// --- small helpers ---------------------------------------------------------
const quietLogger = () => {
  const counts = { warn: 0, error: 0 };
  const samples = [];
  const l = {
    counts,
    samples,
    info() {},
    debug() {},
    warn(m) {
      counts.warn += 1;
      if (samples.length < 8) samples.push(`warn: ${m}`);
    },
    error(m) {
      counts.error += 1;
      if (samples.length < 8) samples.push(`error: ${m}`);
    },
    child() {
      return l;
    },
  };
  return l;
};
function memoryCache() {
  const m = new Map();
  const cache = {
    size: () => m.size,
    /** The entries' size as JSON, as a cache service would store them. */
    bytes: () => {
      let n = 0;
      for (const [k, v] of m) n += k.length + JSON.stringify(v).length;
      return n;
    },
    async get(k) {
      return m.get(k);
    },
    async set(k, v) {
      m.set(k, v);
    },
    async delete(k) {
      m.delete(k);
    },
    withOptions() {
      return cache;
    },
  };
  return cache;
}
const pct = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length
    ? s[Math.min(s.length - 1, Math.floor(q * s.length))]
    : undefined;
};
const gc = () => global.gc?.();
const rss = () => {
  gc();
  return process.memoryUsage().rss;
};

/**
 * Every change of every run attempt between \`from\` and \`to\` (simulated
 * ms): created, started, each job started and finished, completed; told to
 * \`each(at, spec, run, planned)\`.
 */
function forEachChange(history, from, to, each) {
  for (const spec of repos) {
    for (const run of history.plan(spec, to)) {
      for (const planned of run.attempts) {
        if (planned.createdAt > to) continue;
        const a = history.materialize(run, planned, to + 60 * MIN);
        const times = new Set([a.createdAt, a.createdAt + planned.queueMs]);
        for (const j of a.jobs) {
          if (j.startedAt) times.add(j.startedAt);
          if (j.completedAt) times.add(j.completedAt);
        }
        for (const t of times) {
          if (t >= from && t <= to) each(t, spec, run, planned);
        }
      }
    }
  }
}

/** Every change of every run attempt between `from` and `to`, for visibility. */
function changesOf(history, from, to) {
  const out = [];
  forEachChange(history, from, to, (at, spec, run, planned) =>
    out.push({
      key: `github-actions:github.com/${spec.owner}/${spec.repo}#${run.id}#${planned.attempt}`,
      active: isActive(spec.__index),
      at,
    }),
  );
  return out;
}

/** Per change: when a state at least as new was stored (simulated ms), from the upsert log. */
function visibility(changes, stored, horizon) {
  const r = { active: [], quiet: [], unseen: { active: 0, quiet: 0 } };
  for (const ch of changes) {
    const versions = stored.get(ch.key) ?? [];
    // GitHub's times are whole seconds.
    const at = Math.floor(ch.at / 1000) * 1000;
    const v = versions.find(x => x.storedAt >= ch.at && x.updatedAt >= at);
    const mode = ch.active ? 'active' : 'quiet';
    if (v) r[mode].push(v.storedAt - ch.at);
    else {
      r.unseen[mode] += 1;
      r[mode].push(Math.max(horizon - ch.at, 0) + 1e9); // never seen: worse than any target
    }
  }
  return r;
}

async function main() {
  const started = performance.now();
  const rss0 = rss();
  // The database is named after Date.now(), which starts at T_START in every
  // run: name it after the real clock so that two runs do not collide.
  const simNow = Date.now();
  clock.setSystemTime(Math.round(performance.timeOrigin + performance.now()));
  const created = c.createDatabase('sources', {
    min: 0,
    max: 10,
    // The pool's timers run on the compressed clock: keep them out of the way.
    acquireTimeoutMillis: 3_600_000,
    createTimeoutMillis: 3_600_000,
    idleTimeoutMillis: 3_600_000,
  });
  clock.setSystemTime(simNow);
  const { knex, database } = await created;
  const { KnexCiStore } = c.backend('database/KnexCiStore');
  const { CiSyncService } = c.backend('service/CiSyncService');
  const { SyncPlanner, describePass } = c.backend('service/SyncPlanner');
  const { GithubActionsProvider } = c.plugin(
    'ci-experience-backend-module-github',
    'GithubActionsProvider',
  );
  const { DeliveryIngestor } = c.backend('providers/shared/DeliveryIngestor');
  const { ProviderTraffic } = c.plugin(
    'ci-experience-node',
    'http/ProviderTraffic',
  );
  const { parseGithubDelivery } = c.plugin(
    'ci-experience-backend-module-github',
    'webhook',
  );
  const { ConfigReader } = require('@backstage/config');
  const result = {
    settings: S,
    date: new Date(performance.timeOrigin).toISOString(),
  };
  const server = setupServer();
  try {
    log(
      `database ${database}; ${S.sources} sources, 1 in ${S.activeEvery} active, speed ${S.speed}x`,
    );
    const store = await KnexCiStore.fromKnex(knex);
    result.env = await c.machine(knex);
    const stored = new Map();
    const upsert = store.upsertRuns.bind(store);
    store.upsertRuns = async runs => {
      await upsert(runs);
      const at = Date.now();
      for (const run of runs) {
        const k = `${run.sourceKey}#${run.providerRunId}#${run.attempt}`;
        let v = stored.get(k);
        if (!v) stored.set(k, (v = []));
        v.push({ storedAt: at, updatedAt: Date.parse(run.providerUpdatedAt) });
      }
    };

    // Only the slots that hold a run are planned and kept (a dense plan of
    // 10,000 repositories, one run per 4-minute slot, held over 1 GiB).
    const history = new SparseHistory(repos, {
      historyMs: 3 * 3600_000,
      startedAt: T_START,
      slots: keep,
    });
    const github = new sim.GithubSimulator(history, {
      apiBaseUrl: 'https://api.github.com',
      webBaseUrl: 'https://github.com',
      rateLimit: 1e12,
    });
    server.use(...github.handlers());
    server.listen({ onUnhandledRequest: 'bypass' });
    const limits = githubLimits({ limit: S.limit });
    globalThis.fetch = limits.wrap(globalThis.fetch);

    // The ETag cache is shared by the backfill and the measured provider (one
    // provider in the plugin); each has its own traffic (budget) store, so the
    // backfill's requests do not count against the measured hour.
    const cache = memoryCache();
    const providerOf = (requestsPerHour, logger) => {
      const config = new ConfigReader({
        integrations: {
          github: [{ host: 'github.com', token: 'ghs_bench0123456789' }],
        },
        ciExperience: {
          providers: {
            githubActions: { requestsPerHour, maxConcurrency: 4 },
          },
        },
      });
      // As plugin.ts does: budgets and breakers through ProviderTraffic.
      const traffic = ProviderTraffic.fromConfig(config, {
        cache: memoryCache(),
        logger,
      });
      const provider = GithubActionsProvider.fromConfig(config, {
        logger,
        cache,
        traffic,
      });
      provider.traffic = traffic;
      return provider;
    };
    const entityOf = spec => ({
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Component',
      metadata: {
        name: spec.repo,
        namespace: 'default',
        annotations: {
          'github.com/project-slug': `${spec.owner}/${spec.repo}`,
        },
      },
      spec: {},
    });
    const warmLogger = quietLogger();
    const warmProvider = providerOf(10_000_000, warmLogger);
    const planned = repos.map(spec => ({
      entityRef: `component:default/${spec.repo}`,
      source: warmProvider.getSources(entityOf(spec))[0],
    }));
    await store.replaceClaims(
      planned.map(p => ({ entityRef: p.entityRef, sourceKey: p.source.key })),
      new Date().toISOString(),
    );
    for (const p of planned) await store.upsertSource(p.source);

    // Warm-up: the backfill, not counted.
    let t = performance.now();
    const warmSync = CiSyncService.create({
      providers: [warmProvider],
      store,
      logger: warmLogger,
      limits: { maxPages: 5, leaseMs: 10 * MIN },
    });
    const warmPass = await SyncPlanner.create({
      sync: warmSync,
      logger: warmLogger,
      concurrency: { perHost: 8, total: 8 },
    }).runPass(planned);
    result.warmup = {
      realS: (performance.now() - t) / 1000,
      pass: describePass(warmPass),
      runs: [...stored.keys()].length,
      logger: warmLogger.counts,
    };
    log(
      `warm-up: ${result.warmup.pass}; ${result.warmup.runs} runs in ${c.f(
        result.warmup.realS,
      )} s`,
    );
    const rssWarm = rss();

    // The changes the webhook phase delivers, computed once, before the
    // measured phases (scanning 10,000 repositories every simulated second
    // held the event loop for minutes; a long computation in a phase would
    // make the compressed clock jump): every change time of every run
    // attempt from now until after the webhook phase, in order; the webhook
    // loop takes those due every SCAN_MS.
    const timeline = [];
    if (S.webhooks) {
      const r0Timeline = performance.now();
      const timelineFrom = Date.now();
      const timelineTo =
        timelineFrom + (2 * S.minutes + S.drainMinutes + 15) * MIN;
      forEachChange(
        history,
        timelineFrom,
        timelineTo,
        (at, spec, run, planned) => timeline.push({ at, spec, run, planned }),
      );
      timeline.sort((x, y) => x.at - y.at);
      result.webhookTimeline = {
        changes: timeline.length,
        realMs: Math.round(performance.now() - r0Timeline),
      };
      log(
        `webhooks: ${timeline.length} changes to deliver later, computed in ${result.webhookTimeline.realMs} ms real`,
      );
    }

    // The measured provider, sync and planner (one replica).
    const logger = quietLogger();
    const provider = providerOf(S.limit, logger);
    const sync = CiSyncService.create({
      providers: [provider],
      store,
      logger,
      limits: { maxPages: 5 },
    });
    const passes = [];
    const planner = SyncPlanner.create({
      store,
      sync,
      logger: {
        ...logger,
        info: m => passes.push(m),
        child: () => logger,
      },
    });
    let stopPolling = false;
    const poller = (async () => {
      while (!stopPolling) {
        const passStart = Date.now();
        await planner.runPass(planned, { deadlineAt: passStart + MIN });
        const wait = passStart + MIN - Date.now();
        if (wait > 0 && !stopPolling) await sleepSim(wait);
      }
    })();

    const runPhase = async (name, minutes, during) => {
      const t0 = Date.now();
      const r0 = performance.now();
      const byStatus0 = { ...limits.st.byStatus };
      limits.st.counting = true;
      limits.st.windowStart = t0;
      limits.st.used = 0;
      limits.st.maxUsed = 0;
      limits.st.secondary = 0;
      limits.st.primary = 0;
      limits.st.maxPerMinute = new Map();
      limits.st.maxAllPerMinute = 0;
      limits.st.byStatus = {};
      const passes0 = passes.length;
      const rssBefore = rss();
      let stopDuring = false;
      const side = during?.(() => stopDuring);
      const end = t0 + minutes * MIN;
      while (Date.now() < end) {
        await sleepSim(Math.min(MIN, end - Date.now()));
        log(
          `${name}: budget used ${limits.st.used}/${S.limit}, secondary ${
            limits.st.secondary
          }, requests ${JSON.stringify(limits.st.byStatus)}`,
        );
      }
      stopDuring = true;
      await side;
      const t1 = Date.now();
      const phase = {
        t0,
        t1,
        realS: (performance.now() - r0) / 1000,
        byStatus: { ...limits.st.byStatus },
        secondary: limits.st.secondary,
        primary: limits.st.primary,
        maxUsed: limits.st.maxUsed,
        maxUsedShare: limits.st.maxUsed / S.limit,
        scaledUsedShare: limits.st.maxUsed / S.limit / (minutes / 60),
        maxPerMinute: Object.fromEntries(limits.st.maxPerMinute),
        maxAllPerMinute: limits.st.maxAllPerMinute,
        maxInFlight: limits.st.maxInFlight,
        rssBefore,
        rssAfter: rss(),
        passes: passes.slice(passes0),
      };
      void byStatus0;
      return phase;
    };

    // Benchmark 1: polling only.
    const p1 = await runPhase('polling', S.minutes);
    const ch1 = changesOf(history, p1.t0, p1.t1);
    // Settle: give the last changes their target's time before reading visibility.
    p1.changes = ch1.length;
    result.polling = p1;
    log(
      `polling phase done: ${ch1.length} changes; ${p1.passes.length} passes`,
    );

    if (S.webhooks && S.drainMinutes > 0) {
      // Polling only still, so that the polling phase's last changes are
      // seen by polling (the quiet target's 20 min) and not by the webhook
      // phase, where a source with a delivery is polled only as a safety net.
      const drain = await runPhase('drain', S.drainMinutes);
      result.drain = {
        minutes: S.drainMinutes,
        byStatus: drain.byStatus,
        secondary: drain.secondary,
        realS: drain.realS,
      };
    }

    if (S.webhooks) {
      // Benchmark 2: webhooks on, a seeded 10 % dropped.
      const { signGithubPayload, jobChanged, runChanged, runState } = sim;
      let seed = 16;
      const rand = () => {
        seed = (seed + 0x6d2b79f5) | 0;
        let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
        return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
      };
      const ingestor = new DeliveryIngestor({
        provider: 'github-actions',
        label: 'GitHub',
        parse: parseGithubDelivery,
        store,
        logger,
      });
      const deliveries = {
        sent: 0,
        dropped: 0,
        outcomes: {},
        latencies: [],
        sendLatencies: [],
      };
      let seq = 0;
      // changedAt: when the change happened at the simulated GitHub (the
      // bench notices it on its next scan, every SCAN_MS); latency: change to
      // stored, and (sendLatencies) delivery to stored.
      const deliver = async (event, payload, changedAt) => {
        if (rand() < S.drop) {
          deliveries.dropped += 1;
          return;
        }
        deliveries.sent += 1;
        const sentAt = Date.now();
        const body = JSON.stringify(payload);
        const r = await ingestor.handleDelivery({
          topic: `github.${event}`,
          eventPayload: JSON.parse(body),
          metadata: {
            'x-github-event': event,
            'x-github-delivery': `bench-${++seq}`,
            'x-hub-signature-256': signGithubPayload(HOOK_SECRET, body),
          },
        });
        deliveries.outcomes[r.outcome] =
          (deliveries.outcomes[r.outcome] ?? 0) + 1;
        if (r.outcome === 'accepted') {
          deliveries.latencies.push(Date.now() - changedAt);
          deliveries.sendLatencies.push(Date.now() - sentAt);
        }
      };
      const watched = new Map();
      const webhookLoop = async stopped => {
        const pending = new Set();
        const switchedAt = Date.now();
        let cursor = 0;
        while (cursor < timeline.length && timeline[cursor].at < switchedAt) {
          cursor += 1;
        }
        while (!stopped()) {
          const now = Date.now();
          const due = new Map();
          while (cursor < timeline.length && timeline[cursor].at <= now) {
            const e = timeline[cursor++];
            due.set(`${e.spec.__index}#${e.run.id}#${e.planned.attempt}`, e);
          }
          for (const [key, { spec, run, planned }] of due) {
            // The state at the switch: what polling knew of it before.
            const before =
              watched.get(key) ??
              (planned.createdAt < switchedAt
                ? history.materialize(run, planned, switchedAt)
                : undefined);
            if (before?.status === 'completed') continue;
            const a = history.materialize(run, planned, now);
            if (before && runState(before) === runState(a)) continue;
            watched.set(key, a);
            const runJson = github.runJson(spec, a);
            const common = {
              repository: runJson.repository,
              sender: runJson.triggering_actor,
            };
            const jobs = a.jobs
              .filter(j => jobChanged(before, j))
              .map(j => [
                'workflow_job',
                {
                  action: j.status,
                  workflow_job: github.jobJson(spec, a, j),
                  ...common,
                },
                Math.max(
                  ...[a.createdAt, j.startedAt, j.completedAt].filter(
                    x => x && x <= now,
                  ),
                ),
              ]);
            const out = runChanged(before, a)
              ? [
                  [
                    'workflow_run',
                    {
                      action:
                        a.status === 'completed'
                          ? 'completed'
                          : a.status === 'in_progress'
                          ? 'in_progress'
                          : 'requested',
                      workflow_run: runJson,
                      workflow: {
                        id: a.workflow.id,
                        name: runJson.name,
                        path: runJson.path,
                      },
                      ...common,
                    },
                    Math.min(a.updatedAt, now),
                  ],
                ]
              : [];
            const ordered =
              a.status === 'completed' ? [...jobs, ...out] : [...out, ...jobs];
            const p = (async () => {
              for (const [event, payload, changedAt] of ordered)
                await deliver(event, payload, changedAt);
            })();
            pending.add(p);
            p.finally(() => pending.delete(p));
          }
          await sleepSim(SCAN_MS);
        }
        await Promise.all(pending);
      };
      // Prime the watch list at the switch, without sending.
      const p2 = await runPhase('webhooks', S.minutes, webhookLoop);
      p2.deliveries = {
        ...deliveries,
        latencies: undefined,
        sendLatencies: undefined,
      };
      p2.scanMs = SCAN_MS;
      p2.sendP50 = pct(deliveries.sendLatencies, 0.5);
      p2.sendP95 = pct(deliveries.sendLatencies, 0.95);
      p2.deliveryP50 = pct(deliveries.latencies, 0.5);
      p2.deliveryP95 = pct(deliveries.latencies, 0.95);
      p2.deliveryP99 = pct(deliveries.latencies, 0.99);
      p2.deliveryMax = pct(deliveries.latencies, 1);
      p2.changes = changesOf(history, p2.t0, p2.t1).length;
      result.webhooks = p2;
      log(
        `webhook phase done: ${JSON.stringify(p2.deliveries)} p95 ${
          p2.deliveryP95
        } ms`,
      );
      // Safety net: polling (no deliveries) for the webhook-fed cadence + 5 min, then compare.
      const settleMin = 35;
      const p3 = await runPhase('settle', settleMin);
      result.settle = {
        minutes: settleMin,
        byStatus: p3.byStatus,
        realS: p3.realS,
      };
    } else {
      const p3 = await runPhase('settle', 21);
      result.settle = { minutes: 21, byStatus: p3.byStatus, realS: p3.realS };
    }
    stopPolling = true;
    const tEnd = Date.now();
    // Visibility of the polling hour's changes (given up to 20 min after it).
    result.polling.visibility = visibility(ch1, stored, tEnd);
    const v = result.polling.visibility;
    result.polling.p50 = {
      active: pct(v.active, 0.5),
      quiet: pct(v.quiet, 0.5),
    };
    result.polling.p95 = {
      active: pct(v.active, 0.95),
      quiet: pct(v.quiet, 0.95),
    };
    result.polling.counts = {
      active: v.active.length,
      quiet: v.quiet.length,
      unseen: v.unseen,
    };
    delete result.polling.visibility;

    // Every run attempt the simulator shows whose last change is 35 min old: stored in that state.
    const { rows } = await knex.raw(
      'SELECT source_key, provider_run_id, attempt, status, provider_updated_at FROM ci_runs',
    );
    const db = new Map(
      rows.map(r => [`${r.source_key}#${r.provider_run_id}#${r.attempt}`, r]),
    );
    const check = { attempts: 0, right: 0, wrong: 0, missing: 0, examples: [] };
    const cutoff = tEnd - 35 * MIN;
    for (const spec of repos) {
      for (const run of history.plan(spec, tEnd)) {
        for (const planned of run.attempts) {
          if (planned.createdAt > tEnd) continue;
          const a = history.materialize(run, planned, tEnd);
          if (a.updatedAt > cutoff || a.status !== 'completed') continue;
          check.attempts += 1;
          const k = `github-actions:github.com/${spec.owner}/${spec.repo}#${run.id}#${a.attempt}`;
          const row = db.get(k);
          if (!row) {
            check.missing += 1;
            if (check.examples.length < 5) check.examples.push(`missing ${k}`);
          } else if (
            Date.parse(row.provider_updated_at) >=
              Math.floor(a.updatedAt / 1000) * 1000 &&
            !['running', 'queued'].includes(row.status)
          ) {
            check.right += 1;
          } else {
            check.wrong += 1;
            if (check.examples.length < 5)
              check.examples.push(
                `${k}: stored ${row.status} ${
                  row.provider_updated_at
                }, simulator ${a.conclusion} ${new Date(
                  a.updatedAt,
                ).toISOString()}`,
              );
          }
        }
      }
    }
    result.check = check;
    await poller;
    result.rss = { start: rss0, afterWarmup: rssWarm, end: rss() };
    result.heapUsed = process.memoryUsage().heapUsed;
    result.etagCacheEntries = cache.size();
    result.etagCacheBytes = cache.bytes();
    // What the bench itself holds besides the plugin.
    result.benchHeld = {
      upsertRecords: [...stored.values()].reduce((n, v) => n + v.length, 0),
      plannedRuns: repos.reduce(
        (n, spec) => n + history.plan(spec, Date.now()).length,
        0,
      ),
    };
    result.logger = { counts: logger.counts, samples: logger.samples };
    result.realS = (performance.now() - started) / 1000;
    log(`check: ${JSON.stringify(check)}`);
  } finally {
    server.close();
    await knex.destroy();
    await c.dropDatabases(log);
  }
  return result;
}

module.exports = { main };

if (require.main === module) {
  const { writeSourcesSection } = require('./report.cjs');
  const fromFile = process.env.BENCH_REPORT_FROM;
  (fromFile
    ? Promise.resolve(JSON.parse(fs.readFileSync(fromFile, 'utf8')))
    : main()
  )
    .then(r => {
      if (process.env.BENCH_SOURCES_NO_DOCS !== '1') {
        console.log(`wrote ${writeSourcesSection(r)}`);
      }
      if (fromFile) {
        realClearInterval(driver);
        clock.uninstall();
        process.exit(0);
      }
      const out = path.join(
        require('node:os').tmpdir(),
        `bench-sources-${Date.now()}.json`,
      );
      fs.writeFileSync(out, JSON.stringify(r, null, 2));
      console.log(
        JSON.stringify(
          {
            ...r,
            polling: { ...r.polling, passes: r.polling.passes.slice(-3) },
            webhooks: r.webhooks && {
              ...r.webhooks,
              passes: r.webhooks.passes.slice(-3),
            },
          },
          null,
          2,
        ),
      );
      console.log(`results: ${out}`);
      realClearInterval(driver);
      clock.uninstall();
      process.exit(0);
    })
    .catch(e => {
      console.error(e);
      realClearInterval(driver);
      process.exit(1);
    });
}
void realSetTimeout;
void execSync;
