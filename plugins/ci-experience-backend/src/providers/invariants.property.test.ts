/* eslint jest/expect-expect: ["warn", { "assertFunctionNames": ["expect", "expect*", "fc.assert"] }] */
/* eslint-disable @backstage/no-relative-monorepo-imports -- this test holds every provider module to one rule, on each module's own mapping and recorded fixtures */
/*
 * The invariants every provider's mapping upholds, checked on what is
 * stored (issue 15): for each provider, its recorded or published answers
 * go through the provider's own schemas and mapping functions, exactly as
 * the provider class calls them (including its own fitting of jobs to the
 * run), and then through `storedRunOf`, the step every synced run takes
 * before it is stored. On the unmodified fixtures and on variations of them
 * (every status replaced by any value of the provider's real vocabulary,
 * every time shifted by minutes to hours either way, so that jobs start
 * before their run or end after it, or removed where the schema allows):
 *
 * - run, job and step status is a `CiRunStatus`, and `providerStatus` the
 *   provider's raw value (a non-empty string found in the answer, or the
 *   mapping's documented placeholder for a missing one), unchanged by
 *   storing;
 * - a finished run has no queued or running job (nor step);
 * - job times lie within [run.createdAt, run.finishedAt when final], step
 *   times within their job's;
 * - durations and queue times are never negative, no finish before a start,
 *   and every stored time is canonical.
 *
 * A time outside 1970–9999 (injected in some variations) may only make the
 * mapping drop the item or throw `OutOfRangeDateError`.
 */
import { mockServices } from '@backstage/backend-test-utils';
import {
  BUILDKITE_STATUS_MAP,
  CIRCLECI_JOB_STATUS_MAP,
  CIRCLECI_WORKFLOW_STATUS_MAP,
  CI_RUN_STATUSES,
  CiJob,
  GITHUB_CONCLUSION_MAP,
  GITHUB_STATUS_MAP,
  GITLAB_STATUS_MAP,
  isFinalStatus,
  JENKINS_BUILDING,
  JENKINS_NO_RESULT,
  JENKINS_QUEUED,
  JENKINS_RESULT_MAP,
  JENKINS_STAGE_STATUS_MAP,
  mapJenkinsStageStatus,
} from '@ci-experience/plugin-ci-experience-common';
import {
  CiProviderRun,
  CiSource,
  isCanonicalInstant,
  OutOfRangeDateError,
  parseProviderItems,
  boundJobToRun,
} from '@ci-experience/plugin-ci-experience-node';
import fc from 'fast-check';
import { StoredRun } from '../database/CiStore';
import { storedRunOf } from '../service/CiSyncService';
import * as github from '../../../ci-experience-backend-module-github/src/mapping';
import * as gitlab from '../../../ci-experience-backend-module-gitlab/src/mapping';
import * as buildkite from '../../../ci-experience-backend-module-buildkite/src/mapping';
import * as circleci from '../../../ci-experience-backend-module-circleci/src/mapping';
import * as jenkins from '../../../ci-experience-backend-module-jenkins/src/mapping';

// The run count is bounded, not the time: a loaded 2-core machine is slow.
jest.setTimeout(600_000);

type Json = any;
type Path = Array<string | number>;

/** A mapped run and its jobs, before storing. */
interface Mapped {
  run: CiProviderRun;
  jobs: CiJob[];
}

/** One value of a fixture that a variation may replace. */
interface Field {
  path: Path;
  /** Realistic replacements: the provider's statuses, shifted or removed times. */
  arb: fc.Arbitrary<unknown>;
  /** Values the mapping must refuse (times outside 1970–9999). */
  bad?: fc.Arbitrary<unknown>;
}

interface ProviderCase<I> {
  provider: string;
  source: CiSource;
  fixtures: Array<{ name: string; input: I; jobs: number }>;
  /** Raw `providerStatus` values the mapping makes up for a missing status. */
  placeholders: string[];
  /** The instant variations' times are anchored at: the run's creation. */
  anchor(input: I): number;
  fields(input: I): Field[];
  /** The provider's parse and mapping; undefined when the run is dropped. */
  map(input: I, now: number): Mapped | undefined;
}

const logger = mockServices.logger.mock();
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value));

/** Later than every fixture: nothing is in the future. */
const LATE_NOW = Date.parse('2030-01-01T00:00:00.000Z');
const HOUR = 3_600_000;

// ---------------------------------------------------------------------------
// Field arbitraries

/** A clock skew of seconds, or a shift of minutes to hours, either way. */
const offset = fc.oneof(
  fc.integer({ min: -120_000, max: 120_000 }),
  fc.integer({ min: -12 * HOUR, max: 12 * HOUR }),
);

const BAD_ISO = [
  '+275760-09-13T00:00:00Z',
  '10000-01-01T00:00:00Z',
  '1969-12-31T23:59:59Z',
  'not-a-date',
];

