import { LoggerService } from '@backstage/backend-plugin-api';
import {
  CiJob,
  CiRunStatus,
  CiStep,
  isFinalStatus,
  mapJenkinsStageStatus,
  mapJenkinsStatus,
} from '@ci-experience/plugin-ci-experience-common';
import {
  CiProviderRun,
  endInRange,
  instantMillis,
  toInstant,
} from '@ci-experience/plugin-ci-experience-node';
import { z } from 'zod';
import { BUILD_NAMES_READ, BUILD_READ, treeOf } from './fields';

const NUL = String.fromCharCode(0);

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

/** Counters fit a 32-bit column; anything larger is not Jenkins'. */
const counter = z.number().int().min(0).max(2_147_483_647);
/** A time as milliseconds since the epoch, within 1970–9999. */
const millis = instantMillis;
/** A duration in milliseconds, within what a Date holds. */
const durationMillis = z.number().int().min(0).max(8_640_000_000_000_000);

/**
 * The build fields the provider asks for with `tree=` (see `fields.ts`).
 *
 * @public
 */
export const BUILD_FIELDS = treeOf(BUILD_READ);
/**
 * The same, and the names that make a workflow's label, for one build.
 *
 * @public
 */
export const ONE_BUILD_FIELDS = treeOf([...BUILD_READ, ...BUILD_NAMES_READ]);

/**
 * The fields of a Jenkins build that the model needs.
 *
 * @public
 */
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
    displayName: z.string().max(1024).nullish(),
    fullDisplayName: z.string().max(4096).nullish(),
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

/**
 * The Metrics plugin's `TimeInQueueAction`: how long the build waited in
 * the queue before it started (`queuingDurationMillis`, the wall time from
 * entering the queue to leaving it).
 */
const timeInQueueSchema = z.object({
  queuingDurationMillis: durationMillis,
});

/**
 * A step (flow node) of a stage: `stageFlowNodes` of a stage node's `wfapi/describe`.
 *
 * @public
 */
export const jenkinsFlowNodeSchema = z.object({
  id: z.string().max(64),
  name: z.string(),
  status: z.string().nullish(),
  parameterDescription: z.string().nullish(),
  startTimeMillis: millis.nullish().catch(undefined),
  durationMillis: durationMillis.nullish().catch(undefined),
  _links: z.object({ log: z.object({ href: z.string() }).nullish() }).nullish(),
});
export type JenkinsFlowNode = z.infer<typeof jenkinsFlowNodeSchema>;

/**
 * A stage of the Pipeline Stage View API's `wfapi/describe`.
 *
 * @public
 */
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

/**
 * A Git branch as Jenkins' Git plugin names it, without the remote's prefix.
 *
 * @public
 */
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
  let queuedMs: number | undefined;
  for (const action of actions ?? []) {
    const queue = timeInQueueSchema.safeParse(action);
    if (queue.success && queuedMs === undefined) {
      queuedMs = queue.data.queuingDurationMillis;
    }
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
  return { actor, event, sha, branch, queuedMs };
}

/** Throws OutOfRangeDateError for a time outside 1970–9999. */
function iso(ms: number | null | undefined): string | undefined {
  return ms ? toInstant(ms) : undefined;
}

/**
 * A Jenkins build as the provider-neutral model. `branchJob` is the branch
 * job of a multibranch project the build belongs to: its name is the
 * branch, and part of the run's id.
 *
 * @public
 */
export function toProviderRun(
  build: JenkinsBuild,
  options: { workflow: string; branchJob?: string; workflowLabel?: string },
): CiProviderRun {
  const mapped = mapJenkinsStatus({
    result: text(build.result, 64),
    building: build.building,
  });
  const { actor, event, sha, branch, queuedMs } = readActions(build.actions);
  const startedAt = iso(build.timestamp)!;
  // Queued before it started: entered the queue that long before.
  const queued =
    queuedMs !== undefined && build.timestamp - queuedMs >= 0
      ? queuedMs
      : undefined;
  const createdAt =
    queued !== undefined
      ? iso(build.timestamp - queued) ?? startedAt
      : startedAt;
  const final = isFinalStatus(mapped.status);
  const durationMs = final ? build.duration ?? undefined : undefined;
  const finishedAt =
    final && durationMs !== undefined
      ? iso(build.timestamp + durationMs)
      : undefined;
  return {
    providerRunId: providerRunIdOf(build.number, options.branchJob),
    workflow: text(options.workflow, 512),
    ...(options.workflowLabel
      ? { workflowLabel: text(options.workflowLabel, 512) }
      : {}),
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
    createdAt,
    startedAt,
    finishedAt,
    durationMs,
    queuedMs: queued,
    updatedAt: finishedAt ?? startedAt,
  };
}

