import { LoggerService } from '@backstage/backend-plugin-api';
import {
  CiJob,
  isFinalStatus,
  mapJenkinsStageStatus,
  mapJenkinsStatus,
} from '@ci-experience/plugin-ci-experience-common';
import { CiProviderRun } from '@ci-experience/plugin-ci-experience-node';
import { z } from 'zod';
import { endInRange, instantMillis } from '../../service/instantSchema';
import { toInstant } from '../../service/instants';

const NUL = String.fromCharCode(0);

/** A page link at the provider: only http(s), never `javascript:` and the like. */
export const webUrl = z
  .string()
  .max(2048)
  .refine(u => /^https?:\/\/\S+$/i.test(u) && !u.includes(NUL), {
    message: 'not an http(s) URL',
  });

/** Counters fit a 32-bit column; anything larger is not Jenkins'. */
const counter = z.number().int().min(0).max(2_147_483_647);
/** A time as milliseconds since the epoch, within 1970–9999. */
const millis = instantMillis;
/** A duration in milliseconds, within what a Date holds. */
const durationMillis = z.number().int().min(0).max(8_640_000_000_000_000);

/** The build fields the provider asks for with `tree=`. */
export const BUILD_FIELDS =
  'number,url,result,building,timestamp,duration,queueId,actions[causes[userId,shortDescription],lastBuiltRevision[SHA1,branch[name]]]';

/** The fields of a Jenkins build that the model needs. */
export const jenkinsBuildSchema = z
  .object({
    _class: z.string().nullish(),
    number: counter,
    url: webUrl,
    result: z.string().nullish(),
    building: z.boolean().nullish(),
    timestamp: millis,
    duration: durationMillis.nullish(),
    queueId: z.number().int().nullish(),
    actions: z.array(z.unknown()).nullish(),
  })
  .superRefine((build, ctx) =>
    endInRange(ctx, ['duration'], build.timestamp, build.duration),
  );
export type JenkinsBuild = z.infer<typeof jenkinsBuildSchema>;

const causeActionSchema = z.object({
  causes: z.array(
    z.object({
      _class: z.string().nullish(),
      userId: z.string().nullish(),
      shortDescription: z.string().nullish(),
    }),
  ),
});

const buildDataSchema = z.object({
  lastBuiltRevision: z.object({
    SHA1: z.string().nullish(),
    branch: z.array(z.object({ name: z.string().nullish() })).nullish(),
  }),
});

/** A stage of the Pipeline Stage View API's `wfapi/describe`. */
export const jenkinsStageSchema = z
  .object({
    id: z.string().max(64),
    name: z.string(),
    status: z.string().nullish(),
    execNode: z.string().nullish(),
    startTimeMillis: millis.nullish(),
    durationMillis: z.number().int().nullish(),
  })
  .superRefine((stage, ctx) =>
    endInRange(
      ctx,
      ['durationMillis'],
      stage.startTimeMillis,
      stage.durationMillis,
    ),
  );

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

const CAUSE_EVENTS: Readonly<Record<string, string>> = {
  'hudson.model.Cause$UserIdCause': 'manual',
  'hudson.model.Cause$UpstreamCause': 'upstream',
  'hudson.model.Cause$RemoteCause': 'remote',
  'hudson.triggers.SCMTrigger$SCMTriggerCause': 'push',
  'hudson.triggers.TimerTrigger$TimerTriggerCause': 'schedule',
  'jenkins.branch.BranchIndexingCause': 'branch-indexing',
  'jenkins.branch.BranchEventCause': 'push',
  'com.cloudbees.jenkins.GitHubPushCause': 'push',
  'org.jenkinsci.plugins.workflow.cps.replay.ReplayCause': 'replay',
};

/** A Git branch as Jenkins' Git plugin names it, without the remote's prefix. */
export function branchName(raw: string | null | undefined): string | undefined {
  if (!raw) {
    return undefined;
  }
  return raw.replace(/^(refs\/remotes\/[^/]+\/|refs\/heads\/|origin\/)/, '');
}

/** What a build's actions say: who or what started it, and which commit it built. */
function readActions(actions: unknown[] | null | undefined) {
  let actor: string | undefined;
  let event: string | undefined;
  let sha: string | undefined;
  let branch: string | undefined;
  for (const action of actions ?? []) {
    const causes = causeActionSchema.safeParse(action);
    if (causes.success && event === undefined) {
      for (const cause of causes.data.causes) {
        actor ??= cause.userId ?? undefined;
        const cls = cause._class ?? '';
        if (
          event === undefined &&
          Object.prototype.hasOwnProperty.call(CAUSE_EVENTS, cls)
        ) {
          event = CAUSE_EVENTS[cls];
        }
      }
    }
    // The first checkout is the job's own; later ones are shared libraries.
    const data = buildDataSchema.safeParse(action);
    if (data.success && sha === undefined) {
      sha = data.data.lastBuiltRevision.SHA1 ?? undefined;
      branch = branchName(data.data.lastBuiltRevision.branch?.[0]?.name);
    }
  }
  return { actor, event, sha, branch };
}

/** Throws OutOfRangeDateError for a time outside 1970–9999. */
function iso(ms: number | null | undefined): string | undefined {
  return ms ? toInstant(ms) : undefined;
}

