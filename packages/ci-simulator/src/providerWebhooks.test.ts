import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  ReceivedDelivery,
  startReceiver,
  waitFor,
} from './__testUtils__/receiver';
import {
  DEMO_REPOS,
  SimRepoSpec,
  SimRunAttempt,
  SimulatedHistory,
} from './history';
import { TickResult, WebhookTargetOptions } from './webhookSender';
import {
  gitlabJobHook,
  gitlabPipelineHook,
  GitlabSimulator,
  GitlabWebhookSender,
} from './gitlab';
import {
  JENKINS_TOKEN_HEADER,
  jenkinsNotification,
  JenkinsSimulator,
  JenkinsWebhookSender,
} from './jenkins';
import {
  buildkiteBuildWebhook,
  buildkiteJobState,
  buildkiteJobWebhook,
  BuildkiteSimulator,
  BuildkiteWebhookSender,
} from './buildkite';
import {
  CIRCLECI_SIGNATURE_HEADER,
  circleciWebhookPayload,
  CircleciSimulator,
  CircleciWebhookSender,
} from './circleci';

const SECRET = 'test-webhook-secret';
const START = Date.parse('2026-11-20T12:00:00Z');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Stage = 'queued' | 'started' | 'ended';

/** What the test expects on the wire: the event and the exact body. */
interface Expected {
  event: string;
  body: object;
}

interface Sender {
  tick(): Promise<TickResult>;
  start(): void;
  stop(): void;
}

type Extra = Omit<WebhookTargetOptions, 'targetUrl'>;

/** One provider's sender, what it should send, and how it authenticates. */
interface ProviderCase {
  provider: string;
  make(history: SimulatedHistory): {
    sender(targetUrl: string, extra?: Extra): Sender;
    /** The deliveries a stage of the watched run makes, in order. */
    expected(stage: Stage, run: SimRunAttempt): Expected[];
  };
  eventOf(delivery: ReceivedDelivery): string;
  /** Asserts the delivery carries valid credentials. */
  verify(delivery: ReceivedDelivery): void;
}

const sameBytes = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