/** Any of a status vocabulary (and null where the schema allows it). */
function status(
  path: Path,
  vocabulary: readonly string[],
  nullable = true,
): Field {
  return {
    path,
    arb: fc.constantFrom<unknown>(...vocabulary, ...(nullable ? [null] : [])),
  };
}

/**
 * An ISO time: its own value shifted, or the run's creation shifted (so a
 * job's time lands anywhere around its run's), or removed where nullable.
 */
function isoTime(
  path: Path,
  value: string | null | undefined,
  anchor: number,
  nullable = true,
  parse: (v: string) => number = Date.parse,
): Field {
  const own = value ? parse(value) : NaN;
  const arbs: Array<fc.Arbitrary<unknown>> = [
    offset.map(d => new Date(anchor + d).toISOString()),
  ];
  if (Number.isFinite(own)) {
    arbs.push(offset.map(d => new Date(own + d).toISOString()));
  }
  if (nullable) {
    arbs.push(fc.constant(null));
  }
  return { path, arb: fc.oneof(...arbs), bad: fc.constantFrom(...BAD_ISO) };
}

/** Epoch milliseconds, varied as {@link isoTime} varies ISO times. */
function epochTime(
  path: Path,
  value: number | null | undefined,
  anchor: number,
  nullable = true,
): Field {
  const arbs: Array<fc.Arbitrary<unknown>> = [offset.map(d => anchor + d)];
  if (typeof value === 'number' && value > 0) {
    arbs.push(offset.map(d => value + d));
  }
  if (nullable) {
    arbs.push(fc.constant(null));
  }
  return {
    path,
    arb: fc.oneof(...arbs),
    bad: fc.constantFrom(-1, Date.UTC(10000, 0, 1), Number.MAX_SAFE_INTEGER),
  };
}

/** A number of seconds or milliseconds the schema accepts, or null. */
function amount(
  path: Path,
  options: { min: number; max: number; nullable?: boolean },
): Field {
  const n = fc.integer({ min: options.min, max: options.max });
  return {
    path,
    arb: options.nullable === false ? n : fc.option(n, { nil: null }),
  };
}

/** A boolean of the answer (e.g. Buildkite's `passed`): true, false or null. */
function flag(path: Path): Field {
  return { path, arb: fc.constantFrom<unknown>(true, false, null) };
}

function setAt(target: Json, path: Path, value: unknown) {
  let at = target;
  for (const key of path.slice(0, -1)) {
    at = at[key];
  }
  at[path[path.length - 1]] = value;
}

const KEEP = Symbol('keep');
const show = (value: unknown) => JSON.stringify(value);

interface Variation<I> {
  name: string;
  input: I;
  /** Whether a refused (out-of-range) time was put in. */
  bad: boolean;
  now: number;
}

/** Variations of one fixture: each field kept or replaced, at most one bad time. */
function variationsOf<I>(
  provider: ProviderCase<I>,
  fixture: { name: string; input: I },
): fc.Arbitrary<Variation<I>> {
  const fields = provider.fields(fixture.input);
  const refusable = fields.filter(f => f.bad);
  const anchor = provider.anchor(fixture.input);
  return fc
    .record({
      changes: fc.tuple(
        ...fields.map(f => fc.option(f.arb, { nil: KEEP, freq: 2 })),
      ),
      bad:
        refusable.length > 0
          ? fc.option(
              fc.nat(refusable.length - 1).chain(i =>
                refusable[i].bad!.map(value => ({
                  path: refusable[i].path,
                  value,
                })),
              ),
              { nil: undefined, freq: 6 },
            )
          : fc.constant(undefined),
      // Now: later than everything, or near the run, so that some times lie
      // in the future and are brought back to now.
      now: fc.option(
        fc.integer({ min: -HOUR, max: 24 * HOUR }).map(d => anchor + d),
        { nil: LATE_NOW, freq: 2 },
      ),
    })
    .map(({ changes, bad, now }) => {
      const input = clone(fixture.input);
      changes.forEach((value, i) => {
        if (value !== KEEP) {
          setAt(input, fields[i].path, value);
        }
      });
      if (bad) {
        setAt(input, bad.path, bad.value);
      }
      const changed = [
        ...changes.flatMap((value, i) =>
          value === KEEP ? [] : [`${fields[i].path.join('.')}=${show(value)}`],
        ),
        ...(bad ? [`${bad.path.join('.')}=${show(bad.value)} (refused)`] : []),
      ];
      return {
        name: fixture.name,
        input,
        bad: bad !== undefined,
        now,
        // Counterexamples name the fixture and what was changed, not the whole answer.
        [fc.toStringMethod]: () =>
          `${fixture.name}, now ${new Date(now).toISOString()}: ${changed.join(
            ', ',
          )}`,
      };
    });
}

// ---------------------------------------------------------------------------
// Invariants

function stringsOf(value: Json, out = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    out.add(value);
  } else if (value && typeof value === 'object') {
    for (const child of Object.values(value)) {
      stringsOf(child, out);
    }
  }
  return out;
}

