import { LoggerService } from '@backstage/backend-plugin-api';
import {
  CiJob,
  isFinalStatus,
  mapGithubStatus,
} from '@ci-experience/plugin-ci-experience-common';
import { CiProviderRun } from '@ci-experience/plugin-ci-experience-node';
import { z } from 'zod';

const isoDate = z.string().refine(s => !Number.isNaN(Date.parse(s)), {
  message: 'not a date',
});

/** The fields of a GitHub workflow run that the model needs. */
export const githubRunSchema = z.object({
  id: z.number().int(),
  name: z.string().nullish(),
  path: z.string().nullish(),
  run_number: z.number().int(),
  run_attempt: z.number().int().positive().nullish(),
  status: z.string().nullish(),
  conclusion: z.string().nullish(),
  head_branch: z.string().nullish(),
  head_sha: z.string().nullish(),
  display_title: z.string().nullish(),
  head_commit: z.object({ message: z.string().nullish() }).nullish(),
  actor: z.object({ login: z.string() }).nullish(),
  triggering_actor: z.object({ login: z.string() }).nullish(),
  event: z.string().nullish(),
  html_url: z.string(),
  created_at: isoDate,
  updated_at: isoDate.nullish(),
  run_started_at: isoDate.nullish(),
});

const githubStepSchema = z.object({
  name: z.string(),
  number: z.number().int(),
  status: z.string().nullish(),
  conclusion: z.string().nullish(),
  started_at: isoDate.nullish(),
  completed_at: isoDate.nullish(),
});

/** The fields of a GitHub job that the model needs. */
export const githubJobSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  status: z.string().nullish(),
  conclusion: z.string().nullish(),
  html_url: z.string().nullish(),
  started_at: isoDate.nullish(),
  completed_at: isoDate.nullish(),
  runner_name: z.string().nullish(),
  steps: z.array(githubStepSchema).nullish(),
});

function iso(value: string | null | undefined): string | undefined {
  return value ? new Date(value).toISOString() : undefined;
}

function span(from?: string, to?: string): number | undefined {
  if (!from || !to) {
    return undefined;
  }
  const ms = Date.parse(to) - Date.parse(from);
  return ms >= 0 ? ms : undefined;
}

/** A GitHub workflow run as the provider-neutral model. */
export function toProviderRun(
  run: z.infer<typeof githubRunSchema>,
): CiProviderRun {
  const { status, providerStatus } = mapGithubStatus(
    run.status,
    run.conclusion,
  );
  const createdAt = iso(run.created_at)!;
  const startedAt = iso(run.run_started_at);
  const updatedAt = iso(run.updated_at);
  // GitHub has no finish time on a run; its last update is the finish once final.
  const finishedAt = isFinalStatus(status) ? updatedAt : undefined;
  return {
    providerRunId: String(run.id),
    workflow: run.name || run.path || `workflow ${run.id}`,
    runNumber: run.run_number,
    attempt: run.run_attempt ?? 1,
    status,
    providerStatus,
    branch: run.head_branch ?? undefined,
    commitSha: run.head_sha ?? undefined,
    commitMessage: run.head_commit?.message ?? run.display_title ?? undefined,
    actor: run.triggering_actor?.login ?? run.actor?.login,
    event: run.event ?? undefined,
    url: run.html_url,
    createdAt,
    startedAt,
    finishedAt,
    durationMs: span(startedAt, finishedAt),
    queuedMs: span(createdAt, startedAt),
    updatedAt,
  };
}

/** A GitHub job as the provider-neutral model. */
export function toJob(job: z.infer<typeof githubJobSchema>): CiJob {
  const mapped = mapGithubStatus(job.status, job.conclusion);
  const startedAt = iso(job.started_at);
  const finishedAt = iso(job.completed_at);
  return {
    id: String(job.id),
    name: job.name,
    ...mapped,
    url: job.html_url ?? undefined,
    startedAt,
    finishedAt,
    durationMs: span(startedAt, finishedAt),
    runnerName: job.runner_name ?? undefined,
    steps: (job.steps ?? []).map(step => {
      const stepStart = iso(step.started_at);
      const stepEnd = iso(step.completed_at);
      return {
        number: step.number,
        name: step.name,
        ...mapGithubStatus(step.status, step.conclusion),
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
 */
export function parseItems<S extends z.ZodTypeAny>(
  schema: S,
  items: unknown,
  what: string,
  logger: LoggerService,
): z.infer<S>[] {
  if (!Array.isArray(items)) {
    logger.warn(`GitHub answered without a list of ${what}`);
    return [];
  }
  const out: z.infer<S>[] = [];
  for (const item of items) {
    const parsed = schema.safeParse(item);
    if (parsed.success) {
      out.push(parsed.data);
    } else {
      const id = (item as { id?: unknown })?.id;
      logger.warn(
        `Skipped a GitHub ${what} item with an unexpected shape (id ${String(
          id,
        )}): ${parsed.error.issues
          .map(i => `${i.path.join('.')}: ${i.message}`)
          .join('; ')}`,
      );
    }
  }
  return out;
}
