import {
  CiJob,
  CiJobKind,
  isFinalStatus,
  mapGitlabStatus,
} from '@ci-experience/plugin-ci-experience-common';
import {
  CiProviderRun,
  instantText,
  toInstant,
} from '@ci-experience/plugin-ci-experience-node';
import { z } from 'zod';

const NUL = String.fromCharCode(0);

/**
 * GitLab's REST API sends ISO 8601 (`2016-08-11T11:28:34.085Z`); its pipeline
 * webhooks send `2016-08-12 15:23:28 UTC`. Both become ISO 8601.
 *
 * @public
 */
export function parseGitlabTime(value: string): number {
  const webhook = value.match(
    /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?) UTC$/,
  );
  return Date.parse(webhook ? `${webhook[1]}T${webhook[2]}Z` : value);
}

/**
 * A GitLab time within 1970–9999; anything else makes its item malformed.
 *
 * @public
 */
export const gitlabDate = instantText(parseGitlabTime);

/**
 * A page link at the provider: only http(s), never `javascript:` and the like.
 *
 * @public
 */
export const webUrl = z
  .string()
  .max(2048)
  .refine(u => /^https?:\/\/\S+$/i.test(u) && !u.includes(NUL), {
    message: 'not an http(s) URL',
  });

/** GitLab's ids and counters fit a 32-bit column; anything larger is not GitLab's. */
const counter = z.number().int().min(0).max(2_147_483_647);
/** Pipeline and job ids passed 2^31 on gitlab.com; any safe integer will do. */
const bigId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const seconds = z.number().min(0).max(1e9);

const userSchema = z.object({
  username: z.string().nullish(),
  name: z.string().nullish(),
});

/**
 * A pipeline of `GET /projects/:id/pipelines` (basic) or `/pipelines/:id` (detailed).
 *
 * @public
 */
export const gitlabPipelineSchema = z.object({
  id: bigId,
  iid: counter.nullish(),
  name: z.string().nullish(),
  status: z.string().nullish(),
  source: z.string().nullish(),
  ref: z.string().nullish(),
  sha: z.string().nullish(),
  web_url: webUrl,
  created_at: gitlabDate,
  updated_at: gitlabDate.nullish(),
  started_at: gitlabDate.nullish(),
  finished_at: gitlabDate.nullish(),
  duration: seconds.nullish(),
  queued_duration: seconds.nullish(),
  user: userSchema.nullish(),
});

/**
 * A job of `GET /projects/:id/pipelines/:pipeline_id/jobs` (and of
 * `GET /projects/:id/jobs/:job_id`). GitLab's REST job carries no `needs` and
 * no `when`: the job graph is only in GraphQL and the CI configuration.
 *
 * @public
 */
export const gitlabJobSchema = z.object({
  id: bigId,
  name: z.string(),
  stage: z.string().nullish(),
  status: z.string().nullish(),
  web_url: webUrl.nullish(),
  created_at: gitlabDate.nullish(),
  started_at: gitlabDate.nullish(),
  finished_at: gitlabDate.nullish(),
  duration: seconds.nullish(),
  queued_duration: seconds.nullish(),
  runner: z
    .object({
      description: z.string().nullish(),
    })
    .nullish(),
});

/**
 * A trigger job of `GET /projects/:id/pipelines/:pipeline_id/bridges`: the
 * job fields of a job (no runner) and the pipeline it triggered.
 *
 * @public
 */
export const gitlabBridgeSchema = gitlabJobSchema
  .omit({ runner: true })
  .extend({
    downstream_pipeline: z.object({ web_url: webUrl.nullish() }).nullish(),
  });

/**
 * The fields of `GET /projects/:id` that are read.
 *
 * @public
 */
export const gitlabProjectSchema = z.object({
  id: bigId,
  path_with_namespace: z.string().nullish(),
  default_branch: z.string().nullish(),
  web_url: webUrl.nullish(),
});