const at = (value: string) => Date.parse(value);

/** What a stored time-bearing value breaks of the invariants, in words. */
function timeProblems(
  what: string,
  value: {
    createdAt?: string;
    startedAt?: string;
    finishedAt?: string;
    durationMs?: number;
    queuedMs?: number;
  },
): string[] {
  const out: string[] = [];
  for (const key of ['createdAt', 'startedAt', 'finishedAt'] as const) {
    const time = value[key];
    if (time !== undefined && !isCanonicalInstant(time)) {
      out.push(`${what}: ${key} ${time} is not canonical`);
    }
  }
  if (value.durationMs !== undefined && !(value.durationMs >= 0)) {
    out.push(`${what}: durationMs ${value.durationMs}`);
  }
  if (value.queuedMs !== undefined && !(value.queuedMs >= 0)) {
    out.push(`${what}: queuedMs ${value.queuedMs}`);
  }
  if (
    value.startedAt &&
    value.finishedAt &&
    at(value.finishedAt) < at(value.startedAt)
  ) {
    out.push(
      `${what}: finishedAt ${value.finishedAt} before startedAt ${value.startedAt}`,
    );
  }
  if (
    value.createdAt &&
    value.startedAt &&
    at(value.startedAt) < at(value.createdAt)
  ) {
    out.push(
      `${what}: startedAt ${value.startedAt} before createdAt ${value.createdAt}`,
    );
  }
  return out;
}

/** Times outside [lo, hi] (hi: none when undefined). */
function boundProblems(
  what: string,
  times: Record<string, string | undefined>,
  lo: number,
  hi: number | undefined,
): string[] {
  const out: string[] = [];
  for (const [key, time] of Object.entries(times)) {
    if (time === undefined) {
      continue;
    }
    if (at(time) < lo) {
      out.push(`${what}: ${key} ${time} before ${new Date(lo).toISOString()}`);
    }
    if (hi !== undefined && at(time) > hi) {
      out.push(`${what}: ${key} ${time} after ${new Date(hi).toISOString()}`);
    }
  }
  return out;
}

function statusProblems(
  what: string,
  value: { status: string; providerStatus: unknown },
  kept: unknown,
  raw: Set<string>,
): string[] {
  const out: string[] = [];
  if (!(CI_RUN_STATUSES as readonly string[]).includes(value.status)) {
    out.push(`${what}: status ${value.status} is not a CiRunStatus`);
  }
  if (
    typeof value.providerStatus !== 'string' ||
    value.providerStatus.length === 0
  ) {
    out.push(`${what}: providerStatus ${String(value.providerStatus)}`);
  } else if (!raw.has(value.providerStatus)) {
    out.push(
      `${what}: providerStatus ${value.providerStatus} is not the provider's`,
    );
  }
  // The raw status is kept, whatever storing made of the status.
  if (value.providerStatus !== kept) {
    out.push(
      `${what}: providerStatus ${String(value.providerStatus)} stored, ${String(
        kept,
      )} mapped`,
    );
  }
  return out;
}

/** Everything the stored run breaks of the invariants; empty when none. */
function problemsOf(
  run: StoredRun,
  mapped: Mapped,
  raw: Set<string>,
): string[] {
  const out = [
    ...statusProblems('run', run, mapped.run.providerStatus, raw),
    ...timeProblems('run', run),
  ];
  const final = isFinalStatus(run.status);
  const lo = at(run.createdAt);
  const hi = final && run.finishedAt ? at(run.finishedAt) : undefined;
  const jobs = run.jobs ?? [];
  if (jobs.length !== mapped.jobs.length) {
    out.push(`${jobs.length} jobs stored of ${mapped.jobs.length} mapped`);
  }
  jobs.forEach((job, i) => {
    const what = `job ${job.id} (${job.providerStatus}) of a ${run.status} run`;
    out.push(
      ...statusProblems(what, job, mapped.jobs[i]?.providerStatus, raw),
      ...timeProblems(what, job),
      ...boundProblems(
        what,
        {
          createdAt: job.createdAt,
          startedAt: job.startedAt,
          finishedAt: job.finishedAt,
        },
        lo,
        hi,
      ),
    );
    if (final && !isFinalStatus(job.status)) {
      out.push(`${what}: still ${job.status}`);
    }
    const stepLo = job.startedAt ? at(job.startedAt) : lo;
    const stepHi = job.finishedAt ? at(job.finishedAt) : hi;
    (job.steps ?? []).forEach((step, k) => {
      const whatStep = `step ${step.number} of ${what}`;
      out.push(
        ...statusProblems(
          whatStep,
          step,
          mapped.jobs[i]?.steps?.[k]?.providerStatus,
          raw,
        ),
        ...timeProblems(whatStep, step),
        ...boundProblems(
          whatStep,
          { startedAt: step.startedAt, finishedAt: step.finishedAt },
          stepLo,
          stepHi,
        ),
      );
      if (final && !isFinalStatus(step.status)) {
        out.push(`${whatStep}: still ${step.status}`);
      }
    });
  });
  return out;
}

