import {
  CiJob,
  isFinalStatus,
  mapBuildkiteStatus,
} from '@ci-experience/plugin-ci-experience-common';
import { CiProviderRun } from '@ci-experience/plugin-ci-experience-node';
import { z } from 'zod';
import { instantText } from '../../service/instantSchema';
import { toInstant, toOptionalInstant } from '../../service/instants';

const NUL = String.fromCharCode(0);

const date = instantText();

/** A page link at the provider: only http(s), never `javascript:` and the like. */
export const webUrl = z
  .string()
  .max(2048)
  .refine(u => /^https?:\/\/\S+$/i.test(u) && !u.includes(NUL), {
    message: 'not an http(s) URL',
  });

/** Build numbers fit a 32-bit column; anything larger is not Buildkite's. */
const counter = z.number().int().min(0).max(2_147_483_647);
const uuid = z.string().min(1).max(64);

const userSchema = z.object({
  id: z.string().nullish(),
  name: z.string().nullish(),
  username: z.string().nullish(),
  email: z.string().nullish(),
});

/** A job embedded in a build (`jobs[]`), as the REST API and webhooks send it. */
export const buildkiteJobSchema = z.object({
  id: uuid,
  type: z.string().max(64),
  name: z.string().nullish(),
  label: z.string().nullish(),
  step_key: z.string().nullish(),
  state: z.string().nullish(),
  web_url: webUrl.nullish(),
  passed: z.boolean().nullish(),
  soft_failed: z.boolean().nullish(),
  exit_status: z.number().nullish(),
  agent: z
    .object({ name: z.string().nullish(), hostname: z.string().nullish() })
    .nullish(),
  created_at: date.nullish(),
  scheduled_at: date.nullish(),
  runnable_at: date.nullish(),
  started_at: date.nullish(),
  finished_at: date.nullish(),
  unblocked_at: date.nullish(),
  retried: z.boolean().nullish(),
});

/** A build of `GET .../builds` or `GET .../builds/{number}`, or of a webhook. */
export const buildkiteBuildSchema = z.object({
  id: uuid,
  number: counter,
  state: z.string().nullish(),
  blocked: z.boolean().nullish(),
  web_url: webUrl,
  message: z.string().nullish(),
  commit: z.string().nullish(),
  branch: z.string().nullish(),
  source: z.string().nullish(),
  creator: userSchema.nullish(),
  author: userSchema.nullish(),
  created_at: date,
  scheduled_at: date.nullish(),
  started_at: date.nullish(),
  finished_at: date.nullish(),
  jobs: z.array(z.unknown()).nullish(),
  pipeline: z
    .object({ name: z.string().nullish(), slug: z.string().nullish() })
    .nullish(),
});

/** The fields of `GET /organizations/{org}/pipelines/{pipeline}` that are read. */
export const buildkitePipelineSchema = z.object({
  slug: z.string().nullish(),
  name: z.string().nullish(),
  default_branch: z.string().nullish(),
});

export type BuildkiteBuild = z.infer<typeof buildkiteBuildSchema>;
export type BuildkiteJob = z.infer<typeof buildkiteJobSchema>;

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
  return toOptionalInstant(value);
}

function span(from?: string, to?: string): number | undefined {
  if (!from || !to) {
    return undefined;
  }
  const ms = Date.parse(to) - Date.parse(from);
  return ms >= 0 ? ms : undefined;
}

/** The jobs that are work: not `waiter` (a `wait` step's placeholder). */
function workJobs(jobs: BuildkiteJob[]): BuildkiteJob[] {
  return jobs.filter(j => j.type !== 'waiter');
}

/**
 * The newest time the build or any of its jobs reports: Buildkite builds have
 * no `updated_at`, and this moves whenever a job starts or finishes.
 */
function lastChange(build: BuildkiteBuild, jobs: BuildkiteJob[]): string {
  let latest = Date.parse(build.created_at);
  const consider = (value: string | null | undefined) => {
    const t = value ? Date.parse(value) : NaN;
    if (Number.isFinite(t) && t > latest) {
      latest = t;
    }
  };
  consider(build.scheduled_at);
  consider(build.started_at);
  consider(build.finished_at);
  for (const job of jobs) {
    consider(job.started_at);
    consider(job.finished_at);
    consider(job.unblocked_at);
  }
  return toInstant(latest);
}

/**
 * A Buildkite build as the provider-neutral model. Buildkite retries jobs
 * within the same build (a rebuild is a new build number), so every build is
 * attempt 1, and its provider run id is its number.
 */
export function toProviderRun(
  build: BuildkiteBuild,
  options: { workflow: string; jobs?: BuildkiteJob[] },
): CiProviderRun {
  const { status, providerStatus } = mapBuildkiteStatus(text(build.state, 64));
  const createdAt = iso(build.created_at)!;
  const startedAt = iso(build.started_at);
  const finishedAt = isFinalStatus(status) ? iso(build.finished_at) : undefined;
  return {
    providerRunId: String(build.number),
    workflow: text(build.pipeline?.name || options.workflow, 512),
    runNumber: build.number,
    attempt: 1,
    status,
    providerStatus,
    branch: text(build.branch || undefined, 512),
    commitSha: text(build.commit || undefined, 64),
    commitMessage: text(build.message, 65_536),
    actor: text(
      build.creator?.name ?? build.author?.username ?? build.author?.name,
      255,
    ),
    event: text(build.source, 64),
    url: build.web_url,
    createdAt,
    startedAt,
    finishedAt,
    durationMs: span(startedAt, finishedAt),
    queuedMs: span(createdAt, startedAt),
    updatedAt: lastChange(build, options.jobs ?? []),
  };
}

/** A Buildkite job as the provider-neutral model; Buildkite jobs have no steps. */
export function toJob(job: BuildkiteJob): CiJob {
  const mapped = mapBuildkiteStatus(text(job.state, 64), {
    passed: job.passed,
  });
  const startedAt = iso(job.started_at);
  const finishedAt = iso(job.finished_at);
  const name = job.name || job.label || job.step_key || job.type;
  return {
    id: job.id,
    name: text(name, 512),
    ...mapped,
    url: job.web_url ?? undefined,
    startedAt,
    finishedAt,
    durationMs: span(startedAt, finishedAt),
    runnerName: text(job.agent?.name ?? job.agent?.hostname, 255),
    steps: [],
  };
}

/** The work jobs of a build, in the build's order. */
export function toJobs(jobs: BuildkiteJob[]): CiJob[] {
  return workJobs(jobs).map(toJob);
}
