import { createHmac, randomUUID } from 'node:crypto';
import { GithubSimulator } from './handlers';
import { SimRepoSpec, SimRunAttempt } from './history';

export interface WebhookSenderOptions {
  simulator: GithubSimulator;
  /** Where deliveries are POSTed, e.g. the portal's `/api/events/http/github`. */
  targetUrl: string;
  /** The webhook secret the receiver verifies `x-hub-signature-256` with. */
  secret: string;
  /** Time between two looks at the history; default 2 s. */
  intervalMs?: number;
  /** Only runs created within this window are watched; default 2 h. */
  windowMs?: number;
  log?: (line: string) => void;
  fetchImpl?: typeof fetch;
}

/** GitHub's `x-hub-signature-256` value: HMAC-SHA256 of the exact body bytes. */
export function signGithubPayload(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** A fixed hook id, as one repository webhook would have. */
const HOOK_ID = '7007';
const DELIVERY_TIMEOUT_MS = 10_000;

interface Watched {
  spec: SimRepoSpec;
  run: SimRunAttempt;
}

interface Delivery {
  event: 'workflow_run' | 'workflow_job';
  payload: object;
}

const RUN_ACTIONS = {
  queued: 'requested',
  in_progress: 'in_progress',
  completed: 'completed',
} as const;

const stateOf = (x: { status: string; conclusion: string | null }) =>
  `${x.status}/${x.conclusion}`;

/**
 * Sends signed `workflow_run` and `workflow_job` deliveries to a receiver as
 * the simulated runs change, as a GitHub repository webhook would, so the
 * portal learns of a state change within seconds instead of at its next poll.
 */
export class WebhookSender {
  private readonly options: WebhookSenderOptions;
  private readonly fetchImpl: typeof fetch;
  private seen?: Map<string, Watched>;
  private timer?: ReturnType<typeof setTimeout>;

  constructor(options: WebhookSenderOptions) {
    this.options = options;
    this.fetchImpl = options.fetchImpl ?? ((...args) => fetch(...args));
  }

  start() {
    if (this.timer) {
      return;
    }
    // Chained timeouts, so a slow receiver never makes ticks overlap.
    const loop = () => {
      this.timer = setTimeout(() => {
        this.tick().finally(() => this.timer && loop());
      }, this.options.intervalMs ?? 2000);
      // The simulator's HTTP server keeps the process alive, not this.
      this.timer.unref?.();
    };
    loop();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Looks at the history once and delivers what changed since last time. */
  async tick(): Promise<{ sent: number; failed: number }> {
    const current = this.snapshot();
    const previous = this.seen;
    this.seen = current;
    if (!previous) {
      // The first look is the baseline: GitHub does not replay history.
      return { sent: 0, failed: 0 };
    }
    const deliveries: Delivery[] = [];
    for (const [key, { spec, run }] of current) {
      deliveries.push(...this.changes(spec, run, previous.get(key)?.run));
    }
    let sent = 0;
    const errors: string[] = [];
    for (const delivery of deliveries) {
      const error = await this.deliver(delivery);
      if (error) {
        errors.push(error);
      } else {
        sent += 1;
      }
    }
    if (errors.length > 0) {
      // Neither GitHub nor the simulator redelivers a failed delivery by
      // itself; the portal's polling catches up with the missed changes.
      this.options.log?.(
        `webhooks: ${errors.length} of ${deliveries.length} deliveries to ${this.options.targetUrl} failed (${errors[0]}); not redelivered, polling catches up`,
      );
    }
    return { sent, failed: errors.length };
  }

  /** Every watched run attempt, oldest first, keyed by repository, id and attempt. */
  private snapshot(): Map<string, Watched> {
    const { simulator } = this.options;
    const since =
      simulator.history.now() - (this.options.windowMs ?? 2 * 3600_000);
    const out = new Map<string, Watched>();
    const repos = simulator.history.repos.filter(spec => !spec.forbidden);
    for (const spec of repos) {
      const runs = simulator.history.listRuns(spec);
      for (const run of runs.filter(r => r.createdAt >= since).reverse()) {
        out.set(`${spec.owner}/${spec.repo}#${run.id}/${run.attempt}`, {
          spec,
          run,
        });
      }
    }
    // A re-run hides the attempt before it from the list; when the clock
    // jumped past both its end and the re-run, still report how it ended.
    for (const [key, { spec, run }] of this.seen ?? []) {
      if (!out.has(key) && run.status !== 'completed') {
        const now = simulator.history.getRun(spec, run.id, run.attempt);
        if (now && now.createdAt >= since) {
          out.set(key, { spec, run: now });
        }
      }
    }
    return out;
  }

  private changes(
    spec: SimRepoSpec,
    run: SimRunAttempt,
    before: SimRunAttempt | undefined,
  ): Delivery[] {
    const { simulator } = this.options;
    const runJson = simulator.runJson(spec, run);
    const repository = runJson.repository;
    const sender = runJson.triggering_actor;
    const jobs: Delivery[] = run.jobs
      .filter(job => {
        const was = before?.jobs.find(j => j.id === job.id);
        return !was || stateOf(was) !== stateOf(job);
      })
      .map(job => ({
        event: 'workflow_job',
        payload: {
          action: job.status,
          workflow_job: simulator.jobJson(spec, run, job),
          repository,
          sender,
        },
      }));
    if (before && stateOf(before) === stateOf(run)) {
      return jobs;
    }
    const runDelivery: Delivery = {
      event: 'workflow_run',
      payload: {
        action: RUN_ACTIONS[run.status],
        workflow_run: runJson,
        workflow: {
          id: run.workflow.id,
          name: runJson.name,
          path: runJson.path,
        },
        repository,
        sender,
      },
    };
    // Jobs finish before the run that holds them, and start after it is requested.
    return run.status === 'completed'
      ? [...jobs, runDelivery]
      : [runDelivery, ...jobs];
  }

  /** POSTs one delivery; answers why it failed, or undefined. */
  private async deliver(delivery: Delivery): Promise<string | undefined> {
    const body = JSON.stringify(delivery.payload);
    try {
      const res = await this.fetchImpl(this.options.targetUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'GitHub-Hookshot/simulator',
          'x-github-event': delivery.event,
          'x-github-delivery': randomUUID(),
          'x-github-hook-id': HOOK_ID,
          'x-hub-signature-256': signGithubPayload(this.options.secret, body),
        },
        body,
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      // Drain the answer so the connection is reused.
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? undefined : `HTTP ${res.status}`;
    } catch (error: any) {
      return error?.cause?.code ?? error?.message ?? String(error);
    }
  }
}
