import { createHash, createHmac } from 'node:crypto';
import { SimRepoSpec, SimRunAttempt } from '../history';
import { CircleciSimulator } from './CircleciSimulator';

/** The events CircleCI's outbound webhooks send. */
export type CircleciWebhookType = 'workflow-completed' | 'job-completed';

/** The header CircleCI signs deliveries in. */
export const CIRCLECI_SIGNATURE_HEADER = 'circleci-signature';

/**
 * One outbound webhook delivery body, with the fields of CircleCI's webhooks
 * reference (built from its field tables; the sample payloads were not
 * available offline).
 */
export interface CircleciWebhookPayload {
  id: string;
  type: CircleciWebhookType;
  happened_at: string;
  webhook: { id: string; name: string };
  project: { id: string; name: string; slug: string };
  organization: { id: string; name: string };
  workflow: {
    id: string;
    name: string;
    created_at: string;
    stopped_at?: string;
    url: string;
    status?: string;
  };
  pipeline: {
    id: string;
    number: number;
    created_at: string;
    trigger: { type: string };
    trigger_parameters?: Record<string, unknown>;
    vcs: {
      provider_name: string;
      origin_repository_url: string;
      target_repository_url: string;
      revision: string;
      commit: {
        subject: string;
        body: string;
        author: { name: string; email: string };
        authored_at: string;
        committer: { name: string; email: string };
        committed_at: string;
      };
      branch?: string;
      tag?: string;
    };
  };
  job?: {
    id: string;
    name: string;
    started_at: string;
    stopped_at: string;
    status: string;
    number: number;
  };
}

function uuidOf(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(
    17,
    20,
  )}-${h.slice(20, 32)}`;
}

/**
 * The body CircleCI POSTs when a simulated workflow (one attempt of a run)
 * or, with `jobIndex`, one of its jobs completes. The delivery `id` is the
 * same for the same event, as a retried delivery's is.
 */
export function circleciWebhookPayload(
  simulator: CircleciSimulator,
  spec: SimRepoSpec,
  run: SimRunAttempt,
  jobIndex?: number,
): CircleciWebhookPayload {
  const pipeline = simulator.pipelineJson(spec, run);
  const workflow = simulator.workflowJson(spec, run);
  const project = simulator.projectJson(spec);
  const type: CircleciWebhookType =
    jobIndex === undefined ? 'workflow-completed' : 'job-completed';
  const job =
    jobIndex === undefined
      ? undefined
      : simulator.jobJson(spec, run, run.jobs[jobIndex], jobIndex);
  const happenedAt =
    (job ? job.stopped_at : workflow.stopped_at) ??
    new Date(simulator.history.now()).toISOString();
  const person = {
    name: run.actor,
    email: `${run.actor}@users.noreply.github.com`,
  };
  return {
    id: uuidOf(`${type}\n${workflow.id}\n${job?.id ?? ''}`),
    type,
    happened_at: happenedAt,
    webhook: {
      id: uuidOf(`webhook\n${project.id}`),
      name: 'backstage-ci-experience',
    },
    project: {
      id: project.id,
      name: project.name,
      slug: `github/${spec.owner}/${spec.repo}`,
    },
    organization: { id: project.organization_id, name: spec.owner },
    workflow: {
      id: workflow.id,
      name: workflow.name,
      created_at: workflow.created_at,
      ...(workflow.stopped_at ? { stopped_at: workflow.stopped_at } : {}),
      url: simulator.workflowUrl(spec, run),
      ...(job ? {} : { status: workflow.status }),
    },
    pipeline: {
      id: pipeline.id,
      number: pipeline.number,
      created_at: pipeline.created_at,
      trigger: { type: pipeline.trigger.type },
      vcs: {
        provider_name: 'github',
        origin_repository_url: pipeline.vcs.origin_repository_url,
        target_repository_url: pipeline.vcs.target_repository_url,
        revision: pipeline.vcs.revision,
        commit: {
          subject: pipeline.vcs.commit.subject,
          body: pipeline.vcs.commit.body,
          author: person,
          authored_at: pipeline.created_at,
          committer: person,
          committed_at: pipeline.created_at,
        },
        branch: run.branch,
      },
    },
    ...(job
      ? {
          job: {
            id: job.id,
            name: job.name,
            started_at: job.started_at ?? happenedAt,
            stopped_at: job.stopped_at ?? happenedAt,
            status: job.status,
            number: job.job_number ?? 0,
          },
        }
      : {}),
  };
}

/**
 * CircleCI's signature of a body: `v1=<hex HMAC-SHA256 of the body with the
 * webhook's secret>`.
 */
export function signCircleciWebhook(
  secret: string,
  body: string | Buffer,
): string {
  return `v1=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The request CircleCI sends for a payload: JSON body and its headers. */
export function circleciDeliveryRequest(
  payload: CircleciWebhookPayload,
  secret: string,
): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'CircleCI-Webhook/1.0',
      'circleci-event-type': payload.type,
      [CIRCLECI_SIGNATURE_HEADER]: signCircleciWebhook(secret, body),
    },
  };
}
