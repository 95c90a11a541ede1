import {
  CiParsedDelivery,
  CiSourceLookup,
  CiStoredRun,
  headerOf,
} from '@ci-experience/plugin-ci-experience-node';
import {
  CiJob,
  mapGitlabStatus,
} from '@ci-experience/plugin-ci-experience-common';
import { EventParams } from '@backstage/plugin-events-node';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { runIdOf } from '@ci-experience/plugin-ci-experience-node';
import { GITLAB_PROVIDER_ID } from './GitlabApi';
import { gitlabSourceKey } from './GitlabCiProvider';
import {
  fitJobsToRun,
  gitlabDate,
  gitlabPipelineSchema,
  iso,
  jobName,
  ms,
  text,
  toProviderRun,
  webUrl,
} from './mapping';

/**
 * The topics `@backstage/plugin-events-backend-module-gitlab` publishes
 * pipeline and job hooks to: its `GitlabEventRouter` takes the `gitlab`
 * topic (the HTTP ingress at `/api/events/http/gitlab`) and republishes each
 * event to `gitlab.<object_kind>`, keeping the request headers as metadata.
 *
 * @public
 */
export const GITLAB_WEBHOOK_TOPICS = ['gitlab.pipeline', 'gitlab.build'];

const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const date = gitlabDate;
const seconds = z.number().min(0).max(1e9);

const projectSchema = z.object({
  id: id.nullish(),
  path_with_namespace: z
    .string()
    .max(1024)
    .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)+$/),
  web_url: webUrl,
});

/**
 * A job of a pipeline hook's `builds`.
 *
 * @public
 */
export const gitlabHookBuildSchema = z.object({
  id,
  stage: z.string().nullish(),
  name: z.string(),
  status: z.string().nullish(),
  created_at: date.nullish(),
  started_at: date.nullish(),
  finished_at: date.nullish(),
  duration: seconds.nullish(),
  queued_duration: seconds.nullish(),
  when: z.string().nullish(),
  manual: z.boolean().nullish(),
  runner: z.object({ description: z.string().nullish() }).nullish(),
});
const buildSchema = gitlabHookBuildSchema;

/**
 * A pipeline hook (`object_kind: pipeline`), as GitLab's docs show it.
 *
 * @public
 */
export const gitlabPipelineHookSchema = z.object({
  object_kind: z.literal('pipeline'),
  object_attributes: z.object({
    id,
    iid: z.number().int().min(0).max(2_147_483_647).nullish(),
    name: z.string().nullish(),
    ref: z.string().nullish(),
    sha: z.string().nullish(),
    source: z.string().nullish(),
    status: z.string(),
    created_at: date,
    finished_at: date.nullish(),
    duration: seconds.nullish(),
    queued_duration: seconds.nullish(),
    url: webUrl.nullish(),
  }),
  user: z
    .object({ username: z.string().nullish(), name: z.string().nullish() })
    .nullish(),
  project: projectSchema,
  commit: z.object({ message: z.string().nullish() }).nullish(),
  builds: z.array(z.unknown()).nullish(),
});

const pipelineHookSchema = gitlabPipelineHookSchema;

/**
 * A job hook (`object_kind: build`), as GitLab's docs show it.
 *
 * @public
 */
export const gitlabJobHookSchema = z.object({
  object_kind: z.literal('build'),
  build_id: id,
  build_name: z.string(),
  build_stage: z.string().nullish(),
  build_status: z.string(),
  build_created_at: date.nullish(),
  build_started_at: date.nullish(),
  build_finished_at: date.nullish(),
  build_duration: seconds.nullish(),
  build_queued_duration: seconds.nullish(),
  pipeline_id: id,
  runner: z.object({ description: z.string().nullish() }).nullish(),
  project: projectSchema,
});
const jobHookSchema = gitlabJobHookSchema;

const header = headerOf;

/**
 * The delivery id: `Idempotency-Key` (the same across GitLab's retries of one
 * delivery) when present, else `X-Gitlab-Event-UUID`; prefixed so it never
 * meets another provider's ids in the shared delivery table. Undefined when
 * neither is sent: see `gitlabContentDeliveryId`.
 *
 * @public
 */
