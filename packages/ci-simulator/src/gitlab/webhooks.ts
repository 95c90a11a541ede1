import { createHmac, randomUUID } from 'node:crypto';
import { SimJob, SimRunAttempt } from '../history';
import {
  GitlabSimulator,
  jobStatus,
  pipelineStatus,
  SimGitlabProject,
  stageOf,
} from './GitlabSimulator';

/** `2016-08-12 15:23:28 UTC`: the time format of GitLab's pipeline hooks. */
function hookTime(ms: number | undefined): string | null {
  return ms === undefined
    ? null
    : new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d{3}Z$/, ' UTC');
}

function isoSeconds(ms: number | undefined): string | null {
  return ms === undefined
    ? null
    : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function projectHookJson(sim: GitlabSimulator, project: SimGitlabProject) {
  const web = `${sim.options.webBaseUrl}/${project.path}`;
  const host = new URL(web).host;
  return {
    id: project.id,
    name: project.spec.repo,
    description: null,
    web_url: web,
    avatar_url: null,
    git_ssh_url: `git@${host}:${project.path}.git`,
    git_http_url: `${web}.git`,
    namespace: project.path.split('/').slice(0, -1).join('/'),
    visibility_level: 0,
    path_with_namespace: project.path,
    default_branch: project.spec.defaultBranch,
    ci_config_path: null,
  };
}

function userHookJson(actor: string) {
  const username = actor.replace(/\[bot\]$/, '-bot');
  return {
    id: 7000 + username.length,
    name: username,
    username,
    avatar_url: null,
    email: '[REDACTED]',
  };
}

/**
 * A pipeline hook body (`X-Gitlab-Event: Pipeline Hook`) for a simulated run,
 * in the shape of the example under "Pipeline events" in GitLab's "Webhook
 * events" documentation.
 */
export function gitlabPipelineHook(
  sim: GitlabSimulator,
  project: SimGitlabProject,
  run: SimRunAttempt,
) {
  const status = pipelineStatus(run);
  const started = run.status === 'queued' ? undefined : run.startedAt;
  const finished = run.status === 'completed' ? run.updatedAt : undefined;
  const web = `${sim.options.webBaseUrl}/${project.path}`;
  return {
    object_kind: 'pipeline',
    object_attributes: {
      id: run.id,
      iid: run.runNumber,
      name: run.workflow.name,
      ref: run.branch,
      tag: false,
      sha: run.sha,
      before_sha: '0000000000000000000000000000000000000000',
      source: run.event === 'pull_request' ? 'merge_request_event' : run.event,
      status,
      detailed_status: status,
      stages: [...new Set(run.jobs.map((_, i) => stageOf(i, run.jobs.length)))],
      created_at: hookTime(run.createdAt),
      finished_at: hookTime(finished),
      duration:
        started !== undefined && finished !== undefined
          ? Math.round((finished - started) / 1000)
          : null,
      queued_duration:
        started !== undefined
          ? Math.round((started - run.createdAt) / 1000)
          : null,
      variables: [],
      url: `${web}/-/pipelines/${run.id}`,
    },
    merge_request: null,
    user: userHookJson(run.actor),
    project: projectHookJson(sim, project),
    commit: {
      id: run.sha,
      message: run.message,
      title: run.message,
      timestamp: isoSeconds(run.createdAt - 60_000),
      url: `${web}/-/commit/${run.sha}`,
      author: { name: run.actor, email: '[REDACTED]' },
    },
    builds: run.jobs.map((job, i) => ({
      id: job.id,
      stage: stageOf(i, run.jobs.length),
      name: job.name,
      status: jobStatus(job, i),
      created_at: hookTime(run.createdAt),
      started_at: hookTime(job.startedAt),
      finished_at: hookTime(job.completedAt),
      duration:
        job.startedAt !== undefined && job.completedAt !== undefined
          ? (job.completedAt - job.startedAt) / 1000
          : null,
      queued_duration:
        job.startedAt !== undefined
          ? Math.max(0, (job.startedAt - run.createdAt) / 1000)
          : null,
      failure_reason: job.conclusion === 'failure' ? 'script_failure' : null,
      when: 'on_success',
      manual: false,
      allow_failure: false,
      user: userHookJson(run.actor),
      runner: job.startedAt
        ? {
            id: 4000 + (job.id % 17),
            description: `gitlab-runner ${(job.id % 17) + 2}`,
            runner_type: 'instance_type',
            active: true,
            is_shared: true,
            tags: ['docker'],
          }
        : null,
      artifacts_file: { filename: null, size: null },
      environment: null,
    })),
  };
}

/**
 * A job hook body (`X-Gitlab-Event: Job Hook`) for a simulated job, in the
 * shape of the example under "Job events" in GitLab's "Webhook events"
 * documentation.
 */
export function gitlabJobHook(
  sim: GitlabSimulator,
  project: SimGitlabProject,
  run: SimRunAttempt,
  job: SimJob,
) {
  const index = run.jobs.indexOf(job);
  const web = `${sim.options.webBaseUrl}/${project.path}`;
  return {
    object_kind: 'build',
    ref: run.branch,
    tag: false,
    before_sha: '0000000000000000000000000000000000000000',
    sha: run.sha,
    build_id: job.id,
    build_name: job.name,
    build_stage: stageOf(index, run.jobs.length),
    build_status: jobStatus(job, index),
    build_created_at: new Date(run.createdAt).toISOString(),
    build_created_at_iso: isoSeconds(run.createdAt),
    build_started_at: job.startedAt
      ? new Date(job.startedAt).toISOString()
      : null,
    build_started_at_iso: isoSeconds(job.startedAt),
    build_finished_at: job.completedAt
      ? new Date(job.completedAt).toISOString()
      : null,
    build_finished_at_iso: isoSeconds(job.completedAt),
    build_duration:
      job.startedAt !== undefined && job.completedAt !== undefined
        ? (job.completedAt - job.startedAt) / 1000
        : null,
    build_queued_duration:
      job.startedAt !== undefined
        ? Math.max(0, (job.startedAt - run.createdAt) / 1000)
        : null,
    build_allow_failure: false,
    build_failure_reason:
      job.conclusion === 'failure' ? 'script_failure' : 'unknown_failure',
    retries_count: run.attempt - 1,
    pipeline_id: run.id,
    project_id: project.id,
    project_name: project.path.split('/').join(' / '),
    user: userHookJson(run.actor),
    commit: {
      id: run.id,
      name: run.workflow.name,
      sha: run.sha,
      message: run.message,
      author_name: run.actor,
      author_email: '[REDACTED]',
      status: pipelineStatus(run),
      duration: null,
      started_at: null,
      started_at_iso: null,
      finished_at: null,
      finished_at_iso: null,
    },
    repository: {
      name: project.spec.repo,
      description: null,
      homepage: web,
      git_ssh_url: `git@${new URL(web).host}:${project.path}.git`,
      git_http_url: `${web}.git`,
      visibility_level: 0,
    },
    project: projectHookJson(sim, project),
    runner: job.startedAt
      ? {
          active: true,
          runner_type: 'instance_type',
          is_shared: true,
          id: 4000 + (job.id % 17),
          description: `gitlab-runner ${(job.id % 17) + 2}`,
          tags: ['docker'],
        }
      : null,
    environment: null,
  };
}

/** What a GitLab webhook sends with each delivery. */
export interface GitlabWebhookAuth {
  /** The webhook's secret token, sent as is in `X-Gitlab-Token`. */
  secretToken?: string;
  /** The webhook's signing token (`whsec_<base64>`), for `webhook-signature`. */
  signingToken?: string;
}

/**
 * The Standard Webhooks signature GitLab's signing token produces:
 * `v1,<base64 HMAC-SHA256 of "<webhook-id>.<timestamp>.<body>">`, keyed with
 * the base64-decoded part of `whsec_<base64>`.
 */
export function signGitlabPayload(
  signingToken: string,
  webhookId: string,
  timestampSeconds: number,
  body: string,
): string {
  const key = Buffer.from(signingToken.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key)
    .update(`${webhookId}.${timestampSeconds}.${body}`)
    .digest('base64')}`;
}

/**
 * The headers of one delivery: `X-Gitlab-Event`, `X-Gitlab-Event-UUID`,
 * `X-Gitlab-Webhook-UUID`, `Idempotency-Key`, the secret token when set,
 * and the signature headers when a signing token is set.
 */
export function gitlabWebhookHeaders(options: {
  event: 'Pipeline Hook' | 'Job Hook';
  body: string;
  auth: GitlabWebhookAuth;
  /** Stays the same when GitLab retries the delivery. */
  idempotencyKey?: string;
  eventUuid?: string;
  webhookUuid?: string;
  now?: () => number;
  instanceUrl?: string;
}): Record<string, string> {
  const idempotencyKey = options.idempotencyKey ?? randomUUID();
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'GitLab/18.6.0',
    'x-gitlab-event': options.event,
    'x-gitlab-event-uuid': options.eventUuid ?? randomUUID(),
    'x-gitlab-webhook-uuid':
      options.webhookUuid ?? '2b7c8d6e-0c4a-4e36-9d1e-7a7a0b0f7007',
    'x-gitlab-instance': options.instanceUrl ?? 'https://gitlab.com',
    'idempotency-key': idempotencyKey,
  };
  if (options.auth.secretToken) {
    headers['x-gitlab-token'] = options.auth.secretToken;
  }
  if (options.auth.signingToken) {
    const timestamp = Math.floor((options.now ?? Date.now)() / 1000);
    headers['webhook-id'] = idempotencyKey;
    headers['webhook-timestamp'] = String(timestamp);
    headers['webhook-signature'] = signGitlabPayload(
      options.auth.signingToken,
      idempotencyKey,
      timestamp,
      options.body,
    );
  }
  return headers;
}
