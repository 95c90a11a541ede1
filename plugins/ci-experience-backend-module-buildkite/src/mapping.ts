import {
  CiJob,
  CiJobKind,
  isFinalStatus,
  mapBuildkiteStatus,
} from '@ci-experience/plugin-ci-experience-common';
import {
  CiProviderRun,
  instantText,
  toInstant,
  toOptionalInstant,
  boundJobToRun,
  RunBounds,
} from '@ci-experience/plugin-ci-experience-node';
import { z } from 'zod';

const NUL = String.fromCharCode(0);

const date = instantText();

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

/** Build numbers fit a 32-bit column; anything larger is not Buildkite's. */
const counter = z.number().int().min(0).max(2_147_483_647);
const uuid = z.string().min(1).max(64);

const userSchema = z.object({
  id: z.string().nullish(),
  name: z.string().nullish(),
  username: z.string().nullish(),
  email: z.string().nullish(),
});

/**
 * A job embedded in a build (`jobs[]`), as the REST API and webhooks send it.
 *
 * @public
 */
export const buildkiteJobSchema = z.object({
  id: uuid,
  type: z.string().max(64),
  name: z.string().nullish(),
  label: z.string().nullish(),
  step_key: z.string().nullish(),
  group_key: z.string().nullish(),
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

/**
 * A build of `GET .../builds` or `GET .../builds/{number}`, or of a webhook.
 *
 * @public
 */
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

/**
 * The fields of `GET /organizations/{org}/pipelines/{pipeline}` that are read.
 *
 * @public
 */
export const buildkitePipelineSchema = z.object({
  slug: z.string().nullish(),
  name: z.string().nullish(),
  default_branch: z.string().nullish(),
});

/**
 * The fields of a build's artifact (`GET .../builds/{number}/artifacts`)
 * that test results read.
 *
 * @public
 */
export const buildkiteArtifactSchema = z.object({
  id: z.string().max(64).nullish(),
  job_id: z.string().max(64).nullish(),
  state: z.string().max(64).nullish(),
  path: z.string().min(1).max(4096),
  file_size: z.number().int().nonnegative(),
  download_url: webUrl,
});

export type BuildkiteBuild = z.infer<typeof buildkiteBuildSchema>;
export type BuildkiteArtifact = z.infer<typeof buildkiteArtifactSchema>;
export type BuildkiteJob = z.infer<typeof buildkiteJobSchema>;

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
  return toOptionalInstant(value);
}

function span(from?: string, to?: string): number | undefined {
  if (!from || !to) {
    return undefined;
  }
  const ms = Date.parse(to) - Date.parse(from);
  return ms >= 0 ? ms : undefined;
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
 *
 * @public
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

/**
 * What each Buildkite job `type` is shown as (REST "Job data model":
 * `script`, `waiter`, `manual`, `trigger`): a `wait` step, a `block` (or
 * `input`) step waiting for a person, a trigger of another pipeline.
 * Script jobs (and any type not listed) have no kind.
 *
 * @public
 */
export const BUILDKITE_JOB_KINDS: Readonly<Record<string, CiJobKind>> = {
  waiter: 'wait',
  manual: 'manual',
  trigger: 'trigger',
};

/** The name shown for a job Buildkite gives none (wait steps have none). */
const UNNAMED: Record<string, string> = {
  waiter: 'wait',
  manual: 'block',
  trigger: 'trigger',
};

/**
 * A Buildkite job as the provider-neutral model. Buildkite jobs have no
 * steps. `createdAt` is the job's `created_at`; its queue time the wait
 * from `runnable_at` (ready for an agent) to `started_at`; its group the
 * `group_key` of its group step (the REST API gives the key, not the
 * group's label); its kind from its `type`.
 *
 * @public
 */
export function toJob(job: BuildkiteJob): CiJob {
  const mapped = mapBuildkiteStatus(text(job.state, 64), {
    passed: job.passed,
  });
  const startedAt = iso(job.started_at);
  const finishedAt = isFinalStatus(mapped.status)
    ? iso(job.finished_at)
    : undefined;
  // An own-property read: a `type` such as "constructor" names no entry.
  const unnamed = Object.prototype.hasOwnProperty.call(UNNAMED, job.type)
    ? UNNAMED[job.type]
    : undefined;
  const name = job.name || job.label || job.step_key || unnamed || job.type;
  const kind = Object.prototype.hasOwnProperty.call(
    BUILDKITE_JOB_KINDS,
    job.type,
  )
    ? BUILDKITE_JOB_KINDS[job.type]
    : undefined;
  const group = text(job.group_key || undefined, 255);
  return {
    id: job.id,
    name: text(name, 512),
    ...mapped,
    url: job.web_url ?? undefined,
    startedAt,
    finishedAt,
    durationMs: span(startedAt, finishedAt),
    runnerName: text(job.agent?.name ?? job.agent?.hostname, 255),
    createdAt: iso(job.created_at),
    queuedMs: span(iso(job.runnable_at), startedAt),
    ...(group ? { group } : {}),
    ...(kind ? { kind } : {}),
    steps: [],
  };
}

/** Steps that every later step implicitly waits for: `wait` and `block` steps. */
function isBarrier(job: BuildkiteJob): boolean {
  return job.type === 'waiter' || job.type === 'manual';
}

/** Grace for clock skew when checking the implicit graph against times. */
const SKEW_MS = 1_000;

/**
 * The job graph of a build as Buildkite's REST API lets it be told. The
 * API sends no `depends_on` (neither the REST job nor go-buildkite's `Job`
 * has it), so `needs` holds the *implicit* dependencies of Buildkite's
 * scheduler: a `wait` or `block` step waits for every step since the
 * previous one, and every later step waits for it. A step with an explicit
 * `depends_on` may run before such a barrier; when a job started before a
 * job it would have waited for had finished, its `needs` is left out (the
 * graph is not what the times say) and the critical path falls back to
 * times for it.
 *
 * @public
 */
export function implicitNeeds(jobs: BuildkiteJob[]): Map<string, string[]> {
  const needs = new Map<string, string[]>();
  let barrier: string | undefined;
  let since: string[] = [];
  for (const job of jobs) {
    if (isBarrier(job)) {
      const before = barrier ? [barrier] : [];
      needs.set(job.id, since.length > 0 ? since : before);
      barrier = job.id;
      since = [];
    } else {
      needs.set(job.id, barrier ? [barrier] : []);
      since.push(job.id);
    }
  }
  // When each job's dependants could start: its finish, or, for a barrier,
  // the last finish of what it waits for (and its unblocking).
  const readyAt = new Map<string, number | undefined>();
  const time = (v: string | null | undefined) => {
    const t = v ? Date.parse(v) : NaN;
    return Number.isFinite(t) ? t : undefined;
  };
  for (const job of jobs) {
    if (isBarrier(job)) {
      let ready: number | undefined = time(job.unblocked_at) ?? -Infinity;
      for (const n of needs.get(job.id) ?? []) {
        const r = readyAt.get(n);
        ready =
          r === undefined || ready === undefined
            ? undefined
            : Math.max(ready, r);
      }
      readyAt.set(job.id, ready);
    } else {
      readyAt.set(job.id, time(job.finished_at));
    }
  }
  for (const job of jobs) {
    const started = time(job.started_at);
    if (started === undefined) {
      continue;
    }
    const broken = (needs.get(job.id) ?? []).some(n => {
      const r = readyAt.get(n);
      return r === undefined || started + SKEW_MS < r;
    });
    if (broken) {
      needs.delete(job.id);
    }
  }
  return needs;
}

/**
 * The jobs of a build, in the build's order: script jobs and the `wait`,
 * `block` and `trigger` steps, each with its kind, and `needs` from
 * `implicitNeeds`. With the run, each job is bounded by it (see
 * `boundJobToRun`).
 *
 * @public
 */
export function toJobs(jobs: BuildkiteJob[], run?: RunBounds): CiJob[] {
  const needs = implicitNeeds(jobs);
  return jobs.map(raw => {
    const job = toJob(raw);
    const n = needs.get(raw.id);
    const withNeeds = n ? { ...job, needs: n } : job;
    return run ? boundJobToRun(withNeeds, run) : withNeeds;
  });
}

/**
 * Every field of the REST API's build and job JSON this provider reads, as
 * `path: JSON type` (`[]` for array items). The contract test checks each is
 * in the recorded fixtures and in the simulator's answers with that type.
 *
 * @public
 */
export const BUILDKITE_READ_FIELDS = {
  build: {
    id: 'string',
    number: 'number',
    state: 'string',
    web_url: 'string',
    message: 'string',
    commit: 'string',
    branch: 'string',
    source: 'string',
    'creator.name': 'string',
    created_at: 'string',
    scheduled_at: 'string',
    started_at: 'string',
    finished_at: 'string',
    'pipeline.name': 'string',
    jobs: 'array',
  },
  /** Fields of a `script` job. */
  job: {
    id: 'string',
    type: 'string',
    name: 'string',
    step_key: 'string',
    group_key: 'string',
    state: 'string',
    web_url: 'string',
    'agent.name': 'string',
    created_at: 'string',
    runnable_at: 'string',
    started_at: 'string',
    finished_at: 'string',
    retried: 'boolean',
  },
  /** Fields of a `manual` (block) job. */
  manual: {
    id: 'string',
    type: 'string',
    label: 'string',
    state: 'string',
    unblocked_at: 'string',
  },
  /** Fields of a `waiter` job. */
  waiter: { id: 'string', type: 'string' },
  /** Fields of a `trigger` job. */
  trigger: {
    id: 'string',
    type: 'string',
    name: 'string',
    state: 'string',
    started_at: 'string',
    finished_at: 'string',
  },
  pipeline: { default_branch: 'string' },
} as const;