/**
 * Text as the database can hold it: no NUL (PostgreSQL refuses it) and no
 * longer than its column, so one odd value never fails a page of runs.
 *
 * @public
 */
export function text(value: string, max: number): string;
export function text(
  value: string | null | undefined,
  max: number,
): string | undefined;
export function text(value: string | null | undefined, max: number) {
  if (value === null || value === undefined) {
    return undefined;
  }
  const clean = value.split(NUL).join('');
  return clean.length > max ? clean.slice(0, max) : clean;
}

/**
 * Throws OutOfRangeDateError for a time outside 1970–9999.
 *
 * @public
 */
export function iso(value: string | null | undefined): string | undefined {
  return value ? toInstant(parseGitlabTime(value)) : undefined;
}

export function span(from?: string, to?: string): number | undefined {
  if (!from || !to) {
    return undefined;
  }
  const elapsed = Date.parse(to) - Date.parse(from);
  return elapsed >= 0 ? elapsed : undefined;
}

/** A branch from a ref: `refs/heads/x` becomes `x`; tags and MR refs stay. */
function branchOf(ref: string | null | undefined): string | undefined {
  return ref ? ref.replace(/^refs\/heads\//, '') : undefined;
}

/**
 * The name a pipeline is listed under when it has none (`workflow:name`).
 *
 * @public
 */
export const DEFAULT_PIPELINE_NAME = 'pipeline';

/**
 * A GitLab pipeline as the provider-neutral model. GitLab re-runs jobs within
 * the same pipeline, so every pipeline is attempt 1. List answers carry no
 * start or finish time: a final pipeline's last update is its finish then,
 * and the detailed answer (or a webhook) brings the exact times.
 *
 * @public
 */
export function toProviderRun(
  pipeline: z.infer<typeof gitlabPipelineSchema>,
  extra: { commitMessage?: string } = {},
): CiProviderRun {
  const { status, providerStatus } = mapGitlabStatus(text(pipeline.status, 64));
  const createdAt = iso(pipeline.created_at)!;
  const updatedAt = iso(pipeline.updated_at);
  const startedAt = iso(pipeline.started_at);
  let finishedAt: string | undefined;
  if (isFinalStatus(status)) {
    finishedAt = iso(pipeline.finished_at) ?? updatedAt;
  }
  const durationMs = ms(pipeline.duration) ?? span(startedAt, finishedAt);
  const queuedMs = ms(pipeline.queued_duration) ?? span(createdAt, startedAt);
  return {
    providerRunId: String(pipeline.id),
    workflow: text(pipeline.name || DEFAULT_PIPELINE_NAME, 512),
    runNumber: pipeline.iid ?? Math.min(pipeline.id, 2_147_483_647),
    attempt: 1,
    status,
    providerStatus,
    branch: text(branchOf(pipeline.ref), 512),
    commitSha: text(pipeline.sha, 64),
    commitMessage: text(extra.commitMessage, 65_536),
    actor: text(pipeline.user?.username ?? pipeline.user?.name, 255),
    event: text(pipeline.source, 64),
    url: pipeline.web_url,
    createdAt,
    startedAt,
    finishedAt,
    durationMs,
    queuedMs,
    updatedAt,
  };
}

/**
 * The job's display name: its stage, then its name.
 *
 * @public
 */
export function jobName(stage: string | null | undefined, name: string) {
  return text(stage ? `${stage}: ${name}` : name, 512);
}

/**
 * Seconds (GitLab's `duration`, `queued_duration`) as whole milliseconds.
 *
 * @public
 */
export function ms(value: number | null | undefined): number | undefined {
  return typeof value === 'number' ? Math.round(value * 1000) : undefined;
}

/**
 * A GitLab job as the provider-neutral model: `group` is its stage,
 * `createdAt`/`queuedMs` its `created_at`/`queued_duration`, a job waiting
 * to be played (`status: manual`) is `kind: 'manual'` and a bridge
 * (`/bridges`) `kind: 'trigger'`. Steps come from its log's sections when
 * the log is read (see `parseGitlabSections`).
 *
 * @public
 */
export function toJob(
  job: z.infer<typeof gitlabJobSchema>,
  options: { kind?: CiJobKind; url?: string } = {},
): CiJob {
  const mapped = mapGitlabStatus(text(job.status, 64));
  const startedAt = iso(job.started_at);
  const finishedAt = iso(job.finished_at);
  const kind =
    options.kind ?? (mapped.providerStatus === 'manual' ? 'manual' : undefined);
  return {
    id: String(job.id),
    name: jobName(job.stage, job.name),
    ...mapped,
    url: options.url ?? job.web_url ?? undefined,
    createdAt: iso(job.created_at),
    queuedMs: ms(job.queued_duration),
    startedAt,
    finishedAt,
    durationMs: ms(job.duration) ?? span(startedAt, finishedAt),
    runnerName: text(job.runner?.description, 255) || undefined,
    ...(job.stage ? { group: text(job.stage, 255) } : {}),
    ...(kind ? { kind } : {}),
    steps: [],
  };
}

/**
 * A trigger job (bridge) as a job of `kind: 'trigger'`, linked to the pipeline it started.
 *
 * @public
 */
export function bridgeToJob(bridge: z.infer<typeof gitlabBridgeSchema>): CiJob {
  return toJob(
    { ...bridge, runner: null },
    {
      kind: 'trigger',
      url: bridge.downstream_pipeline?.web_url ?? bridge.web_url ?? undefined,
    },
  );
}

/**
 * The jobs of a run made consistent with it:
 *
 * - in a finished run no job is left queued or running: a job that never
 *   started (`created`, `pending`, `manual`, ...) is `skipped`, one still
 *   running ends with the run's status at the run's finish (GitLab leaves
 *   such jobs behind, e.g. a `created` deploy job of a pipeline that
 *   succeeded); the raw status stays in `providerStatus`;
 * - job times lie within the run's: from its creation to its finish, a time
 *   outside (clock skew, whole seconds) is brought to the nearest bound;
 * - a duration never exceeds the clamped span, and is never negative.
 *
 * @public
 */
export function fitJobsToRun(
  run: { status: CiJob['status']; createdAt: string; finishedAt?: string },
  jobs: CiJob[],
): CiJob[] {
  const finished = isFinalStatus(run.status);
  const lo = Date.parse(run.createdAt);
  const hi =
    finished && run.finishedAt ? Date.parse(run.finishedAt) : undefined;
  const fit = (value: string | undefined) => {
    if (!value) {
      return undefined;
    }
    let t = Date.parse(value);
    if (Number.isFinite(lo) && t < lo) {
      t = lo;
    }
    if (hi !== undefined && Number.isFinite(hi) && t > hi) {
      t = hi;
    }
    return new Date(t).toISOString();
  };
  return jobs.map(original => {
    const job = { ...original };
    if (finished && !isFinalStatus(job.status)) {
      if (job.status === 'running') {
        job.status = run.status;
        job.finishedAt = run.finishedAt;
      } else {
        job.status = 'skipped';
        job.startedAt = undefined;
        job.finishedAt = undefined;
        job.durationMs = undefined;
      }
    }
    job.createdAt = fit(job.createdAt);
    job.startedAt = fit(job.startedAt);
    job.finishedAt = fit(job.finishedAt);
    if (job.startedAt && job.finishedAt) {
      const spanMs = Math.max(
        0,
        Date.parse(job.finishedAt) - Date.parse(job.startedAt),
      );
      job.durationMs =
        job.durationMs === undefined
          ? spanMs
          : Math.max(0, Math.min(job.durationMs, spanMs));
    } else if (job.durationMs !== undefined && job.durationMs < 0) {
      job.durationMs = undefined;
    }
    return dropUndefined(job);
  });
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== undefined),
  ) as T;
}
