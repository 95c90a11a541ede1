import {
  CiJob,
  isFinalStatus,
  mapGitlabStatus,
} from '@ci-experience/plugin-ci-experience-common';
import { CiProviderRun } from '@ci-experience/plugin-ci-experience-node';
import { z } from 'zod';
import { instantText } from '../../service/instantSchema';
import { toInstant } from '../../service/instants';

const NUL = String.fromCharCode(0);

/**
 * GitLab's REST API sends ISO 8601 (`2016-08-11T11:28:34.085Z`); its pipeline
 * webhooks send `2016-08-12 15:23:28 UTC`. Both become ISO 8601.
 */
export function parseGitlabTime(value: string): number {
  const webhook = value.match(
    /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?) UTC$/,
  );
  return Date.parse(webhook ? `${webhook[1]}T${webhook[2]}Z` : value);
}

/** A GitLab time within 1970–9999; anything else makes its item malformed. */
export const gitlabDate = instantText(parseGitlabTime);

/** A page link at the provider: only http(s), never `javascript:` and the like. */
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

/** A pipeline of `GET /projects/:id/pipelines` (basic) or `/pipelines/:id` (detailed). */
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

/** A job of `GET /projects/:id/pipelines/:pipeline_id/jobs`. */
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
  runner: z
    .object({
      description: z.string().nullish(),
      id: z.number().nullish(),
    })
    .nullish(),
  commit: z.object({ message: z.string().nullish() }).nullish(),
});

/** The fields of `GET /projects/:id` that are read. */
export const gitlabProjectSchema = z.object({
  id: bigId,
  path_with_namespace: z.string().nullish(),
  default_branch: z.string().nullish(),
  web_url: webUrl.nullish(),
});

/**
 * Text as the database can hold it: no NUL (PostgreSQL refuses it) and no
 * longer than its column, so one odd value never fails a page of runs.
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

/** Throws OutOfRangeDateError for a time outside 1970–9999. */
export function iso(value: string | null | undefined): string | undefined {
  return value ? toInstant(parseGitlabTime(value)) : undefined;
}

export function span(from?: string, to?: string): number | undefined {
  if (!from || !to) {
    return undefined;
  }
  const ms = Date.parse(to) - Date.parse(from);
  return ms >= 0 ? ms : undefined;
}

/** A branch from a ref: `refs/heads/x` becomes `x`; tags and MR refs stay. */
function branchOf(ref: string | null | undefined): string | undefined {
  return ref ? ref.replace(/^refs\/heads\//, '') : undefined;
}

/** The name a pipeline is listed under when it has none (`workflow:name`). */
export const DEFAULT_PIPELINE_NAME = 'pipeline';

/**
 * A GitLab pipeline as the provider-neutral model. GitLab re-runs jobs within
 * the same pipeline, so every pipeline is attempt 1. List answers carry no
 * start or finish time: a final pipeline's last update is its finish then,
 * and the detailed answer (or a webhook) brings the exact times.
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
  const durationMs =
    typeof pipeline.duration === 'number'
      ? Math.round(pipeline.duration * 1000)
      : span(startedAt, finishedAt);
  const queuedMs =
    typeof pipeline.queued_duration === 'number'
      ? Math.round(pipeline.queued_duration * 1000)
      : span(createdAt, startedAt);
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

/** The job's display name: its stage, then its name. */
export function jobName(stage: string | null | undefined, name: string) {
  return text(stage ? `${stage}: ${name}` : name, 512);
}

/** A GitLab job as the provider-neutral model; GitLab has no steps. */
export function toJob(job: z.infer<typeof gitlabJobSchema>): CiJob {
  const mapped = mapGitlabStatus(text(job.status, 64));
  const startedAt = iso(job.started_at);
  const finishedAt = iso(job.finished_at);
  return {
    id: String(job.id),
    name: jobName(job.stage, job.name),
    ...mapped,
    url: job.web_url ?? undefined,
    startedAt,
    finishedAt,
    durationMs:
      typeof job.duration === 'number'
        ? Math.round(job.duration * 1000)
        : span(startedAt, finishedAt),
    runnerName: text(job.runner?.description, 255),
    steps: [],
  };
}
