import { SimRepoSpec, SimRunAttempt, SimulatedHistory } from './history';
import {
  PollingWebhookSender,
  TickResult,
  WebhookDelivery,
  WebhookTargetOptions,
} from './webhookSender';

/** One simulated run attempt a sender watches. */
export interface WatchedRun {
  spec: SimRepoSpec;
  run: SimRunAttempt;
  /** The attempt's and its jobs' statuses: what a webhook could report. */
  state: string;
}

/** How a provider counts the attempts of a run. */
export type AttemptModel =
  /** Each attempt is its own run (GitHub run attempts, Jenkins builds, CircleCI workflows). */
  | 'per-attempt'
  /** The run shows its latest attempt (a GitLab pipeline, a Buildkite build re-run in place). */
  | 'latest';

/** What every run-watching sender takes. */
export interface RunWatchOptions extends WebhookTargetOptions {
  /** Only runs created within this window are watched; default 2 h. */
  windowMs?: number;
}

/** The state a webhook could report about a run attempt. */
export function runState(run: SimRunAttempt): string {
  return `${run.attempt}:${run.status}/${run.conclusion}|${run.jobs
    .map(j => `${j.status}/${j.conclusion}`)
    .join(',')}`;
}

/**
 * The run attempts created within the window, oldest first, of every
 * repository but the forbidden ones (no webhook is set up where the token is
 * refused), keyed by repository, run id and (`per-attempt`) attempt.
 */
export function watchRuns(
  history: SimulatedHistory,
  model: AttemptModel,
  windowMs: number,
  previous: ReadonlyMap<string, WatchedRun> | undefined,
): Map<string, WatchedRun> {
  const since = history.now() - windowMs;
  const out = new Map<string, WatchedRun>();
  const keyOf = (spec: SimRepoSpec, run: SimRunAttempt) =>
    model === 'per-attempt'
      ? `${spec.owner}/${spec.repo}#${run.id}/${run.attempt}`
      : `${spec.owner}/${spec.repo}#${run.id}`;
  for (const spec of history.repos.filter(s => !s.forbidden)) {
    const runs = history.listRuns(spec).filter(r => r.createdAt >= since);
    for (const run of runs.reverse()) {
      out.set(keyOf(spec, run), { spec, run, state: runState(run) });
    }
  }
  if (model === 'per-attempt') {
    // A re-run hides the attempt before it from the list; when the clock
    // jumped past both its end and the re-run, still report how it ended.
    for (const [key, { spec, run }] of previous ?? []) {
      if (!out.has(key) && run.status !== 'completed') {
        const now = history.getRun(spec, run.id, run.attempt);
        if (now && now.createdAt >= since) {
          out.set(key, { spec, run: now, state: runState(now) });
        }
      }
    }
  }
  return out;
}

/**
 * The changes of one watched run to report, in order, each with the attempt
 * as it was seen before (undefined: not seen). With the `latest` model a
 * re-run replaces the attempt before it; when that one was still running at
 * the last look, its end is reported first, as the provider would have.
 */
export function runChanges(
  history: SimulatedHistory,
  previous: WatchedRun | undefined,
  next: WatchedRun,
): Array<{ before: SimRunAttempt | undefined; run: SimRunAttempt }> {
  const before = previous?.run;
  if (!before || before.attempt === next.run.attempt) {
    return [{ before, run: next.run }];
  }
  const out: Array<{ before: SimRunAttempt | undefined; run: SimRunAttempt }> =
    [];
  if (before.status !== 'completed') {
    const ended = history.getRun(next.spec, before.id, before.attempt);
    if (ended && runState(ended) !== runState(before)) {
      out.push({ before, run: ended });
    }
  }
  out.push({ before: undefined, run: next.run });
  return out;
}

/**
 * A sender for one provider's view of the simulated history: watches the
 * run attempts and asks the provider's adapter for the deliveries of each
 * change. The adapters (GitHub, GitLab, Jenkins, Buildkite, CircleCI) say
 * only what a change looks like on the wire.
 */
export class RunWebhookSender {
  private readonly sender: PollingWebhookSender<WatchedRun>;

  constructor(
    options: RunWatchOptions & {
      name: string;
      history: SimulatedHistory;
      model: AttemptModel;
      /** The deliveries for one run's changes, in the order to send them. */
      deliveriesFor: (
        spec: SimRepoSpec,
        changes: Array<{
          before: SimRunAttempt | undefined;
          run: SimRunAttempt;
        }>,
      ) => WebhookDelivery[];
    },
  ) {
    const { history, model, deliveriesFor, windowMs, ...rest } = options;
    this.sender = new PollingWebhookSender<WatchedRun>({
      ...rest,
      snapshot: previous =>
        watchRuns(history, model, windowMs ?? 2 * 3600_000, previous),
      deliveriesFor: (previous, next) =>
        deliveriesFor(next.spec, runChanges(history, previous, next)),
    });
  }

  get targetUrl(): string {
    return this.sender.targetUrl;
  }

  start() {
    this.sender.start();
  }

  stop() {
    this.sender.stop();
  }

  tick(): Promise<TickResult> {
    return this.sender.tick();
  }
}

/** Whether a job changed between two looks (not seen before counts). */
export function jobChanged(
  before: SimRunAttempt | undefined,
  job: { id: number; status: string; conclusion: string | null },
): boolean {
  const was = before?.jobs.find(j => j.id === job.id);
  return !was || was.status !== job.status || was.conclusion !== job.conclusion;
}

/** Whether the run itself (not its jobs) changed between two looks. */
export function runChanged(
  before: SimRunAttempt | undefined,
  run: SimRunAttempt,
): boolean {
  return (
    !before ||
    before.attempt !== run.attempt ||
    before.status !== run.status ||
    before.conclusion !== run.conclusion
  );
}