/** Maps and stores one input; checks the invariants or an allowed refusal. */
function check<I>(
  provider: ProviderCase<I>,
  input: I,
  now: number,
  allowRefusal: boolean,
): StoredRun | undefined {
  let mapped: Mapped | undefined;
  let stored: StoredRun;
  try {
    mapped = provider.map(input, now);
    if (!mapped) {
      expect({ droppedRun: true, allowRefusal }).toEqual({
        droppedRun: true,
        allowRefusal: true,
      });
      return undefined;
    }
    stored = storedRunOf(provider.source, mapped.run, mapped.jobs, now).run;
  } catch (error) {
    if (allowRefusal && error instanceof OutOfRangeDateError) {
      return undefined;
    }
    throw error;
  }
  const raw = new Set([...stringsOf(input), ...provider.placeholders]);
  expect(problemsOf(stored, mapped, raw)).toEqual([]);
  return stored;
}

// ---------------------------------------------------------------------------
// GitHub Actions: GitHub's published examples (`@octokit/openapi`
// `components.examples`, `@octokit/webhooks-examples`).

const openapi = require('@octokit/openapi/generated/api.github.com.json');
const webhookExamples: Array<{
  name: string;
  examples: Json[];
}> = require('@octokit/webhooks-examples');

const examplesOf = (name: string) =>
  webhookExamples.find(w => w.name === name)!.examples;

interface GithubInput {
  run: Json;
  jobs: Json[];
}

const GITHUB_STATUSES = [...Object.keys(GITHUB_STATUS_MAP), 'completed'];
const GITHUB_CONCLUSIONS = Object.keys(GITHUB_CONCLUSION_MAP);

const webhookJobs = examplesOf('workflow_job').map(e => e.workflow_job);

const githubCase: ProviderCase<GithubInput> = {
  provider: 'GitHub Actions',
  source: {
    provider: 'github-actions',
    key: 'github-actions:github.com/octo-org/octo-repo',
    source: 'octo-org/octo-repo',
    host: 'github.com',
  },
  fixtures: [
    {
      name: 'OpenAPI workflow-run and job examples',
      input: {
        run: openapi.components.examples['workflow-run'].value,
        jobs: [openapi.components.examples.job.value],
      },
      jobs: 1,
    },
    ...examplesOf('workflow_run').map((e, i) => ({
      name: `webhook workflow_run example ${i} (${e.action}) with the workflow_job examples`,
      input: { run: e.workflow_run, jobs: webhookJobs },
      jobs: webhookJobs.length,
    })),
  ],
  placeholders: ['unknown'],
  anchor: input => Date.parse(input.run.created_at),
  fields: ({ run, jobs }) => {
    const anchor = Date.parse(run.created_at);
    const runStatus = (path: Path, value: Json): Field[] => [
      status([...path, 'status'], GITHUB_STATUSES),
      status([...path, 'conclusion'], GITHUB_CONCLUSIONS),
      ...(value.steps ?? []).flatMap((step: Json, k: number) =>
        runStatus([...path, 'steps', k], step),
      ),
    ];
    return [
      ...runStatus(['run'], run),
      isoTime(['run', 'created_at'], run.created_at, anchor, false),
      isoTime(['run', 'updated_at'], run.updated_at, anchor),
      isoTime(['run', 'run_started_at'], run.run_started_at, anchor),
      ...jobs.flatMap((job, i) => [
        ...runStatus(['jobs', i], job),
        isoTime(['jobs', i, 'created_at'], job.created_at, anchor),
        isoTime(['jobs', i, 'started_at'], job.started_at, anchor),
        isoTime(['jobs', i, 'completed_at'], job.completed_at, anchor),
        ...(job.steps ?? []).flatMap((step: Json, k: number) => [
          isoTime(
            ['jobs', i, 'steps', k, 'started_at'],
            step.started_at,
            anchor,
          ),
          isoTime(
            ['jobs', i, 'steps', k, 'completed_at'],
            step.completed_at,
            anchor,
          ),
        ]),
      ]),
    ];
  },
  // As GithubActionsProvider.getRun / listJobs.
  map: ({ run, jobs }) => {
    const [parsed] = github.parseItems(
      github.githubRunSchema,
      [run],
      'workflow run',
      logger,
    );
    if (!parsed) {
      return undefined;
    }
    return {
      run: github.toProviderRun(parsed),
      jobs: github
        .parseItems(github.githubJobSchema, jobs, 'job', logger)
        .map(github.toJob),
    };
  },
};

// ---------------------------------------------------------------------------
// GitLab: GitLab's documented REST answers (gitlab/__fixtures__/README.md).

interface GitlabInput {
  pipeline: Json;
  jobs: Json[];
  bridges: Json[];
}