const cases: ProviderCase[] = [
  {
    provider: 'gitlab',
    make: history => {
      const sim = new GitlabSimulator(history, {
        apiBaseUrl: 'http://localhost:7008/gitlab/api/v4',
        webBaseUrl: 'http://localhost:7008/gitlab',
      });
      const project = sim.projects()[0];
      return {
        sender: (targetUrl, extra) =>
          new GitlabWebhookSender({
            simulator: sim,
            targetUrl,
            secretToken: SECRET,
            ...extra,
          }),
        expected: (stage, run) => {
          const pipeline = {
            event: 'Pipeline Hook',
            body: gitlabPipelineHook(sim, project, run),
          };
          const jobs = (
            stage === 'started' ? run.jobs.slice(0, 1) : run.jobs
          ).map(job => ({
            event: 'Job Hook',
            body: gitlabJobHook(sim, project, run, job),
          }));
          return stage === 'ended' ? [...jobs, pipeline] : [pipeline, ...jobs];
        },
      };
    },
    eventOf: d => String(d.headers['x-gitlab-event']),
    verify: d => {
      expect(sameBytes(String(d.headers['x-gitlab-token']), SECRET)).toBe(true);
      expect(d.headers['x-gitlab-event-uuid']).toMatch(UUID);
      expect(d.headers['idempotency-key']).toMatch(UUID);
      expect(d.headers['x-gitlab-instance']).toBe('http://localhost:7008');
    },
  },
  {
    provider: 'jenkins',
    make: history => {
      const sim = new JenkinsSimulator(history, {
        baseUrl: 'http://localhost:7008/jenkins',
      });
      const spec = history.repos[0];
      return {
        sender: (targetUrl, extra) =>
          new JenkinsWebhookSender({
            simulator: sim,
            targetUrl,
            token: SECRET,
            ...extra,
          }),
        expected: (stage, run) => {
          const phases = {
            queued: ['QUEUED'],
            started: ['STARTED'],
            ended: ['COMPLETED', 'FINALIZED'],
          } as const;
          return phases[stage].map(phase => ({
            event: phase,
            body: jenkinsNotification(sim, spec, run, phase),
          }));
        },
      };
    },
    eventOf: d => d.body.build.phase,
    verify: d => {
      expect(sameBytes(String(d.headers[JENKINS_TOKEN_HEADER]), SECRET)).toBe(
        true,
      );
    },
  },
  {
    provider: 'buildkite',
    make: history => {
      const sim = new BuildkiteSimulator(history, {
        apiBaseUrl: 'http://localhost:7008/buildkite/v2',
      });
      const pipeline = sim.pipelines()[0];
      return {
        sender: (targetUrl, extra) =>
          new BuildkiteWebhookSender({
            simulator: sim,
            targetUrl,
            signingSecret: SECRET,
            ...extra,
          }),
        expected: (stage, run) => {
          const job = (index: number) => {
            const j = run.jobs[index];
            const event = {
              queued: 'job.scheduled',
              started: 'job.started',
              ended: 'job.finished',
            } as const;
            return {
              event: event[stage],
              body: buildkiteJobWebhook(sim, pipeline, run, j, event[stage]),
            };
          };
          const buildEvent = {
            queued: 'build.scheduled',
            started: 'build.running',
            ended: 'build.finished',
          } as const;
          const build = {
            event: buildEvent[stage],
            body: buildkiteBuildWebhook(sim, pipeline, run, buildEvent[stage]),
          };
          if (stage === 'ended') {
            return [...run.jobs.map((_, i) => job(i)), build];
          }
          // Only the first job is scheduled at first: the rest wait.
          expect(buildkiteJobState(run.jobs[1], 1)).toBe('waiting');
          return [build, job(0)];
        },
      };
    },
    eventOf: d => String(d.headers['x-buildkite-event']),
    verify: d => {
      const signature = String(d.headers['x-buildkite-signature']);
      const match = signature.match(/^timestamp=(\d+),signature=([0-9a-f]+)$/);
      expect(match).not.toBeNull();
      const [, timestamp, mac] = match!;
      // Signed with the wall clock, as the portal checks it against its own.
      expect(Math.abs(Date.now() / 1000 - Number(timestamp))).toBeLessThan(60);
      const expected = createHmac('sha256', SECRET)
        .update(`${timestamp}.${d.raw}`)
        .digest('hex');
      expect(sameBytes(mac, expected)).toBe(true);
      expect(d.body.event).toBe(d.headers['x-buildkite-event']);
    },
  },
  {
    provider: 'circleci',
    make: history => {
      const sim = new CircleciSimulator(history, {
        baseUrl: 'http://localhost:7008/circleci/api/v2',
        appUrl: 'http://localhost:7008/circleci',
      });
      const spec = history.repos[0];
      return {
        sender: (targetUrl, extra) =>
          new CircleciWebhookSender({
            simulator: sim,
            targetUrl,
            secret: SECRET,
            ...extra,
          }),
        // CircleCI sends nothing when a workflow or job starts.
        expected: (stage, run) =>
          stage !== 'ended'
            ? []
            : [
                ...run.jobs.map((_, i) =>
                  circleciWebhookPayload(sim, spec, run, i),
                ),
                circleciWebhookPayload(sim, spec, run),
              ].map(body => ({ event: body.type, body })),
      };
    },
    eventOf: d => String(d.headers['circleci-event-type']),
    verify: d => {
      const expected = `v1=${createHmac('sha256', SECRET)
        .update(d.raw)
        .digest('hex')}`;
      expect(
        sameBytes(String(d.headers[CIRCLECI_SIGNATURE_HEADER]), expected),
      ).toBe(true);
      expect(d.body.type).toBe(d.headers['circleci-event-type']);
    },
  },
];

/**
 * One repository, one run an hour: a single run is active at a time, so
 * what a sender should send is exactly that run's change.
 */
function setupHistory() {
  const clock = { now: START };
  const spec: SimRepoSpec = DEMO_REPOS[0];
  const history = new SimulatedHistory([spec], {
    now: () => clock.now,
    intervalMs: 3600_000,
    historyMs: 6 * 3600_000,
  });
  return { clock, history, spec };
}

/**
 * The moments of the next run created after `from`: just before it is
 * created, queued, just after it started (its first job running) and just
 * after it ended. Leaves the clock where it found it.
 */
function nextRun(
  clock: { now: number },
  history: SimulatedHistory,
  spec: SimRepoSpec,
  from: number,
) {
  const saved = clock.now;
  const step = 1000;
  clock.now = from;
  const latest = () => history.listRuns(spec)[0];
  const previous = latest()?.id;
  while (latest()?.id === previous) {
    clock.now += step;
  }
  const id = latest().id;
  const queued = clock.now;
  while (latest().status === 'queued') {
    clock.now += step;
  }
  const started = clock.now;
  while (latest().status !== 'completed') {
    clock.now += step;
  }
  const ended = clock.now;
  clock.now = saved;
  const at = (t: number) => {
    const keep = clock.now;
    clock.now = t;
    const run = history.getRun(spec, id, 1)!;
    clock.now = keep;
    return run;
  };
  return { id, before: queued - step, queued, started, ended, at };
}

