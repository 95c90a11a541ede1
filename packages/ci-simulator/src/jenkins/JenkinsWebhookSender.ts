import { SimRunAttempt } from '../history';
import { RunWatchOptions, RunWebhookSender } from '../watchedRuns';
import { JenkinsSimulator } from './JenkinsSimulator';
import {
  JenkinsPhase,
  jenkinsDeliveryRequest,
  jenkinsNotification,
} from './webhooks';

export interface JenkinsWebhookSenderOptions extends RunWatchOptions {
  simulator: JenkinsSimulator;
  /** The shared token, sent in `X-Jenkins-Token`. */
  token: string;
}

/** The phases a build is in, by the simulated attempt's status. */
export function jenkinsPhasesOf(run: SimRunAttempt): JenkinsPhase[] {
  if (run.status === 'queued') {
    return ['QUEUED'];
  }
  // The Notification plugin sends COMPLETED and then FINALIZED once the
  // build's log and artifacts are written.
  return run.status === 'in_progress'
    ? ['STARTED']
    : ['COMPLETED', 'FINALIZED'];
}

/**
 * Sends the Jenkins Notification plugin's deliveries (JSON over HTTP, the
 * shared token in `X-Jenkins-Token`) as the simulated builds change: the
 * phase a build is in when its status changes, `QUEUED`, `STARTED`, or
 * `COMPLETED` followed by `FINALIZED`. Every attempt of a run is a build of
 * its own, as a Jenkins re-run is. The plugin reports builds, not stages.
 */
export class JenkinsWebhookSender extends RunWebhookSender {
  constructor(options: JenkinsWebhookSenderOptions) {
    const { simulator, token, ...rest } = options;
    super({
      ...rest,
      name: 'jenkins webhooks',
      history: simulator.history,
      model: 'per-attempt',
      deliveriesFor: (spec, changes) =>
        changes.flatMap(({ before, run }) =>
          before && before.status === run.status
            ? []
            : jenkinsPhasesOf(run).map(phase =>
                jenkinsDeliveryRequest(
                  jenkinsNotification(simulator, spec, run, phase),
                  token,
                ),
              ),
        ),
    });
  }
}
