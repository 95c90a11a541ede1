import { RunWatchOptions, RunWebhookSender } from '../watchedRuns';
import { CircleciSimulator } from './CircleciSimulator';
import { circleciDeliveryRequest, circleciWebhookPayload } from './webhooks';

export interface CircleciWebhookSenderOptions extends RunWatchOptions {
  simulator: CircleciSimulator;
  /** The webhook's secret, signing each body in `circleci-signature`. */
  secret: string;
}

/**
 * Sends CircleCI outbound webhook deliveries as the simulated workflows
 * end: `job-completed` for each job that reached a terminal status and
 * `workflow-completed` when the workflow did, after its jobs, each signed
 * in `circleci-signature: v1=<hex HMAC-SHA256 of the body>`. CircleCI sends
 * nothing when a workflow or job starts. Every attempt of a run is a
 * workflow of its own, as a CircleCI re-run is.
 */
export class CircleciWebhookSender extends RunWebhookSender {
  constructor(options: CircleciWebhookSenderOptions) {
    const { simulator, secret, ...rest } = options;
    super({
      ...rest,
      name: 'circleci webhooks',
      history: simulator.history,
      model: 'per-attempt',
      deliveriesFor: (spec, changes) =>
        changes.flatMap(({ before, run }) => {
          const indexes = run.jobs.flatMap((job, index) => {
            const was = before?.jobs.find(j => j.id === job.id);
            return job.status === 'completed' && was?.status !== 'completed'
              ? [index]
              : [];
          });
          const payloads = indexes.map(index =>
            circleciWebhookPayload(simulator, spec, run, index),
          );
          if (run.status === 'completed' && before?.status !== 'completed') {
            payloads.push(circleciWebhookPayload(simulator, spec, run));
          }
          return payloads.map(payload =>
            circleciDeliveryRequest(payload, secret),
          );
        }),
    });
  }
}
