import {
  CiDeliveryParser,
  CiStoredRun,
} from '@ci-experience/plugin-ci-experience-node';
import { EventParams } from '@backstage/plugin-events-node';
import { z } from 'zod';
import { runIdOf } from '@ci-experience/plugin-ci-experience-node';
import { GITHUB_ACTIONS_PROVIDER_ID } from './GithubActionsProvider';
import {
  githubJobSchema,
  githubRunSchema,
  toJob,
  toProviderRun,
} from './mapping';

/**
 * The topics the GitHub event router of the events backend publishes to.
 *
 * @public
 */
export const GITHUB_WEBHOOK_TOPICS = [
  'github.workflow_run',
  'github.workflow_job',
];

const repositorySchema = z.object({
  full_name: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/),
  html_url: z.string().url(),
});

const workflowRunEvent = z.object({
  action: z.string(),
  workflow_run: githubRunSchema,
  repository: repositorySchema,
});

const workflowJobEvent = z.object({
  action: z.string(),
  workflow_job: githubJobSchema.extend({
    run_id: z.number().int(),
    run_attempt: z.number().int().positive().nullish(),
  }),
  repository: repositorySchema,
});

/**
 * Turns a GitHub `workflow_run` or `workflow_job` delivery, as the events
 * backend's GitHub module delivers it (topic `github.<event>`, request
 * headers as metadata), into the write that applies it, or says why not.
 *
 * @public
 */
export const parseGithubDelivery: CiDeliveryParser = async (event, lookup) => {
  const name = event.topic.replace(/^github\./, '').slice(0, 64);
  const deliveryId = deliveryIdOf(event);
  if (!deliveryId) {
    return {
      ok: false,
      reason: 'no-delivery-id',
      message: `GitHub ${name} delivery without an X-GitHub-Delivery id`,
    };
  }
  if (name !== 'workflow_run' && name !== 'workflow_job') {
    return {
      ok: false,
      reason: 'unsupported',
      deliveryId,
      message: `GitHub ${name} deliveries are not read (${deliveryId})`,
    };
  }
  const parsed =
    name === 'workflow_run'
      ? workflowRunEvent.safeParse(event.eventPayload)
      : workflowJobEvent.safeParse(event.eventPayload);
  if (!parsed.success) {
    return {
      ok: false,
      reason: 'malformed',
      deliveryId,
      message: `malformed GitHub ${name} delivery ${deliveryId}: ${parsed.error.issues
        .slice(0, 5)
        .map(i => `${i.path.join('.') || '(payload)'}: ${i.message}`)
        .join('; ')}`,
    };
  }
  const { repository } = parsed.data;
  const host = new URL(repository.html_url).host;
  const sourceKey =
    `${GITHUB_ACTIONS_PROVIDER_ID}:${host}/${repository.full_name}`.toLowerCase();
  const source = await lookup(sourceKey);
  if (!source) {
    return {
      ok: false,
      reason: 'unclaimed',
      deliveryId,
      message: `Ignored GitHub ${name} delivery ${deliveryId} for ${repository.full_name}: no entity claims it`,
    };
  }
  if ('workflow_run' in parsed.data) {
    const run = toProviderRun(parsed.data.workflow_run);
    const { providerRunId, updatedAt, ...model } = run;
    const stored: CiStoredRun = {
      ...model,
      id: runIdOf(sourceKey, providerRunId, run.attempt),
      provider: GITHUB_ACTIONS_PROVIDER_ID,
      source: source.source,
      sourceKey,
      providerRunId,
      providerUpdatedAt: updatedAt,
    };
    return {
      ok: true,
      deliveryId,
      sourceKey,
      source: source.source,
      changedAt: updatedAt,
      write: { deliveryId, event: name, runs: [stored] },
    };
  }
  const raw = (parsed.data as z.infer<typeof workflowJobEvent>).workflow_job;
  const job = toJob(raw);
  const runId = runIdOf(sourceKey, String(raw.run_id), raw.run_attempt ?? 1);
  return {
    ok: true,
    deliveryId,
    sourceKey,
    source: source.source,
    changedAt: job.finishedAt ?? job.startedAt,
    write: { deliveryId, event: name, jobs: [{ runId, job }] },
  };
};

function deliveryIdOf(event: EventParams): string | undefined {
  const raw = event.metadata?.['x-github-delivery'];
  const id: unknown = Array.isArray(raw) ? raw[0] : raw;
  return typeof id === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(id)
    ? id
    : undefined;
}
