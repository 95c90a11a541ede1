import {
  CiJob,
  CiStep,
  isFinalStatus,
  mapCircleciStatus,
} from '@ci-experience/plugin-ci-experience-common';
import {
  CiProviderRun,
  CiTestCaseResult,
  itemParserFor,
  instantText,
  toInstant,
  toOptionalInstant,
} from '@ci-experience/plugin-ci-experience-node';
import { z } from 'zod';

const NUL = String.fromCharCode(0);

/**
 * CircleCI's ids are UUIDs; anything used in a request path must be this plain.
 *
 * @public
 */
export const circleciId = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, {
  message: 'not a CircleCI id',
});

const date = instantText();

/** Pipeline and job numbers fit a 32-bit column; anything larger is not CircleCI's. */
const counter = z.number().int().min(0).max(2_147_483_647);

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

/**
 * A pipeline of `GET /project/{slug}/pipeline` or `GET /pipeline/{id}`.
 *
 * @public
 */
export const circleciPipelineSchema = z.object({
  id: circleciId,
  number: counter,
  state: z.string().nullish(),
  project_slug: z.string().nullish(),
  created_at: date,
  updated_at: date.nullish(),
  trigger: z
    .object({
      type: z.string().nullish(),
      actor: z.object({ login: z.string().nullish() }).nullish(),
    })
    .nullish(),
  vcs: z
    .object({
      branch: z.string().nullish(),
      tag: z.string().nullish(),
      revision: z.string().nullish(),
      commit: z
        .object({
          subject: z.string().nullish(),
          body: z.string().nullish(),
        })
        .nullish(),
    })
    .nullish(),
});
export type CircleciPipeline = z.infer<typeof circleciPipelineSchema>;

/**
 * A workflow of `GET /pipeline/{id}/workflow` or `GET /workflow/{id}`.
 *
 * @public
 */
export const circleciWorkflowSchema = z.object({
  id: circleciId,
  name: z.string(),
  status: z.string().nullish(),
  pipeline_id: circleciId,
  pipeline_number: counter.nullish(),
  project_slug: z.string().nullish(),
  tag: z.string().nullish(),
  created_at: date,
  stopped_at: date.nullish(),
});
export type CircleciWorkflow = z.infer<typeof circleciWorkflowSchema>;

/**
 * A job of `GET /workflow/{id}/job`.
 *
 * @public
 */
export const circleciJobSchema = z.object({
  id: circleciId,
  name: z.string(),
  status: z.string().nullish(),
  type: z.string().nullish(),
  job_number: counter.nullish(),
  started_at: date.nullish(),
  stopped_at: date.nullish(),
  /** The ids of the jobs of the same workflow this job depends on. */
  dependencies: z.array(z.string().max(64)).max(1000).nullish(),
});
export type CircleciJob = z.infer<typeof circleciJobSchema>;

/**
 * The fields of API v1.1's job details
 * (`GET /api/v1.1/project/:vcs/:org/:repo/:build_num`) that are read: the
 * job's times and its steps, each with its actions (one per parallel
 * container).
 *
 * @public
 */
export const circleciV1JobSchema = z.object({
  queued_at: date.nullish(),
  start_time: date.nullish(),
  stop_time: date.nullish(),
  steps: z
    .array(
      z.object({
        name: z.string().nullish(),
        actions: z
          .array(
            z.object({
              name: z.string().nullish(),
              status: z.string().nullish(),
              start_time: date.nullish(),
              end_time: date.nullish(),
              run_time_millis: z.number().nullish(),
              has_output: z.boolean().nullish(),
              output_url: z.string().url().max(4096).nullish(),
            }),
          )
          .nullish(),
      }),
    )
    .nullish(),
});
export type CircleciV1Job = z.infer<typeof circleciV1JobSchema>;

/**
 * The fields of API v2's job details (`GET /project/{slug}/job/{number}`) that are read.
 *
 * @public
 */
export const circleciJobDetailsSchema = z.object({
  queued_at: date.nullish(),
  started_at: date.nullish(),
});
export type CircleciJobDetails = z.infer<typeof circleciJobDetailsSchema>;

/**
 * What the details of a job add to it: times and, from API v1.1, steps.
 *
 * @public
 */
export interface CircleciJobExtra {
  /** When the job was queued. */
  queuedAt?: string | null;
  /** When it started, as the details say. */
  startedAt?: string | null;
  steps?: CircleciV1Job['steps'];
}

/**
 * The fields of `GET /project/{slug}` that are read.
 *
 * @public
 */
export const circleciProjectSchema = z.object({
  slug: z.string().nullish(),
  vcs_info: z.object({ default_branch: z.string().nullish() }).nullish(),
});