const GITLAB_STATUSES = Object.keys(GITLAB_STATUS_MAP);

const gitlabPipeline = require('../../../ci-experience-backend-module-gitlab/src/__fixtures__/pipeline.json');
const gitlabPipelines = require('../../../ci-experience-backend-module-gitlab/src/__fixtures__/pipelines.json');
const gitlabJobs = require('../../../ci-experience-backend-module-gitlab/src/__fixtures__/pipeline-jobs.json');
const gitlabBridges = require('../../../ci-experience-backend-module-gitlab/src/__fixtures__/pipeline-bridges.json');

const gitlabCase: ProviderCase<GitlabInput> = {
  provider: 'GitLab',
  source: {
    provider: 'gitlab',
    key: 'gitlab:gitlab.example.com/group/project',
    source: 'group/project',
    host: 'gitlab.example.com',
  },
  fixtures: [
    {
      name: 'pipeline.json with pipeline-jobs.json and pipeline-bridges.json',
      input: {
        pipeline: gitlabPipeline,
        jobs: gitlabJobs,
        bridges: gitlabBridges,
      },
      jobs: gitlabJobs.length + gitlabBridges.length,
    },
    ...gitlabPipelines.map((pipeline: Json) => ({
      name: `pipelines.json pipeline ${pipeline.id} with pipeline-jobs.json and pipeline-bridges.json`,
      input: { pipeline, jobs: gitlabJobs, bridges: gitlabBridges },
      jobs: gitlabJobs.length + gitlabBridges.length,
    })),
  ],
  placeholders: ['unknown'],
  anchor: input => gitlab.parseGitlabTime(input.pipeline.created_at),
  fields: ({ pipeline, jobs, bridges }) => {
    const anchor = gitlab.parseGitlabTime(pipeline.created_at);
    const time = (path: Path, value: Json, nullable = true) =>
      isoTime(path, value, anchor, nullable, gitlab.parseGitlabTime);
    const timed = (path: Path, value: Json): Field[] => [
      status([...path, 'status'], GITLAB_STATUSES),
      time([...path, 'created_at'], value.created_at, path[0] !== 'pipeline'),
      time([...path, 'started_at'], value.started_at),
      time([...path, 'finished_at'], value.finished_at),
      amount([...path, 'duration'], { min: 0, max: 50_000 }),
      amount([...path, 'queued_duration'], { min: 0, max: 50_000 }),
    ];
    return [
      ...timed(['pipeline'], pipeline),
      time(['pipeline', 'updated_at'], pipeline.updated_at),
      ...jobs.flatMap((job, i) => timed(['jobs', i], job)),
      ...bridges.flatMap((bridge, i) => timed(['bridges', i], bridge)),
    ];
  },
  // As GitlabCiProvider.getRun / listJobs (with its fitJobsToRun).
  map: ({ pipeline, jobs, bridges }) => {
    const [parsed] = parseProviderItems(
      'GitLab',
      gitlab.gitlabPipelineSchema,
      [pipeline],
      'pipeline',
      logger,
    );
    if (!parsed) {
      return undefined;
    }
    const run = gitlab.toProviderRun(parsed);
    const parsedJobs = parseProviderItems(
      'GitLab',
      gitlab.gitlabJobSchema,
      jobs,
      'job',
      logger,
    );
    const parsedBridges = parseProviderItems(
      'GitLab',
      gitlab.gitlabBridgeSchema,
      bridges,
      'trigger job',
      logger,
    );
    return {
      run,
      jobs: gitlab
        .fitJobsToRun(run, [
          ...parsedJobs.map(j => gitlab.toJob(j)),
          ...parsedBridges.map(gitlab.bridgeToJob),
        ])
        .sort((a, b) => Number(a.id) - Number(b.id)),
    };
  },
};

// ---------------------------------------------------------------------------
// Buildkite: Buildkite's documented REST answers and recorded builds
// (buildkite/__fixtures__/README.md).

interface BuildkiteInput {
  build: Json;
}

const BUILDKITE_STATES = Object.keys(BUILDKITE_STATUS_MAP);

const buildkiteBuilds: Array<{ name: string; build: Json }> = [
  {
    name: 'docs-get-build.json',
    build: require('../../../ci-experience-backend-module-buildkite/src/__fixtures__/docs-get-build.json'),
  },
  {
    name: 'build.json',
    build: require('../../../ci-experience-backend-module-buildkite/src/__fixtures__/build.json'),
  },
  {
    name: 'roadie-build-137.json',
    build: require('../../../ci-experience-backend-module-buildkite/src/__fixtures__/roadie-build-137.json'),
  },
  ...require('../../../ci-experience-backend-module-buildkite/src/__fixtures__/roadie-builds.json').map(
    (build: Json) => ({
      name: `roadie-builds.json build ${build.number}`,
      build,
    }),
  ),
  {
    name: 'build-finished.json (webhook build)',
    build:
      require('../../../ci-experience-backend-module-buildkite/src/__fixtures__/build-finished.json')
        .build,
  },
];