/**
 * A queued item of a job: the build it becomes gets `nextBuildNumber`.
 *
 * @public
 */
export function toQueuedRun(options: {
  workflow: string;
  workflowLabel?: string;
  number: number;
  inQueueSince: number;
  url: string;
}): CiProviderRun {
  const createdAt = toInstant(options.inQueueSince);
  return {
    providerRunId: String(options.number),
    workflow: text(options.workflow, 512),
    ...(options.workflowLabel
      ? { workflowLabel: text(options.workflowLabel, 512) }
      : {}),
    runNumber: options.number,
    attempt: 1,
    ...mapJenkinsStatus({ queued: true }),
    url: options.url,
    createdAt,
    updatedAt: createdAt,
  };
}

/**
 * Pipeline stages as jobs, without steps (they come with the stage's log).
 * Within the run's times: a stage that starts before the run (clock skew)
 * starts with it, and one that ends after a finished run ends with it. A
 * stage Jenkins still calls running (or queued) in a finished run ends as
 * the run did: the run's status and finish; its raw status stays in
 * `providerStatus`. Stages have no queue time of their own in the Stage
 * View API, so `createdAt` and `queuedMs` stay unset.
 *
 * @public
 */
export function toJobs(
  stages: Array<z.infer<typeof jenkinsStageSchema>>,
  buildUrl: string,
  run?: Pick<CiProviderRun, 'status' | 'startedAt' | 'finishedAt'>,
): CiJob[] {
  const runStart = run?.startedAt ? Date.parse(run.startedAt) : undefined;
  const runFinal = run !== undefined && isFinalStatus(run.status);
  const runEnd =
    runFinal && run?.finishedAt ? Date.parse(run.finishedAt) : undefined;
  return stages.map(stage => {
    const mapped = mapJenkinsStageStatus(text(stage.status, 64));
    let start =
      stage.startTimeMillis && stage.startTimeMillis > 0
        ? stage.startTimeMillis
        : undefined;
    if (start !== undefined && runStart !== undefined && start < runStart) {
      start = runStart;
    }
    if (start !== undefined && runEnd !== undefined && start > runEnd) {
      start = runEnd;
    }
    const duration =
      stage.durationMillis !== null &&
      stage.durationMillis !== undefined &&
      stage.durationMillis >= 0
        ? stage.durationMillis
        : undefined;
    let status: CiRunStatus = mapped.status;
    let end: number | undefined;
    if (isFinalStatus(status)) {
      end =
        start !== undefined && duration !== undefined
          ? start + duration
          : undefined;
    } else if (runFinal) {
      // Jenkins has not closed the stage, but the build is over.
      status = run!.status;
      end = start !== undefined ? runEnd ?? start : undefined;
    }
    if (end !== undefined && runEnd !== undefined && end > runEnd) {
      end = runEnd;
    }
    if (end !== undefined && start !== undefined && end < start) {
      end = start;
    }
    const startedAt = iso(start);
    const finishedAt = startedAt ? iso(end) : undefined;
    return {
      id: text(stage.id, 64),
      name: text(stage.name, 512),
      status,
      providerStatus: mapped.providerStatus,
      url: `${buildUrl.replace(/\/?$/, '/')}execution/node/${encodeURIComponent(
        stage.id,
      )}/`,
      startedAt,
      finishedAt,
      durationMs:
        finishedAt && start !== undefined && end !== undefined
          ? end - start
          : undefined,
      runnerName: text(stage.execNode || undefined, 255),
    };
  });
}

/**
 * A stage's steps (its `stageFlowNodes`) as `CiStep`s: each node's
 * name with what it ran (`sh 'npm test'` is `Shell Script: npm test`), its
 * status and times. Steps still running in a stage that has finished end
 * with the stage, as its stages do with a run.
 *
 * @public
 */