/**
 * One page of a CircleCI list: `items` and `next_page_token`.
 *
 * @public
 */
export const circleciPageSchema = z.object({
  items: z.array(z.unknown()),
  next_page_token: z.string().nullish(),
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
  return toOptionalInstant(value);
}

export function span(from?: string, to?: string): number | undefined {
  if (!from || !to) {
    return undefined;
  }
  const ms = Date.parse(to) - Date.parse(from);
  return ms >= 0 ? ms : undefined;
}

/**
 * Parses a list of CircleCI items, dropping odd ones with a log line.
 *
 * @public
 */
export const parseItems = itemParserFor('CircleCI');

/**
 * Where run and job links point, and which project they are of.
 *
 * @public
 */
export interface CircleciLinks {
  /** The web app's base, e.g. `https://app.circleci.com`. */
  appBaseUrl: string;
  /** The project slug, e.g. `gh/org/repo`. */
  slug: string;
}

/** The project's path in the web app: `github/org/repo`, `bitbucket/org/repo` or `circleci/<org>/<project>`. */
function appSlug(slug: string): string {
  const [vcs, ...rest] = slug.split('/');
  let long = vcs;
  if (vcs === 'gh') {
    long = 'github';
  } else if (vcs === 'bb') {
    long = 'bitbucket';
  }
  return [long, ...rest].map(encodeURIComponent).join('/');
}

export function pipelineUrl(links: CircleciLinks, number: number): string {
  return `${links.appBaseUrl}/pipelines/${appSlug(links.slug)}/${number}`;
}

export function workflowUrl(
  links: CircleciLinks,
  number: number,
  workflowId: string,
): string {
  return `${pipelineUrl(links, number)}/workflows/${workflowId}`;
}

/**
 * The prefix of the provider run id of a pipeline shown without a workflow.
 *
 * @public
 */
export const PIPELINE_RUN_PREFIX = 'pipeline-';
/**
 * The name a pipeline without a workflow is listed under.
 *
 * @public
 */
export const PIPELINE_RUN_NAME = 'pipeline';

function commitMessageOf(pipeline: CircleciPipeline): string | undefined {
  const commit = pipeline.vcs?.commit;
  if (!commit?.subject) {
    return undefined;
  }
  return text(
    commit.body ? `${commit.subject}\n\n${commit.body}` : commit.subject,
    65_536,
  );
}

function common(pipeline: CircleciPipeline) {
  return {
    runNumber: pipeline.number,
    attempt: 1,
    branch: pipeline.vcs?.tag ? undefined : text(pipeline.vcs?.branch, 512),
    commitSha: text(pipeline.vcs?.revision, 64),
    commitMessage: commitMessageOf(pipeline),
    actor: text(pipeline.trigger?.actor?.login, 255),
    event: text(pipeline.trigger?.type, 64),
  };
}

/**
 * One workflow of a pipeline as the provider-neutral run: the workflow's
 * name is the run's workflow, the pipeline's number its run number. A
 * re-run of a workflow is a new workflow (a new id) in the same pipeline, so
 * it is a run of its own, attempt 1, with the same number and name.
 * CircleCI has no start time for a workflow: a workflow that is not queued
 * started when it was created. While a workflow is not final its last
 * change is unknown, so `updatedAt` is `now`: every sync re-reads its jobs.
 *
 * @public
 */
export function toProviderRun(
  pipeline: CircleciPipeline,
  workflow: CircleciWorkflow,
  links: CircleciLinks,
  now: number = Date.now(),
): CiProviderRun {
  const { status, providerStatus } = mapCircleciStatus(
    'workflow',
    text(workflow.status, 64),
  );
  const createdAt = iso(workflow.created_at)!;
  const final = isFinalStatus(status);
  const finishedAt = final ? iso(workflow.stopped_at) : undefined;
  const startedAt = status === 'queued' ? undefined : createdAt;
  return {
    providerRunId: workflow.id,
    workflow: text(workflow.name, 512),
    ...common(pipeline),
    status,
    providerStatus,
    url: workflowUrl(links, pipeline.number, workflow.id),
    createdAt,
    startedAt,
    finishedAt,
    durationMs: span(startedAt, finishedAt),
    queuedMs: span(iso(pipeline.created_at), createdAt),
    updatedAt: final ? finishedAt ?? createdAt : toInstant(now),
  };
}

/**
 * A pipeline that has no workflow, shown as a run of its own only when it is
 * `errored` (its config could not be processed, so no workflow will ever
 * come); other states without workflows are left out until workflows exist.
 *
 * @public
 */
export function toPipelineRun(
  pipeline: CircleciPipeline,
  links: CircleciLinks,
): CiProviderRun {
  const { status, providerStatus } = mapCircleciStatus(
    'pipeline',
    text(pipeline.state, 64),
  );
  const createdAt = iso(pipeline.created_at)!;
  const final = isFinalStatus(status);
  const updatedAt = iso(pipeline.updated_at) ?? createdAt;
  return {
    providerRunId: `${PIPELINE_RUN_PREFIX}${pipeline.id}`,
    workflow: PIPELINE_RUN_NAME,
    ...common(pipeline),
    status,
    providerStatus,
    url: pipelineUrl(links, pipeline.number),
    createdAt,
    finishedAt: final ? updatedAt : undefined,
    updatedAt,
  };
}

/**
 * The steps of API v1.1's job details: one per step, from its first action
 * (the first parallel container's), its status, start and end, and its
 * duration from `run_time_millis` when the times are missing.
 *
 * @public
 */
export function toSteps(steps: CircleciV1Job['steps']): CiStep[] {
  const out: CiStep[] = [];
  for (const step of steps ?? []) {
    const action = step.actions?.[0];
    if (!action) {
      continue;
    }
    const mapped = mapCircleciStatus('job', text(action.status, 64));
    const startedAt = iso(action.start_time);
    const finishedAt = iso(action.end_time);
    const ms = span(startedAt, finishedAt);
    out.push({
      number: out.length + 1,
      name: text(action.name ?? step.name ?? 'step', 512),
      ...mapped,
      startedAt,
      finishedAt,
      durationMs:
        ms ??
        (typeof action.run_time_millis === 'number' &&
        action.run_time_millis >= 0
          ? action.run_time_millis
          : undefined),
    });
  }
  return out;
}

/**
 * A CircleCI job as the provider-neutral model: `needs` from the
 * workflow's `dependencies`, kind `manual` for an approval job; with its
 * details, `createdAt` (`queued_at`), the queue time (`queued_at` to the
 * start) and, from API v1.1, its steps.
 *
 * @public
 */
export function toJob(
  job: CircleciJob,
  links: CircleciLinks,
  pipelineNumber: number,
  workflowId: string,
  extra: CircleciJobExtra = {},
): CiJob {
  const mapped = mapCircleciStatus('job', text(job.status, 64));
  const startedAt = iso(job.started_at) ?? iso(extra.startedAt);
  const finishedAt = isFinalStatus(mapped.status)
    ? iso(job.stopped_at)
    : undefined;
  const queuedAt = iso(extra.queuedAt);
  const dependencies = job.dependencies?.filter(
    d => circleciId.safeParse(d).success,
  );
  return {
    id: job.id,
    name: text(job.name, 512),
    ...mapped,
    url:
      typeof job.job_number === 'number'
        ? `${workflowUrl(links, pipelineNumber, workflowId)}/jobs/${
            job.job_number
          }`
        : undefined,
    startedAt,
    finishedAt,
    durationMs: span(startedAt, finishedAt),
    ...(queuedAt ? { createdAt: queuedAt } : {}),
    ...(queuedAt && startedAt ? { queuedMs: span(queuedAt, startedAt) } : {}),
    ...(dependencies ? { needs: dependencies } : {}),
    ...(job.type === 'approval' ? { kind: 'manual' as const } : {}),
    steps: extra.steps ? toSteps(extra.steps) : [],
  };
}

/**
 * The number of a job as `toJob` stored it: the last segment of its URL
 * (`…/workflows/<id>/jobs/<number>`), which `toJob` sets exactly when
 * CircleCI gave the job a `job_number` (a job that was queued or ran; an
 * approval or a job that never ran has none).
 *
 * @public
 */
export function jobNumberOf(job: CiJob): number | undefined {
  const match = /\/jobs\/(\d{1,10})$/.exec(job.url ?? '');
  const parsed = match ? counter.safeParse(Number(match[1])) : undefined;
  return parsed?.success ? parsed.data : undefined;
}

/**
 * One test of `GET /project/{slug}/{job-number}/tests`. The OpenAPI
 * description lists `message` (nullable), `source`, `run_time` (seconds),
 * `file`, `result`, `name` and `classname`; `file` may be missing and
 * `run_time` may come as a string (CircleCI's own API client accepts both).
 *
 * @public
 */
export const circleciTestSchema = z.object({
  name: z.string(),
  classname: z.string().nullish(),
  file: z.string().nullish(),
  result: z.string().nullish(),
  message: z.string().nullish(),
  source: z.string().nullish(),
  run_time: z.union([z.number(), z.string()]).nullish(),
});
export type CircleciTest = z.infer<typeof circleciTestSchema>;

/**
 * CircleCI's `result` of a test, as the provider-neutral status: `success`,
 * `failure` and `skipped` as CircleCI's clients read them, `error` after
 * JUnit's element of that name. `system-out` is also seen on passed tests
 * (Mozilla's reader of these results counted it as a success), apparently
 * the name of the only element of a JUnit test case that printed output;
 * `system-err` is taken alike. The OpenAPI description lists no values.
 */
const TEST_RESULTS = new Map<string, CiTestCaseResult['status']>([
  ['success', 'passed'],
  ['system-out', 'passed'],
  ['system-err', 'passed'],
  ['failure', 'failed'],
  ['error', 'error'],
  ['skipped', 'skipped'],
]);

/** The most characters of a test's message and output kept. */
const TEST_MESSAGE_MAX = 1_000;
const TEST_OUTPUT_MAX = 16_384;

/** The first non-empty line of a message, when it is long or has several lines. */
function headline(message: string): string {
  const trimmed = message.trim();
  if (trimmed.length <= TEST_MESSAGE_MAX && !trimmed.includes('\n')) {
    return trimmed;
  }
  const first = trimmed.split('\n').find(line => line.trim() !== '') ?? '';
  return text(first.trim(), TEST_MESSAGE_MAX);
}

/** `run_time` (seconds, a number or a numeric string) in milliseconds. */
function testDurationMs(runTime: CircleciTest['run_time']): number | undefined {
  const seconds =
    typeof runTime === 'string' && runTime.trim() !== ''
      ? Number(runTime)
      : runTime;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0
    ? Math.round(seconds * 1000)
    : undefined;
}

/**
 * One CircleCI test as a test case of the job `suite` (CircleCI keeps no
 * suite, so the job's name is the suite). A failure or an error has its
 * message's first line as `message` (the whole when it is one short line)
 * and the whole message as `output`; a skipped test has its message as
 * `message`; a passed test neither (CircleCI fills `message` of passes too).
 * A `result` of another value is kept as an `error` whose message names it.
 * Undefined for a test without a name.
 *
 * @public
 */
export function toTestCase(
  test: CircleciTest,
  suite: string,
): CiTestCaseResult | undefined {
  const name = text(test.name, 1_000);
  if (!name.trim()) {
    return undefined;
  }
  const result = text(test.result, 64) ?? '';
  const known = TEST_RESULTS.get(result);
  const status = known ?? 'error';
  const message = text(test.message, TEST_OUTPUT_MAX)?.trim() || undefined;
  const out: CiTestCaseResult = {
    suite,
    name,
    status,
  };
  const classname = text(test.classname, 1_000);
  if (classname) {
    out.classname = classname;
  }
  const file = text(test.file, 1_000);
  if (file) {
    out.file = file;
  }
  const durationMs = testDurationMs(test.run_time);
  if (durationMs !== undefined) {
    out.durationMs = durationMs;
  }
  if (!known) {
    out.message = `CircleCI reported the result ${JSON.stringify(result)}`;
    if (message) {
      out.output = message;
    }
  } else if ((status === 'failed' || status === 'error') && message) {
    out.message = headline(message);
    out.output = message;
  } else if (status === 'skipped' && message) {
    out.message = headline(message);
  }
  return out;
}

/**
 * Every field of CircleCI's answers this provider reads, as
 * `path: JSON type`. The contract test checks each against the OpenAPI
 * description (v2), the published v1.1 example and the simulator.
 *
 * @public
 */
export const CIRCLECI_READ_FIELDS = {
  /** `GET /workflow/{id}/job` items. */
  workflowJob: {
    id: 'string',
    name: 'string',
    status: 'string',
    type: 'string',
    job_number: 'number',
    started_at: 'string',
    stopped_at: 'string',
    dependencies: 'array',
  },
  /** `GET /project/{slug}/job/{number}` (API v2 job details). */
  jobDetails: { queued_at: 'string', started_at: 'string' },
  /**
   * `GET /project/{slug}/{number}/tests` items (`message` may be null,
   * `run_time` a numeric string; both are read).
   */
  jobTest: {
    name: 'string',
    classname: 'string',
    file: 'string',
    result: 'string',
    message: 'string',
    run_time: 'number',
  },
  /** `GET /api/v1.1/project/{vcs}/{org}/{repo}/{number}`. */
  v1Job: {
    queued_at: 'string',
    start_time: 'string',
    stop_time: 'string',
    steps: 'array',
  },
  /** `steps[]` of the v1.1 job details. */
  v1Step: { name: 'string', actions: 'array' },
  /**
   * `steps[].actions[]` of the v1.1 job details (an action's own `name` is
   * read when present, else the step's: the published example has it on
   * some actions only).
   */
  v1Action: {
    status: 'string',
    start_time: 'string',
    end_time: 'string',
    run_time_millis: 'number',
  },
} as const;