export function gitlabDeliveryIdOf(event: EventParams): string | undefined {
  const idValue =
    header(event, 'idempotency-key') ?? header(event, 'x-gitlab-event-uuid');
  return idValue && /^[A-Za-z0-9._:-]{1,120}$/.test(idValue)
    ? `gitlab:${idValue}`
    : undefined;
}

/**
 * The delivery id of a hook that carries neither `Idempotency-Key` nor
 * `X-Gitlab-Event-UUID` (older self-managed GitLab sends neither), from its
 * content: the object kind, the pipeline's (or job's) id and status, and a
 * digest of the whole payload with its keys sorted, which covers its times
 * (`finished_at`, `updated_at`, ...) and jobs. GitLab's retries of one
 * delivery send the same payload, so they are applied once; a later state of
 * the same pipeline differs in status or times and is applied.
 *
 * @public
 */
export function gitlabContentDeliveryId(
  kind: string,
  payload: unknown,
): string {
  const p = (payload ?? {}) as Record<string, unknown>;
  const attrs = (p.object_attributes ?? {}) as Record<string, unknown>;
  const [objectId, status] =
    kind === 'build' ? [p.build_id, p.build_status] : [attrs.id, attrs.status];
  const digest = createHash('sha256')
    .update(canonicalJson(payload))
    .digest('hex')
    .slice(0, 24);
  const safe = (v: unknown) =>
    typeof v === 'number' || (typeof v === 'string' && /^[\w-]{1,40}$/.test(v))
      ? String(v)
      : '-';
  return `gitlab:content:${safe(kind)}:${safe(objectId)}:${safe(
    status,
  )}:${digest}`;
}

/** JSON with object keys sorted, so the same content always reads the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(canonicalJson).join(',')}]`;
  }
  if (value && typeof value === 'object') {
    return `{${Object.keys(value as object)
      .sort()
      .map(
        k =>
          `${JSON.stringify(k)}:${canonicalJson(
            (value as Record<string, unknown>)[k],
          )}`,
      )
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function buildToJob(build: z.infer<typeof buildSchema>): CiJob {
  const startedAt = iso(build.started_at);
  const finishedAt = iso(build.finished_at);
  let durationMs = ms(build.duration);
  if (durationMs === undefined && startedAt && finishedAt) {
    durationMs = Math.max(0, Date.parse(finishedAt) - Date.parse(startedAt));
  }
  const mapped = mapGitlabStatus(text(build.status, 64));
  const manual =
    build.when === 'manual' ||
    build.manual === true ||
    mapped.providerStatus === 'manual';
  return {
    id: String(build.id),
    name: jobName(build.stage, build.name),
    ...mapped,
    createdAt: iso(build.created_at),
    queuedMs: ms(build.queued_duration),
    startedAt,
    finishedAt,
    durationMs,
    runnerName: text(build.runner?.description, 255) || undefined,
    ...(build.stage ? { group: text(build.stage, 255) } : {}),
    ...(manual ? { kind: 'manual' as const } : {}),
    steps: [],
  };
}

/**
 * Turns one GitLab pipeline or job hook, as the events backend delivers it
 * (topic `gitlab.pipeline` or `gitlab.build`, request headers as metadata),
 * into the write that applies it, or says why it is refused. Pure but for
 * `lookup`: it never writes. The store's writes are monotonic, so an older
 * state arriving late never overrides a newer one; the delivery id lets the
 * store apply each delivery once.
 *
 * @public
 */