export function toSteps(
  nodes: JenkinsFlowNode[],
  job?: Pick<CiJob, 'status' | 'finishedAt'>,
): CiStep[] {
  const jobFinal = job !== undefined && isFinalStatus(job.status);
  const jobEnd =
    jobFinal && job?.finishedAt ? Date.parse(job.finishedAt) : undefined;
  return nodes.map((node, i) => {
    const mapped = mapJenkinsStageStatus(text(node.status, 64));
    const start =
      node.startTimeMillis && node.startTimeMillis > 0
        ? node.startTimeMillis
        : undefined;
    let status = mapped.status;
    let end: number | undefined;
    if (isFinalStatus(status)) {
      end =
        start !== undefined &&
        node.durationMillis !== null &&
        node.durationMillis !== undefined
          ? start + node.durationMillis
          : undefined;
    } else if (jobFinal) {
      status = job!.status;
      end = start !== undefined ? jobEnd ?? start : undefined;
    }
    if (end !== undefined && jobEnd !== undefined && end > jobEnd) {
      end = Math.max(jobEnd, start ?? jobEnd);
    }
    const startedAt = iso(start);
    const finishedAt = startedAt ? iso(end) : undefined;
    return {
      number: i + 1,
      name: text(stepName(node), 512),
      status,
      providerStatus: mapped.providerStatus,
      startedAt,
      finishedAt,
      durationMs:
        finishedAt && start !== undefined && end !== undefined
          ? end - start
          : undefined,
    };
  });
}

/**
 * A flow node's name for people: `Shell Script: npm test`.
 *
 * @public
 */
export function stepName(
  node: Pick<JenkinsFlowNode, 'name' | 'parameterDescription'>,
): string {
  const what = node.parameterDescription?.trim();
  return what ? `${node.name}: ${what}` : node.name;
}

const ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
};

/**
 * A flow node's log as the Stage View API serves it (`wfapi/log`: HTML,
 * console notes rendered as tags) as plain text: tags dropped, entities
 * decoded.
 *
 * @public
 */
export function htmlLogToText(html: string): string {
  return html
    .replace(/<[^>]{0,2048}>/g, '')
    .replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,6});/gi, (whole, code) => {
      const lower = String(code).toLowerCase();
      if (lower.startsWith('#')) {
        const n = lower.startsWith('#x')
          ? parseInt(lower.slice(2), 16)
          : parseInt(lower.slice(1), 10);
        return n > 0 &&
          n <= 0x10ffff &&
          n !== 0 &&
          !(n >= 0xd800 && n <= 0xdfff)
          ? String.fromCodePoint(n)
          : '';
      }
      return Object.prototype.hasOwnProperty.call(ENTITIES, lower)
        ? ENTITIES[lower]
        : whole;
    });
}

/**
 * A job's name for people: its display name (`displayName`), where it
 * differs from the full path or the path has folders; undefined otherwise.
 *
 * @public
 */
export function workflowLabelOf(
  fullName: string,
  displayName: string | null | undefined,
): string | undefined {
  const label = displayName?.trim();
  if (!label) {
    return undefined;
  }
  return label === fullName ? undefined : label;
}

/**
 * The display name of the source's job from a build's `fullDisplayName`
 * (`Folder » Job » branch #7`): the build's own `displayName` cut off the
 * end, then the segment at the source's depth. Undefined when the names do
 * not split as the path does (a display name with ` » ` in it).
 *
 * @public
 */
export function jobDisplayNameOf(
  fullName: string,
  build: { displayName?: string | null; fullDisplayName?: string | null },
  branchJob: boolean,
): string | undefined {
  const full = build.fullDisplayName;
  const own = build.displayName;
  if (!full || !own || !full.endsWith(` ${own}`)) {
    return undefined;
  }
  const segments = full.slice(0, -own.length - 1).split(' » ');
  const depth = fullName.split('/').length;
  if (segments.length !== depth + (branchJob ? 1 : 0)) {
    return undefined;
  }
  return segments[depth - 1];
}

/**
 * A run's id: the build number, prefixed by the branch job in a multibranch project.
 *
 * @public
 */
export function providerRunIdOf(number: number, branchJob?: string): string {
  return branchJob === undefined ? String(number) : `${branchJob}#${number}`;
}

/**
 * The inverse of `providerRunIdOf`; undefined when it is not one.
 *
 * @public
 */
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

/**
 * A multibranch project's branch job is named after the branch, `/` encoded as `%2F`.
 *
 * @public
 */
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
 *
 * @public
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
