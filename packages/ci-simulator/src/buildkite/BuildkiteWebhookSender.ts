import { SimJob, SimRunAttempt } from '../history';
import { jobChanged, RunWatchOptions, RunWebhookSender } from '../watchedRuns';
import { WebhookDelivery } from '../webhookSender';
import {
  BuildkiteSimulator,
  buildkiteBuildState,
  buildkiteJobState,
  SimBuildkitePipeline,
} from './BuildkiteSimulator';
import {
  BuildkiteBuildEvent,
  buildkiteBuildWebhook,
  BuildkiteJobEvent,
  buildkiteJobWebhook,
  buildkiteWebhookHeaders,
} from './webhooks';

export interface BuildkiteWebhookSenderOptions extends RunWatchOptions {
  simulator: BuildkiteSimulator;
  /** The webhook's token, signing each body in `X-Buildkite-Signature`. */
  signingSecret: string;
  /** The wall clock the signature's timestamp comes from; default `Date.now`. */
  now?: () => number;
}

/** The build event of a build's state: `scheduled`, `running`, `failing`, `finished`. */
export function buildkiteBuildEventOf(run: SimRunAttempt): BuildkiteBuildEvent {
  const state = buildkiteBuildState(run);
  if (state === 'scheduled' || state === 'running' || state === 'failing') {
    return `build.${state}`;
  }
  return 'build.finished';
}

/** The job event of a job's status: `scheduled`, `started`, `finished`. */
export function buildkiteJobEventOf(job: SimJob): BuildkiteJobEvent {
  if (job.status === 'queued') {
    return 'job.scheduled';
  }
  return job.status === 'in_progress' ? 'job.started' : 'job.finished';
}

/**
 * Sends Buildkite pipeline webhook deliveries as the simulated builds change:
 * `build.scheduled`, `build.running`, `build.failing` and `build.finished`
 * when a build's state changes, `job.scheduled`, `job.started` and
 * `job.finished` when a script job's does (a job waiting behind the wait
 * step is not scheduled yet), each with `X-Buildkite-Event` and
 * `X-Buildkite-Signature` (`timestamp=<t>,signature=<hex HMAC-SHA256 of
 * "<t>.<body>">`). Buildkite retries jobs within a build, so a re-run is
 * the same build running again, with new jobs.
 */
export class BuildkiteWebhookSender extends RunWebhookSender {
  constructor(options: BuildkiteWebhookSenderOptions) {
    const { simulator, signingSecret, now, ...rest } = options;
    const sign = (event: string, payload: object): WebhookDelivery => {
      const body = JSON.stringify(payload);
      return {
        body,
        headers: buildkiteWebhookHeaders(event, body, {
          signingSecret,
          now: (now ?? Date.now)(),
        }),
      };
    };
    const changes = (
      pipeline: SimBuildkitePipeline,
      run: SimRunAttempt,
      before: SimRunAttempt | undefined,
    ): WebhookDelivery[] => {
      const jobs = run.jobs
        // A job behind the wait step is scheduled only once it may run.
        .filter(
          (job, index) =>
            jobChanged(before, job) &&
            buildkiteJobState(job, index) !== 'waiting',
        )
        .map(job => {
          const event = buildkiteJobEventOf(job);
          return sign(
            event,
            buildkiteJobWebhook(simulator, pipeline, run, job, event),
          );
        });
      const event = buildkiteBuildEventOf(run);
      if (before && buildkiteBuildEventOf(before) === event) {
        return jobs;
      }
      const build = sign(
        event,
        buildkiteBuildWebhook(simulator, pipeline, run, event),
      );
      // Jobs finish before their build, and are scheduled after it is.
      return event === 'build.finished' ? [...jobs, build] : [build, ...jobs];
    };
    super({
      ...rest,
      name: 'buildkite webhooks',
      history: simulator.history,
      model: 'latest',
      deliveriesFor: (spec, list) => {
        const pipeline = simulator.pipelines().find(p => p.spec === spec);
        return pipeline
          ? list.flatMap(({ before, run }) => changes(pipeline, run, before))
          : [];
      },
    });
  }
}