export async function parseGitlabDelivery(
  event: EventParams,
  lookup: CiSourceLookup,
): Promise<CiParsedDelivery> {
  const kind = event.topic.replace(/^gitlab\./, '');
  const deliveryId =
    gitlabDeliveryIdOf(event) ??
    gitlabContentDeliveryId(kind, event.eventPayload);
  if (kind !== 'pipeline' && kind !== 'build') {
    return {
      ok: false,
      reason: 'unsupported',
      deliveryId,
      message: `GitLab ${kind.slice(0, 40)} deliveries are not read`,
    };
  }
  const parsed =
    kind === 'pipeline'
      ? pipelineHookSchema.safeParse(event.eventPayload)
      : jobHookSchema.safeParse(event.eventPayload);
  if (!parsed.success) {
    return {
      ok: false,
      reason: 'malformed',
      deliveryId,
      message: `Malformed GitLab ${kind} delivery ${deliveryId}: ${parsed.error.issues
        .slice(0, 5)
        .map(i => `${i.path.join('.') || '(payload)'}: ${i.message}`)
        .join('; ')}`,
    };
  }
  const { project } = parsed.data;
  const host = new URL(project.web_url).host.toLowerCase();
  // An entity names the project by path or by id: try both.
  const keys = [gitlabSourceKey(host, project.path_with_namespace)];
  if (project.id) {
    keys.push(gitlabSourceKey(host, String(project.id)));
  }
  let sourceKey: string | undefined;
  let claimed: { source: string } | undefined;
  for (const key of keys) {
    claimed = await lookup(key);
    if (claimed) {
      sourceKey = key;
      break;
    }
  }
  if (!claimed || !sourceKey) {
    return {
      ok: false,
      reason: 'unclaimed',
      deliveryId,
      message: `GitLab ${kind} delivery ${deliveryId} for ${project.path_with_namespace} on ${host}: no entity claims it`,
    };
  }

  if (parsed.data.object_kind === 'pipeline') {
    const hook = parsed.data;
    const attrs = hook.object_attributes;
    const run = toProviderRun(
      gitlabPipelineSchema.parse({
        id: attrs.id,
        iid: attrs.iid,
        name: attrs.name,
        status: attrs.status,
        source: attrs.source,
        ref: attrs.ref,
        sha: attrs.sha,
        web_url:
          attrs.url ??
          `${project.web_url.replace(/\/$/, '')}/-/pipelines/${attrs.id}`,
        created_at: attrs.created_at,
        finished_at: attrs.finished_at,
        duration: attrs.duration,
        queued_duration: attrs.queued_duration,
        user: hook.user,
      }),
      { commitMessage: hook.commit?.message ?? undefined },
    );
    const { providerRunId, updatedAt, ...model } = run;
    const runId = runIdOf(sourceKey, providerRunId, 1);
    const stored: CiStoredRun = {
      ...model,
      id: runId,
      provider: GITLAB_PROVIDER_ID,
      source: claimed.source,
      sourceKey,
      providerRunId,
      providerUpdatedAt: updatedAt,
    };
    const jobs = fitJobsToRun(
      run,
      (hook.builds ?? []).flatMap(raw => {
        const build = buildSchema.safeParse(raw);
        return build.success ? [buildToJob(build.data)] : [];
      }),
    ).map(job => ({ runId, job }));
    return {
      ok: true,
      deliveryId,
      sourceKey,
      source: claimed.source,
      changedAt: updatedAt,
      write: {
        deliveryId,
        event: 'pipeline',
        runs: [stored],
        ...(jobs.length > 0 ? { jobs } : {}),
      },
    };
  }

  const hook = parsed.data as z.infer<typeof jobHookSchema>;
  const job = buildToJob({
    id: hook.build_id,
    name: hook.build_name,
    stage: hook.build_stage,
    status: hook.build_status,
    created_at: hook.build_created_at,
    started_at: hook.build_started_at,
    finished_at: hook.build_finished_at,
    duration: hook.build_duration,
    queued_duration: hook.build_queued_duration,
    runner: hook.runner,
  });
  job.url = `${project.web_url.replace(/\/$/, '')}/-/jobs/${hook.build_id}`;
  return {
    ok: true,
    deliveryId,
    sourceKey,
    source: claimed.source,
    changedAt: job.finishedAt ?? job.startedAt,
    write: {
      deliveryId,
      event: 'build',
      jobs: [{ runId: runIdOf(sourceKey, String(hook.pipeline_id), 1), job }],
    },
  };
}