const buildkiteCase: ProviderCase<BuildkiteInput> = {
  provider: 'Buildkite',
  source: {
    provider: 'buildkite',
    key: 'buildkite:api.buildkite.com/my-org/my-pipeline',
    source: 'my-org/my-pipeline',
    host: 'api.buildkite.com',
  },
  fixtures: buildkiteBuilds.map(({ name, build }) => ({
    name,
    input: { build },
    jobs: (build.jobs ?? []).length,
  })),
  placeholders: ['unknown'],
  anchor: input => Date.parse(input.build.created_at),
  fields: ({ build }) => {
    const anchor = Date.parse(build.created_at);
    const time = (path: Path, value: Json, nullable = true) =>
      isoTime(path, value, anchor, nullable);
    return [
      status(['build', 'state'], BUILDKITE_STATES),
      time(['build', 'created_at'], build.created_at, false),
      time(['build', 'scheduled_at'], build.scheduled_at),
      time(['build', 'started_at'], build.started_at),
      time(['build', 'finished_at'], build.finished_at),
      ...(build.jobs ?? []).flatMap((job: Json, i: number) => {
        const path = ['build', 'jobs', i];
        return [
          status([...path, 'state'], BUILDKITE_STATES),
          flag([...path, 'passed']),
          ...[
            'created_at',
            'scheduled_at',
            'runnable_at',
            'started_at',
            'finished_at',
            'unblocked_at',
          ].map(key => time([...path, key], job[key])),
        ];
      }),
    ];
  },
  // As BuildkiteProvider.getRun / listJobs (toJobs bounds jobs by the run).
  map: ({ build }) => {
    const [parsed] = parseProviderItems(
      'Buildkite',
      buildkite.buildkiteBuildSchema,
      [build],
      'build',
      logger,
    );
    if (!parsed) {
      return undefined;
    }
    const jobs = parseProviderItems(
      'Buildkite',
      buildkite.buildkiteJobSchema,
      parsed.jobs ?? [],
      'job',
      logger,
    );
    const run = buildkite.toProviderRun(parsed, {
      workflow: 'my-pipeline',
      jobs,
    });
    return { run, jobs: buildkite.toJobs(jobs, run) };
  },
};

// ---------------------------------------------------------------------------
// CircleCI: the run from the documented `workflow-completed` delivery's
// pipeline and workflow (as the webhook parser builds them), the job from
// the published API v1.1 "Single Job" example, as circleci/mapping.test.ts
// builds its workflow-job item; an approval job beside it.

interface CircleciInput {
  pipeline: Json;
  workflow: Json;
  jobs: Array<{ item: Json; details?: Json }>;
}

const CIRCLECI_WORKFLOW_STATUSES = Object.keys(CIRCLECI_WORKFLOW_STATUS_MAP);
const CIRCLECI_JOB_STATUSES = Object.keys(CIRCLECI_JOB_STATUS_MAP);

const circleciDelivery = require('../../../ci-experience-backend-module-circleci/src/__fixtures__/workflow-completed.json');
const circleciV1Job = require('../../../ci-experience-backend-module-circleci/src/__fixtures__/v1.1-single-job.json');

const circleciLinks: circleci.CircleciLinks = {
  appBaseUrl: 'https://app.circleci.com',
  slug: 'gh/circleci/webhook-service',
};