describe.each(cases)('$provider webhook sender', c => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  afterEach(() => receiver.close());

  it('sends nothing at first, then exactly the deliveries of each change, authenticated', async () => {
    receiver = await startReceiver();
    const { clock, history, spec } = setupHistory();
    const run = nextRun(clock, history, spec, START);
    const { sender, expected } = c.make(history);
    const target = `${receiver.origin}/api/events/http/${c.provider}`;
    const s = sender(target);

    clock.now = run.before;
    expect(await s.tick()).toEqual({ sent: 0, failed: 0 });
    expect(receiver.received).toHaveLength(0);

    for (const stage of ['queued', 'started', 'ended'] as const) {
      clock.now = run[stage];
      const want = expected(stage, run.at(run[stage]));
      const from = receiver.received.length;
      expect(await s.tick()).toEqual({ sent: want.length, failed: 0 });
      const got = receiver.received.slice(from);
      expect(got.map(d => c.eventOf(d))).toEqual(want.map(w => w.event));
      expect(got.map(d => d.raw)).toEqual(
        want.map(w => JSON.stringify(w.body)),
      );
      for (const delivery of got) {
        expect(delivery.path).toBe(`/api/events/http/${c.provider}`);
        expect(delivery.headers['content-type']).toBe('application/json');
        c.verify(delivery);
      }
    }
    // Nothing changes a second later: nothing is sent.
    clock.now += 1000;
    expect(await s.tick()).toEqual({ sent: 0, failed: 0 });
  });

  it('counts and logs a receiver answering 500, without throwing or stopping its loop', async () => {
    receiver = await startReceiver('fail');
    const { clock, history, spec } = setupHistory();
    const first = nextRun(clock, history, spec, START);
    const second = nextRun(clock, history, spec, first.ended);
    const lines: string[] = [];
    const s = c
      .make(history)
      .sender(`${receiver.origin}/api/events/http/${c.provider}`, {
        intervalMs: 5,
        quietMs: 0,
        log: line => lines.push(line),
      });
    clock.now = first.before;
    await s.tick();
    s.start();
    try {
      clock.now = first.ended;
      await waitFor(() => lines.length >= 1);
      const afterFirst = receiver.received.length;
      expect(afterFirst).toBeGreaterThan(0);
      clock.now = second.ended;
      await waitFor(() => lines.length >= 2);
      expect(receiver.received.length).toBeGreaterThan(afterFirst);
    } finally {
      s.stop();
    }
    expect(lines[0]).toContain(`${c.provider} webhooks: `);
    expect(lines[0]).toContain('HTTP 500');
    expect(lines[0]).toContain('not redelivered');
  });

  it('counts and logs a receiver that does not answer in time', async () => {
    receiver = await startReceiver('hang');
    const { clock, history, spec } = setupHistory();
    const run = nextRun(clock, history, spec, START);
    const lines: string[] = [];
    const s = c
      .make(history)
      .sender(`${receiver.origin}/api/events/http/${c.provider}`, {
        timeoutMs: 50,
        log: line => lines.push(line),
      });
    clock.now = run.before;
    await s.tick();
    clock.now = run.ended;
    const result = await s.tick();
    expect(result.sent).toBe(0);
    expect(result.failed).toBeGreaterThan(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/timeout|aborted/i);
  });
});

describe('re-runs in place', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  afterEach(() => receiver.close());

  it('a GitLab pipeline re-run reports the end of the attempt it replaced, then the pipeline again', async () => {
    receiver = await startReceiver();
    const clock = { now: START };
    const history = new SimulatedHistory(DEMO_REPOS, { now: () => clock.now });
    let found: { spec: SimRepoSpec; run: SimRunAttempt } | undefined;
    while (!found) {
      for (const spec of history.repos.filter(s => !s.forbidden)) {
        const run = history.listRuns(spec).find(r => r.attempt === 2);
        if (run && run.createdAt > START) {
          found = { spec, run };
        }
      }
      clock.now += 60_000;
    }
    const { spec, run } = found;
    const sim = new GitlabSimulator(history, {
      apiBaseUrl: 'http://localhost:7008/gitlab/api/v4',
      webBaseUrl: 'http://localhost:7008/gitlab',
    });
    const sender = new GitlabWebhookSender({
      simulator: sim,
      targetUrl: `${receiver.origin}/api/events/http/gitlab`,
      secretToken: SECRET,
    });
    // While attempt 1 runs, then once attempt 2 was created.
    clock.now = run.createdAt - 60_000;
    expect(history.getRun(spec, run.id)?.attempt).toBe(1);
    expect(history.getRun(spec, run.id)?.status).not.toBe('completed');
    await sender.tick();
    clock.now = run.createdAt + 1;
    await sender.tick();

    const pipelines = receiver.received
      .filter(d => d.headers['x-gitlab-event'] === 'Pipeline Hook')
      .filter(d => d.body.object_attributes.id === run.id)
      .map(d => d.body.object_attributes.status);
    expect(pipelines).toEqual(['failed', 'pending']);
    const jobs = receiver.received
      .filter(d => d.headers['x-gitlab-event'] === 'Job Hook')
      .filter(d => d.body.pipeline_id === run.id);
    // The failed attempt's jobs end, then the re-run's jobs are created.
    const attempts = jobs.map(d => Math.floor((d.body.build_id % 100) / 10));
    expect(attempts).toEqual([...attempts].sort());
    expect(new Set(attempts)).toEqual(new Set([1, 2]));
  });
});
