import {
  CiJob,
  isFinalStatus,
  mapGithubStatus,
} from '@ci-experience/plugin-ci-experience-common';
import {
  CiProviderRun,
  itemParserFor,
  instantText,
  toOptionalInstant,
} from '@ci-experience/plugin-ci-experience-node';
import { z } from 'zod';

const NUL = String.fromCharCode(0);

const isoDate = instantText();

/** A page link at the provider: only http(s), never `javascript:` and the like. */
const webUrl = z
  .string()
  .max(2048)
  .refine(u => /^https?:\/\/\S+$/i.test(u) && !u.includes(NUL), {
    message: 'not an http(s) URL',
  });

/** GitHub's counters fit a 32-bit column; anything larger is not GitHub's. */
const counter = z.number().int().min(0).max(2_147_483_647);

/**
 * The fields of a GitHub workflow run that the model needs.
 *
 * @public
 */
export const githubRunSchema = z.object({
  id: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  name: z.string().nullish(),
  path: z.string().nullish(),
  run_number: counter,
  run_attempt: counter.positive().nullish(),
  status: z.string().nullish(),
  conclusion: z.string().nullish(),
  head_branch: z.string().nullish(),
  head_sha: z.string().nullish(),
  display_title: z.string().nullish(),
  head_commit: z.object({ message: z.string().nullish() }).nullish(),
  actor: z.object({ login: z.string() }).nullish(),
  triggering_actor: z.object({ login: z.string() }).nullish(),
  event: z.string().nullish(),
  html_url: webUrl,
  created_at: isoDate,
  updated_at: isoDate.nullish(),
  run_started_at: isoDate.nullish(),
});

const githubStepSchema = z.object({
  name: z.string(),
  number: counter,
  status: z.string().nullish(),
  conclusion: z.string().nullish(),
  started_at: isoDate.nullish(),
  completed_at: isoDate.nullish(),
});

/**
 * The fields of a GitHub job that the model needs.
 *
 * @public
 */
export const githubJobSchema = z.object({
  id: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  name: z.string(),
  status: z.string().nullish(),
  conclusion: z.string().nullish(),
  html_url: webUrl.nullish(),
  created_at: isoDate.nullish(),
  started_at: isoDate.nullish(),
  completed_at: isoDate.nullish(),
  runner_name: z.string().nullish(),
  steps: z.array(githubStepSchema).nullish(),
});

/**
 * The fields of a workflow run's artifact (`GET .../actions/runs/{run_id}/artifacts`)
 * that test results read.
 *
 * @public
 */
export const githubArtifactSchema = z.object({
  id: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  name: z.string().max(1024),
  size_in_bytes: z.number().int().nonnegative(),
  expired: z.boolean().nullish(),
});

export type GithubArtifact = z.infer<typeof githubArtifactSchema>;

/**
 * Text as the database can hold it: no NUL (PostgreSQL refuses it) and no
 * longer than its column, so one odd value never fails a page of runs.
 */
function text(value: string, max: number): string;
function text(
  value: string | null | undefined,
  max: number,
): string | undefined;
function text(value: string | null | undefined, max: number) {
  if (value === null || value === undefined) {
    return undefined;
  }
  const clean = value.split(NUL).join('');
  return clean.length > max ? clean.slice(0, max) : clean;
}

/** Throws OutOfRangeDateError for a time outside 1970–9999. */
function iso(value: string | null | undefined): string | undefined {
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
 * A GitHub workflow run as the provider-neutral model.
 *
 * @public
 */
export function toProviderRun(
  run: z.infer<typeof githubRunSchema>,
): CiProviderRun {
  const { status, providerStatus } = mapGithubStatus(
    text(run.status, 64),
    text(run.conclusion, 64),
  );
  // A re-run keeps the run's `created_at` and gets a new `run_started_at`:
  // the attempt starts then. Its queue time is read from its jobs (the
  // sync's `attemptQueueMs`), never from the first attempt's creation.
  const createdAt = iso(run.created_at)!;
  const startedAt = iso(run.run_started_at);
  const updatedAt = iso(run.updated_at);
  // GitHub has no finish time on a run; its last update is the finish once final.
  const finishedAt = isFinalStatus(status) ? updatedAt : undefined;
  return {
    providerRunId: String(run.id),
    workflow: text(run.name || run.path || `workflow ${run.id}`, 512),
    // GitHub adds `@ref` to the path of a called workflow.
    workflowPath: text(run.path?.replace(/@.*$/, ''), 512) || undefined,
    runNumber: run.run_number,
    attempt: run.run_attempt ?? 1,
    status,
    providerStatus,
    branch: text(run.head_branch, 512),
    commitSha: text(run.head_sha, 64),
    commitMessage: text(run.head_commit?.message ?? run.display_title, 65_536),
    actor: text(run.triggering_actor?.login ?? run.actor?.login, 255),
    event: text(run.event, 64),
    url: run.html_url,
    createdAt,
    startedAt,
    finishedAt,
    durationMs: span(startedAt, finishedAt),
    updatedAt,
  };
}

/**
 * A GitHub job as the provider-neutral model.
 *
 * @public
 */
export function toJob(job: z.infer<typeof githubJobSchema>): CiJob {
  const mapped = mapGithubStatus(
    text(job.status, 64),
    text(job.conclusion, 64),
  );
  const createdAt = iso(job.created_at);
  // GitHub gives a queued job its creation as `started_at`: not a start.
  const startedAt =
    mapped.status === 'queued' ? undefined : iso(job.started_at);
  const finishedAt = iso(job.completed_at);
  return {
    id: String(job.id),
    name: text(job.name, 512),
    ...mapped,
    url: job.html_url ?? undefined,
    createdAt,
    queuedMs: span(createdAt, startedAt),
    startedAt,
    finishedAt,
    durationMs: span(startedAt, finishedAt),
    runnerName: text(job.runner_name, 255),
    steps: (job.steps ?? []).map(step => {
      const stepStart = iso(step.started_at);
      const stepEnd = iso(step.completed_at);
      return {
        number: step.number,
        name: text(step.name, 512),
        ...mapGithubStatus(text(step.status, 64), text(step.conclusion, 64)),
        startedAt: stepStart,
        finishedAt: stepEnd,
        durationMs: span(stepStart, stepEnd),
      };
    }),
  };
}

/**
 * Parses a list of GitHub items, dropping (with a clear log line) any item
 * whose shape is not GitHub's, so that one odd item never loses the page.
 *
 * @public
 */
export const parseItems = itemParserFor('GitHub');