/**
 * A Jenkins build as the provider-neutral model. `branchJob` is the branch
 * job of a multibranch project the build belongs to: its name is the
 * branch, and part of the run's id.
 */
export function toProviderRun(
  build: JenkinsBuild,
  options: { workflow: string; branchJob?: string },
): CiProviderRun {
  const mapped = mapJenkinsStatus({
    result: text(build.result, 64),
    building: build.building,
  });
  const { actor, event, sha, branch } = readActions(build.actions);
  const startedAt = iso(build.timestamp)!;
  const final = isFinalStatus(mapped.status);
  const durationMs = final ? build.duration ?? undefined : undefined;
  const finishedAt =
    final && durationMs !== undefined
      ? iso(build.timestamp + durationMs)
      : undefined;
  return {
    providerRunId: providerRunIdOf(build.number, options.branchJob),
    workflow: text(options.workflow, 512),
    runNumber: build.number,
    attempt: 1,
    ...mapped,
    branch: text(
      options.branchJob !== undefined
        ? branchOfJobName(options.branchJob)
        : branch,
      512,
    ),
    commitSha: text(sha, 64),
    actor: text(actor, 255),
    event: text(event, 64),
    url: build.url,
    createdAt: startedAt,
    startedAt,
    finishedAt,
    durationMs,
    queuedMs: undefined,
    updatedAt: finishedAt ?? startedAt,
  };
}

/** A queued item of a job: the build it becomes gets `nextBuildNumber`. */
export function toQueuedRun(options: {
  workflow: string;
  number: number;
  inQueueSince: number;
  url: string;
}): CiProviderRun {
  const createdAt = toInstant(options.inQueueSince);
  return {
    providerRunId: String(options.number),
    workflow: text(options.workflow, 512),
    runNumber: options.number,
    attempt: 1,
    ...mapJenkinsStatus({ queued: true }),
    url: options.url,
    createdAt,
    updatedAt: createdAt,
  };
}

/** Pipeline stages as jobs, without steps. */
export function toJobs(
  stages: Array<z.infer<typeof jenkinsStageSchema>>,
  buildUrl: string,
): CiJob[] {
  return stages.map(stage => {
    const mapped = mapJenkinsStageStatus(text(stage.status, 64));
    const startedAt = iso(stage.startTimeMillis);
    const duration =
      stage.durationMillis !== null &&
      stage.durationMillis !== undefined &&
      stage.durationMillis >= 0
        ? stage.durationMillis
        : undefined;
    const finishedAt =
      isFinalStatus(mapped.status) && startedAt && duration !== undefined
        ? iso(stage.startTimeMillis! + duration)
        : undefined;
    return {
      id: text(stage.id, 64),
      name: text(stage.name, 512),
      ...mapped,
      url: `${buildUrl.replace(/\/?$/, '/')}execution/node/${encodeURIComponent(
        stage.id,
      )}/`,
      startedAt,
      finishedAt,
      durationMs: finishedAt ? duration : undefined,
      runnerName: text(stage.execNode || undefined, 255),
    };
  });
}

/** A run's id: the build number, prefixed by the branch job in a multibranch project. */
export function providerRunIdOf(number: number, branchJob?: string): string {
  return branchJob === undefined ? String(number) : `${branchJob}#${number}`;
}

/** The inverse of {@link providerRunIdOf}; undefined when it is not one. */
export function parseProviderRunId(
  id: string,
): { number: number; branchJob?: string } | undefined {
  const hash = id.lastIndexOf('#');
  const numberText = hash < 0 ? id : id.slice(hash + 1);
  if (!/^\d{1,10}$/.test(numberText)) {
    return undefined;
  }
  const number = Number(numberText);
  if (hash < 0) {
    return { number };
  }
  const branchJob = id.slice(0, hash);
  return branchJob ? { number, branchJob } : undefined;
}

/** A multibranch project's branch job is named after the branch, `/` encoded as `%2F`. */
export function branchOfJobName(jobName: string): string {
  try {
    return decodeURIComponent(jobName);
  } catch {
    return jobName;
  }
}

/**
 * Parses a list of Jenkins items, dropping (with a clear log line) any item
 * whose shape is not Jenkins', so that one odd item never loses the page.
 */
export function parseItems<S extends z.ZodTypeAny>(
  schema: S,
  items: unknown,
  what: string,
  logger: LoggerService,
): z.infer<S>[] {
  if (items === undefined || items === null) {
    return [];
  }
  if (!Array.isArray(items)) {
    logger.warn(`Jenkins answered without a list of ${what}`);
    return [];
  }
  const out: z.infer<S>[] = [];
  for (const item of items) {
    const parsed = schema.safeParse(item);
    if (parsed.success) {
      out.push(parsed.data);
    } else {
      const raw = item as { number?: unknown; id?: unknown } | null;
      logger.warn(
        `Skipped a Jenkins ${what} item with an unexpected shape (${String(
          raw?.number ?? raw?.id,
        ).slice(0, 40)}): ${parsed.error.issues
          .slice(0, 5)
          .map(i => `${i.path.join('.')}: ${i.message}`)
          .join('; ')}`,
      );
    }
  }
  return out;
}