const circleciCase: ProviderCase<CircleciInput> = {
  provider: 'CircleCI',
  source: {
    provider: 'circleci',
    key: 'circleci:circleci.com/gh/circleci/webhook-service',
    source: 'gh/circleci/webhook-service',
    host: 'circleci.com',
  },
  fixtures: [
    {
      name: 'workflow-completed.json with the v1.1 single-job example',
      input: {
        pipeline: {
          ...circleciDelivery.pipeline,
          project_slug: circleciLinks.slug,
        },
        workflow: {
          ...circleciDelivery.workflow,
          pipeline_id: circleciDelivery.pipeline.id,
          pipeline_number: circleciDelivery.pipeline.number,
          project_slug: circleciLinks.slug,
        },
        jobs: [
          {
            item: {
              id: 'b1b8b1a7-0000-4000-8000-000000000002',
              name: 'test',
              status: circleciV1Job.status,
              type: 'build',
              job_number: circleciV1Job.build_num,
              started_at: circleciV1Job.start_time,
              stopped_at: circleciV1Job.stop_time,
              dependencies: ['b1b8b1a7-0000-4000-8000-000000000003'],
            },
            details: circleciV1Job,
          },
          {
            item: {
              id: 'b1b8b1a7-0000-4000-8000-000000000003',
              name: 'hold',
              status: 'success',
              type: 'approval',
              dependencies: [],
            },
          },
        ],
      },
      jobs: 2,
    },
  ],
  placeholders: ['unknown'],
  anchor: input => Date.parse(input.workflow.created_at),
  fields: ({ pipeline, workflow, jobs }) => {
    const anchor = Date.parse(workflow.created_at);
    const time = (path: Path, value: Json, nullable = true) =>
      isoTime(path, value, anchor, nullable);
    return [
      time(['pipeline', 'created_at'], pipeline.created_at, false),
      status(['workflow', 'status'], CIRCLECI_WORKFLOW_STATUSES),
      time(['workflow', 'created_at'], workflow.created_at, false),
      time(['workflow', 'stopped_at'], workflow.stopped_at),
      ...jobs.flatMap(({ item, details }, i) => [
        status(['jobs', i, 'item', 'status'], CIRCLECI_JOB_STATUSES),
        time(['jobs', i, 'item', 'started_at'], item.started_at),
        time(['jobs', i, 'item', 'stopped_at'], item.stopped_at),
        ...(details
          ? [
              time(['jobs', i, 'details', 'queued_at'], details.queued_at),
              time(['jobs', i, 'details', 'start_time'], details.start_time),
              time(['jobs', i, 'details', 'stop_time'], details.stop_time),
              ...(details.steps ?? []).flatMap((step: Json, k: number) =>
                (step.actions ?? []).flatMap((action: Json, a: number) => {
                  const path = ['jobs', i, 'details', 'steps', k, 'actions', a];
                  return [
                    status([...path, 'status'], CIRCLECI_JOB_STATUSES),
                    time([...path, 'start_time'], action.start_time),
                    time([...path, 'end_time'], action.end_time),
                    amount([...path, 'run_time_millis'], {
                      min: -10_000,
                      max: 10 * HOUR,
                    }),
                  ];
                }),
              ),
            ]
          : []),
      ]),
    ];
  },
  // As CircleciProvider.getRun / listJobs (details only once the run is
  // final, and not for approvals; jobs bounded by the run).
  map: ({ pipeline, workflow, jobs }, now) => {
    const [p] = circleci.parseItems(
      circleci.circleciPipelineSchema,
      [pipeline],
      'pipeline',
      logger,
    );
    const [w] = circleci.parseItems(
      circleci.circleciWorkflowSchema,
      [workflow],
      'workflow',
      logger,
    );
    if (!p || !w) {
      return undefined;
    }
    const run = circleci.toProviderRun(p, w, circleciLinks, now);
    const items = circleci.parseItems(
      circleci.circleciJobSchema,
      jobs.map(j => j.item),
      'job',
      logger,
    );
    const finished = isFinalStatus(run.status);
    const mappedJobs = items.map(item => {
      const details = jobs.find(j => j.item.id === item.id)?.details;
      let extra: circleci.CircleciJobExtra = {};
      if (
        finished &&
        details &&
        typeof item.job_number === 'number' &&
        item.type !== 'approval'
      ) {
        const parsed = circleci.circleciV1JobSchema.safeParse(details);
        if (parsed.success) {
          extra = {
            queuedAt: parsed.data.queued_at,
            startedAt: parsed.data.start_time,
            steps: parsed.data.steps,
          };
        }
      }
      return boundJobToRun(
        circleci.toJob(
          item,
          circleciLinks,
          run.runNumber,
          run.providerRunId,
          extra,
        ),
        run,
      );
    });
    return { run, jobs: mappedJobs };
  },
};

// ---------------------------------------------------------------------------
// Jenkins: the recorded builds (`build-time-in-queue.json`,
// `build-parameters.json`) and the hand-written `job.json` builds that
// Jenkins would serve (not #38, whose `javascript:` URL is rightly
// refused), each with the Stage View API's recorded `wfapi/describe`
// stages; the stages' steps as `getJobLog` reads them from the recorded
// `execution/node/{id}/wfapi/describe` answers, on the job they belong to.

interface JenkinsInput {
  build: Json;
  describe: Json;
  nodes: Json[];
}

const JENKINS_RESULTS = Object.keys(JENKINS_RESULT_MAP);
const JENKINS_STAGE_STATUSES = Object.keys(JENKINS_STAGE_STATUS_MAP);

const jenkinsDescribe = require('../../../ci-experience-backend-module-jenkins/src/__fixtures__/wfapi-describe.json');
const jenkinsNodes = [
  require('../../../ci-experience-backend-module-jenkins/src/__fixtures__/wfapi-node-describe.json'),
  require('../../../ci-experience-backend-module-jenkins/src/__fixtures__/wfapi-node-describe-failed.json'),
];
const jenkinsBuilds: Array<{ name: string; build: Json }> = [
  {
    name: 'build-time-in-queue.json',
    build: require('../../../ci-experience-backend-module-jenkins/src/__fixtures__/build-time-in-queue.json'),
  },
  {
    name: 'build-parameters.json',
    build: require('../../../ci-experience-backend-module-jenkins/src/__fixtures__/build-parameters.json'),
  },
  ...require('../../../ci-experience-backend-module-jenkins/src/__fixtures__/job.json')
    .builds.filter((b: Json) => b.url.startsWith('https:'))
    .map((build: Json) => ({ name: `job.json build ${build.number}`, build })),
];

