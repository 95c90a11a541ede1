import { createHmac, randomUUID } from 'node:crypto';
import { GithubSimulator } from './handlers';
import { SimRepoSpec, SimRunAttempt } from './history';
import {
  jobChanged,
  runChanged,
  RunWatchOptions,
  RunWebhookSender,
} from './watchedRuns';
import { WebhookDelivery } from './webhookSender';

export interface WebhookSenderOptions extends RunWatchOptions {
  simulator: GithubSimulator;
  /** The webhook secret the receiver verifies `x-hub-signature-256` with. */
  secret: string;
}

/** GitHub's `x-hub-signature-256` value: HMAC-SHA256 of the exact body bytes. */
export function signGithubPayload(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** A fixed hook id, as one repository webhook would have. */
const HOOK_ID = '7007';

interface Delivery {
  event: 'workflow_run' | 'workflow_job';
  payload: object;
}

const RUN_ACTIONS = {
  queued: 'requested',
  in_progress: 'in_progress',
  completed: 'completed',
} as const;

/**
 * Sends signed `workflow_run` and `workflow_job` deliveries to a receiver as
 * the simulated runs change, as a GitHub repository webhook would, so the
 * portal learns of a state change within seconds instead of at its next poll.
 */
export class WebhookSender extends RunWebhookSender {
  constructor(options: WebhookSenderOptions) {
    const { simulator, secret, ...rest } = options;
    super({
      ...rest,
      name: 'github webhooks',
      history: simulator.history,
      // Each attempt of a run is a workflow run of its own to GitHub.
      model: 'per-attempt',
      deliveriesFor: (spec, changes) =>
        changes.flatMap(({ before, run }) =>
          githubChanges(simulator, spec, run, before).map(delivery =>
            githubDelivery(delivery, secret),
          ),
        ),
    });
  }
}

function githubChanges(
  simulator: GithubSimulator,
  spec: SimRepoSpec,
  run: SimRunAttempt,
  before: SimRunAttempt | undefined,
): Delivery[] {
  const runJson = simulator.runJson(spec, run);
  const repository = runJson.repository;
  const sender = runJson.triggering_actor;
  const jobs: Delivery[] = run.jobs
    .filter(job => jobChanged(before, job))
    .map(job => ({
      event: 'workflow_job',
      payload: {
        action: job.status,
        workflow_job: simulator.jobJson(spec, run, job),
        repository,
        sender,
      },
    }));
  if (!runChanged(before, run)) {
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

/** The request GitHub sends for a delivery: body and headers. */
function githubDelivery(delivery: Delivery, secret: string): WebhookDelivery {
  const body = JSON.stringify(delivery.payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/simulator',
      'x-github-event': delivery.event,
      'x-github-delivery': randomUUID(),
      'x-github-hook-id': HOOK_ID,
      'x-hub-signature-256': signGithubPayload(secret, body),
    },
  };
}
