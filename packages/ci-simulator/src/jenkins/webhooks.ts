import { SimRepoSpec, SimRunAttempt } from '../history';
import { JenkinsSimulator, buildNumberOf } from './JenkinsSimulator';

/** The phases the Jenkins Notification plugin reports a build in. */
export type JenkinsPhase = 'QUEUED' | 'STARTED' | 'COMPLETED' | 'FINALIZED';

/**
 * One delivery of the Jenkins Notification plugin (JSON format, HTTP
 * protocol), as it POSTs it for a phase of a build.
 */
export interface JenkinsNotification {
  name: string;
  display_name: string;
  url: string;
  build: {
    full_url: string;
    number: number;
    queue_id: number;
    timestamp: number;
    duration: number;
    phase: JenkinsPhase;
    status?: string;
    url: string;
    scm: { url: string; branch: string; commit: string };
    log: string;
    notes: string;
    artifacts: Record<string, unknown>;
  };
}

/** The header the receiver checks the shared token in. */
export const JENKINS_TOKEN_HEADER = 'x-jenkins-token';

/**
 * The Notification plugin's payload for one phase of one simulated run's
 * build: `STARTED` has no `status`, `COMPLETED` and `FINALIZED` carry the
 * build result.
 */
export function jenkinsNotification(
  simulator: JenkinsSimulator,
  spec: SimRepoSpec,
  run: SimRunAttempt,
  phase: JenkinsPhase,
): JenkinsNotification {
  const job = simulator.jobOf(spec, run.branch);
  const number = buildNumberOf(run);
  const jobUrl = simulator.urlOf(job.path);
  const relative = jobUrl.slice(simulator.baseUrl.length + 1);
  const build = simulator.buildJson(job, { number, run });
  const final = phase === 'COMPLETED' || phase === 'FINALIZED';
  return {
    name: job.path[job.path.length - 1],
    display_name: job.branch ?? job.path[job.path.length - 1],
    url: relative,
    build: {
      full_url: `${jobUrl}${number}/`,
      number,
      queue_id: run.id,
      timestamp: run.startedAt,
      duration: final ? build.duration : 0,
      phase,
      ...(final && build.result ? { status: build.result } : {}),
      url: `${relative}${number}/`,
      scm: {
        url: `https://github.com/${spec.owner}/${spec.repo}.git`,
        branch: `origin/${run.branch}`,
        commit: run.sha,
      },
      log: '',
      notes: '',
      artifacts: {},
    },
  };
}

/**
 * The request a Notification plugin endpoint sends: the JSON body and the
 * shared token in `X-Jenkins-Token`. The plugin signs nothing and sets no
 * header of its own; a real endpoint carries the token as the password of
 * its URL (sent as `Authorization: Basic`) or gets the header from a proxy.
 * Never in the query: URLs land in access logs.
 */
export function jenkinsDeliveryRequest(
  payload: JenkinsNotification,
  token: string,
): { body: string; headers: Record<string, string> } {
  return {
    body: JSON.stringify(payload),
    headers: {
      'content-type': 'application/json',
      [JENKINS_TOKEN_HEADER]: token,
    },
  };
}