const jenkinsCase: ProviderCase<JenkinsInput> = {
  provider: 'Jenkins',
  source: {
    provider: 'jenkins',
    key: 'jenkins:jenkins.example.com/team-a/payments',
    source: 'team-a/payments',
    host: 'jenkins.example.com',
  },
  fixtures: jenkinsBuilds.map(({ name, build }) => ({
    name: `${name} with wfapi-describe.json`,
    input: { build, describe: jenkinsDescribe, nodes: jenkinsNodes },
    jobs: jenkinsDescribe.stages.length,
  })),
  placeholders: [
    JENKINS_BUILDING,
    JENKINS_QUEUED,
    JENKINS_NO_RESULT,
    'UNKNOWN',
  ],
  anchor: input => input.build.timestamp,
  fields: ({ build, describe, nodes }) => {
    const anchor = build.timestamp;
    const timed = (path: Path, value: Json): Field[] => [
      status([...path, 'status'], JENKINS_STAGE_STATUSES),
      epochTime([...path, 'startTimeMillis'], value.startTimeMillis, anchor),
      amount([...path, 'durationMillis'], { min: -10_000, max: 10 * HOUR }),
    ];
    return [
      status(['build', 'result'], JENKINS_RESULTS),
      flag(['build', 'building']),
      epochTime(['build', 'timestamp'], build.timestamp, anchor, false),
      amount(['build', 'duration'], { min: 0, max: 10 * HOUR }),
      ...(build.actions ?? []).flatMap((action: Json, i: number) =>
        action && 'queuingDurationMillis' in action
          ? [
              amount(['build', 'actions', i, 'queuingDurationMillis'], {
                min: 0,
                max: 10 * HOUR,
              }),
            ]
          : [],
      ),
      ...describe.stages.flatMap((stage: Json, i: number) =>
        timed(['describe', 'stages', i], stage),
      ),
      ...nodes.flatMap((node, n) => [
        status(['nodes', n, 'status'], JENKINS_STAGE_STATUSES),
        ...node.stageFlowNodes.flatMap((flowNode: Json, k: number) =>
          timed(['nodes', n, 'stageFlowNodes', k], flowNode),
        ),
      ]),
    ];
  },
  // As JenkinsProvider.getRun / listJobs, and getJobLog for the steps.
  map: ({ build, describe, nodes }) => {
    const [parsed] = jenkins.parseItems(
      jenkins.jenkinsBuildSchema,
      [build],
      'build',
      logger,
    );
    if (!parsed) {
      return undefined;
    }
    const run = jenkins.toProviderRun(parsed, { workflow: 'team-a/payments' });
    if (run.status === 'queued') {
      return { run, jobs: [] };
    }
    const stages = jenkins.parseItems(
      jenkins.jenkinsStageSchema,
      describe?.stages,
      'stage',
      logger,
    );
    const jobs = jenkins.toJobs(stages, parsed.url, run).map(job => {
      const stage = nodes.find(n => n.id === job.id);
      if (!stage) {
        return job;
      }
      const flowNodes = jenkins.parseItems(
        jenkins.jenkinsFlowNodeSchema,
        stage.stageFlowNodes,
        'step',
        logger,
      );
      const stageFinal =
        typeof stage.status === 'string' &&
        isFinalStatus(mapJenkinsStageStatus(stage.status).status);
      return {
        ...job,
        steps: jenkins.toSteps(
          flowNodes,
          stageFinal
            ? { status: mapJenkinsStageStatus(stage.status).status }
            : undefined,
        ),
      };
    });
    return { run, jobs };
  },
};

// ---------------------------------------------------------------------------

const PROVIDERS: Array<ProviderCase<any>> = [
  githubCase,
  gitlabCase,
  buildkiteCase,
  circleciCase,
  jenkinsCase,
];

describe.each(PROVIDERS.map(p => [p.provider, p] as const))(
  'invariants of %s runs as stored',
  (_name, provider) => {
    it('hold on the unmodified fixtures', () => {
      for (const fixture of provider.fixtures) {
        const stored = check(provider, fixture.input, LATE_NOW, false);
        expect({ fixture: fixture.name, jobs: stored?.jobs?.length }).toEqual({
          fixture: fixture.name,
          jobs: fixture.jobs,
        });
      }
    });

    it('hold on variations: any status, shifted or removed times, clock skew', () => {
      const variations = provider.fixtures.map(fixture =>
        variationsOf(provider, fixture),
      );
      fc.assert(
        fc.property(fc.oneof(...variations), variation => {
          check(provider, variation.input, variation.now, variation.bad);
        }),
        { numRuns: 200 },
      );
    });
  },
);
