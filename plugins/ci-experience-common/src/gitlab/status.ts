import { CiRunStatus } from '../types';

/**
 * How GitLab's pipeline and job `status` values map to {@link CiRunStatus}.
 * Pipelines and jobs share one set of statuses in GitLab's REST API (v4) and
 * webhooks.
 *
 * | GitLab status | CiRunStatus | why |
 * | --- | --- | --- |
 * | `created` | `queued` | created, not yet picked for a runner |
 * | `waiting_for_resource` | `queued` | waits for a `resource_group` to free up |
 * | `preparing` | `queued` | a runner prepares its environment (e.g. autoscaled machines) |
 * | `pending` | `queued` | waits for a runner |
 * | `scheduled` | `queued` | a delayed job (`when: delayed`) waits for its start time |
 * | `manual` | `queued` | waits for a person to start it (`when: manual`) |
 * | `running` | `running` | |
 * | `waiting_for_callback` | `running` | a job started and waits for an external system to report back |
 * | `canceling` | `running` | a cancellation is under way; not final yet |
 * | `success` | `succeeded` | |
 * | `failed` | `failed` | includes jobs that failed with `allow_failure` (the pipeline itself then reports `success`) |
 * | `canceled` | `cancelled` | GitLab's spelling; also `cancelled` is accepted |
 * | `skipped` | `skipped` | |
 *
 * A status not in this table maps to `queued`: it is never shown as green,
 * and as it is not final the run is read again until GitLab reports a known
 * final status. The raw value is kept in `providerStatus`.
 *
 * @public
 */
export const GITLAB_STATUS_MAP: Readonly<Record<string, CiRunStatus>> = {
  created: 'queued',
  waiting_for_resource: 'queued',
  preparing: 'queued',
  pending: 'queued',
  scheduled: 'queued',
  manual: 'queued',
  running: 'running',
  waiting_for_callback: 'running',
  canceling: 'running',
  success: 'succeeded',
  failed: 'failed',
  canceled: 'cancelled',
  cancelled: 'cancelled',
  skipped: 'skipped',
};

/**
 * Maps a GitLab pipeline or job `status` to {@link CiRunStatus} and the raw
 * value to keep; see {@link GITLAB_STATUS_MAP} for the table. A missing
 * status maps to `queued` with the raw value `unknown`.
 *
 * @public
 */
export function mapGitlabStatus(status: string | null | undefined): {
  status: CiRunStatus;
  providerStatus: string;
} {
  const raw = status || 'unknown';
  return {
    status: Object.prototype.hasOwnProperty.call(GITLAB_STATUS_MAP, raw)
      ? GITLAB_STATUS_MAP[raw]
      : 'queued',
    providerStatus: raw,
  };
}
