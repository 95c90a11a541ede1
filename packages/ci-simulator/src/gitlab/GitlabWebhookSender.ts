import { SimRunAttempt } from '../history';
import {
  jobChanged,
  runChanged,
  RunWatchOptions,
  RunWebhookSender,
} from '../watchedRuns';
import { WebhookDelivery } from '../webhookSender';
import { GitlabSimulator, SimGitlabProject } from './GitlabSimulator';
import {
  GitlabWebhookAuth,
  gitlabJobHook,
  gitlabPipelineHook,
  gitlabWebhookHeaders,
} from './webhooks';

export interface GitlabWebhookSenderOptions extends RunWatchOptions {
  simulator: GitlabSimulator;
  /** The webhook's secret token, sent as is in `X-Gitlab-Token`. */
  secretToken: string;
  /** With it, deliveries are also signed (`webhook-signature`), as GitLab 18 can. */
  signingToken?: string;
}

/**
 * Sends GitLab project webhook deliveries as the simulated pipelines change:
 * a `Pipeline Hook` when a pipeline's status changes and a `Job Hook` when a
 * job's does, with `X-Gitlab-Token`, `X-Gitlab-Event-UUID` and
 * `Idempotency-Key` headers, bodies from {@link gitlabPipelineHook} and
 * {@link gitlabJobHook}. A GitLab pipeline re-runs its jobs in place, so a
 * re-run is the same pipeline going back to `running`, with new jobs.
 */
export class GitlabWebhookSender extends RunWebhookSender {
  constructor(options: GitlabWebhookSenderOptions) {
    const { simulator, secretToken, signingToken, ...rest } = options;
    const auth: GitlabWebhookAuth = { secretToken, signingToken };
    super({
      ...rest,
      name: 'gitlab webhooks',
      history: simulator.history,
      model: 'latest',
      deliveriesFor: (spec, changes) => {
        const project = simulator.projects().find(p => p.spec === spec);
        return project
          ? changes.flatMap(({ before, run }) =>
              gitlabChanges(simulator, project, run, before, auth),
            )
          : [];
      },
    });
  }
}

/** The hooks one change of a pipeline makes, in the order GitLab sends them. */
function gitlabChanges(
  simulator: GitlabSimulator,
  project: SimGitlabProject,
  run: SimRunAttempt,
  before: SimRunAttempt | undefined,
  auth: GitlabWebhookAuth,
): WebhookDelivery[] {
  const instanceUrl = new URL(simulator.options.webBaseUrl).origin;
  const delivery = (
    event: 'Pipeline Hook' | 'Job Hook',
    payload: object,
  ): WebhookDelivery => {
    const body = JSON.stringify(payload);
    return {
      body,
      headers: gitlabWebhookHeaders({ event, body, auth, instanceUrl }),
    };
  };
  const jobs = run.jobs
    .filter(job => jobChanged(before, job))
    .map(job =>
      delivery('Job Hook', gitlabJobHook(simulator, project, run, job)),
    );
  if (!runChanged(before, run)) {
    return jobs;
  }
  const pipeline = delivery(
    'Pipeline Hook',
    gitlabPipelineHook(simulator, project, run),
  );
  // Jobs finish before their pipeline, and start after it is created.
  return run.status === 'completed' ? [...jobs, pipeline] : [pipeline, ...jobs];
}
