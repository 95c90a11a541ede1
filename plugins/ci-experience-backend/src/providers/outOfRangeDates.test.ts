/* eslint-disable @backstage/no-relative-monorepo-imports -- this test holds every provider module to one rule, on each module's own mapping and recorded fixtures */
/*
 * Every provider's webhook parser, given its real-shaped delivery with one
 * time replaced by one that does not parse or names no instant in
 * 1970–9999, answers `malformed` (the ingestor logs `Dropped … delivery: …
 * out-of-range date …` and stores nothing); it never throws and never
 * stores a year-275760 run. Far-future but valid times (9999-12-31) are not
 * refused here: they are clamped when stored.
 */
import {
  OutOfRangeDateError,
  MAX_INSTANT_MS,
} from '@ci-experience/plugin-ci-experience-node';
import { ParsedDelivery } from './shared/DeliveryIngestor';
import { parseGithubDelivery } from '../../../ci-experience-backend-module-github/src/webhook';
import { githubRunSchema } from '../../../ci-experience-backend-module-github/src/mapping';
import { parseGitlabDelivery } from '../../../ci-experience-backend-module-gitlab/src/GitlabWebhook';
import { iso as gitlabIso } from '../../../ci-experience-backend-module-gitlab/src/mapping';
import { parseJenkinsDelivery } from '../../../ci-experience-backend-module-jenkins/src/webhook';
import {
  jenkinsBuildSchema,
  jenkinsStageSchema,
} from '../../../ci-experience-backend-module-jenkins/src/mapping';
import { parseBuildkiteDelivery } from '../../../ci-experience-backend-module-buildkite/src/webhook';
import {
  buildkiteBuildSchema,
  iso as buildkiteIso,
} from '../../../ci-experience-backend-module-buildkite/src/mapping';
import { parseCircleciDelivery } from '../../../ci-experience-backend-module-circleci/src/webhook';
import { iso as circleciIso } from '../../../ci-experience-backend-module-circleci/src/mapping';

const webhookExamples: Array<{
  name: string;
  examples: any[];
}> = require('@octokit/webhooks-examples');
const gitlabPipelineHook = require('../../../ci-experience-backend-module-gitlab/src/__fixtures__/pipeline-hook.json');
const gitlabJobHook = require('../../../ci-experience-backend-module-gitlab/src/__fixtures__/job-hook.json');
const jenkinsNotification = require('../../../ci-experience-backend-module-jenkins/src/__fixtures__/notification.json');
const jenkinsJob = require('../../../ci-experience-backend-module-jenkins/src/__fixtures__/job.json');
const jenkinsStages = require('../../../ci-experience-backend-module-jenkins/src/__fixtures__/wfapi-describe.json');
const buildkiteBuildFinished = require('../../../ci-experience-backend-module-buildkite/src/__fixtures__/build-finished.json');
const buildkiteJobFinished = require('../../../ci-experience-backend-module-buildkite/src/__fixtures__/job-finished.json');
const buildkiteRestBuild = require('../../../ci-experience-backend-module-buildkite/src/__fixtures__/build.json');
const circleciWorkflowCompleted = require('../../../ci-experience-backend-module-circleci/src/__fixtures__/workflow-completed.json');

/** The last instant a Date can hold: ISO text with a six-digit year. */
const YEAR_275760 = '+275760-09-13T00:00:00Z';
const BAD_TIMES = [YEAR_275760, 'not-a-date', '10000-01-01T00:00:00Z'];

const claimAll = async () => ({ source: 'claimed/source' });
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value));

/** Sets a dotted path (`a.b.0.c`) of a copy of the payload. */
function withValue(payload: object, path: string, value: unknown): any {
  const copy: any = clone(payload);
  const keys = path.split('.');
  let at = copy;
  for (const key of keys.slice(0, -1)) {
    at = at[key];
  }
  at[keys[keys.length - 1]] = value;
  return copy;
}

interface ProviderCase {
  provider: string;
  parse(payload: object): Promise<ParsedDelivery>;
  /** Real-shaped deliveries, and the times in them that are replaced. */
  deliveries: Array<{ name: string; payload: object; times: string[] }>;
}

const githubRun = webhookExamples
  .find(w => w.name === 'workflow_run')!
  .examples.find(e => e.action === 'completed');
const githubJob = webhookExamples
  .find(w => w.name === 'workflow_job')!
  .examples.find(e => e.action === 'completed');

const cases: ProviderCase[] = [
  {
    provider: 'GitHub',
    parse: payload =>
      parseGithubDelivery(
        {
          topic:
            'workflow_run' in payload
              ? 'github.workflow_run'
              : 'github.workflow_job',
          eventPayload: payload,
          metadata: {
            'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
          },
        },
        claimAll,
      ),
    deliveries: [
      {
        name: 'workflow_run',
        payload: githubRun,
        times: ['workflow_run.created_at', 'workflow_run.updated_at'],
      },
      {
        name: 'workflow_job',
        payload: githubJob,
        times: ['workflow_job.started_at', 'workflow_job.completed_at'],
      },
    ],
  },
  {
    provider: 'GitLab',
    parse: payload =>
      parseGitlabDelivery(
        {
          topic: `gitlab.${(payload as any).object_kind}`,
          eventPayload: payload,
          metadata: {
            'idempotency-key': '8f7e3b1c-5d2a-4e6f-9a0b-1c2d3e4f5a6b',
          },
        },
        claimAll,
      ),
    deliveries: [
      {
        name: 'pipeline hook',
        payload: gitlabPipelineHook,
        times: [
          'object_attributes.created_at',
          'object_attributes.finished_at',
        ],
      },
      {
        name: 'job hook',
        payload: gitlabJobHook,
        times: ['build_started_at', 'build_finished_at'],
      },
    ],
  },
  {
    provider: 'Buildkite',
    parse: payload =>
      parseBuildkiteDelivery(
        {
          topic: 'buildkite',
          eventPayload: payload,
          metadata: { 'x-buildkite-event': (payload as any).event },
        },
        claimAll,
      ),
    deliveries: [
      {
        name: 'build.finished',
        payload: buildkiteBuildFinished,
        times: ['build.created_at', 'build.finished_at'],
      },
      {
        name: 'job.finished',
        payload: buildkiteJobFinished,
        times: ['job.started_at', 'job.finished_at'],
      },
    ],
  },
  {
    provider: 'CircleCI',
    parse: payload =>
      parseCircleciDelivery(
        { topic: 'circleci', eventPayload: payload },
        async key =>
          key === 'circleci:circleci.com/gh/circleci/webhook-service'
            ? { source: 'gh/circleci/webhook-service' }
            : undefined,
      ),
    deliveries: [
      {
        name: 'workflow-completed',
        payload: circleciWorkflowCompleted,
        times: ['happened_at', 'workflow.created_at', 'workflow.stopped_at'],
      },
    ],
  },
];

const rows = cases.flatMap(c =>
  c.deliveries.flatMap(d =>
    d.times.flatMap(time =>
      BAD_TIMES.map(bad => [c.provider, d.name, time, bad, c, d] as const),
    ),
  ),
);

describe('webhook deliveries with an out-of-range time', () => {
  it.each(
    cases.flatMap(c =>
      c.deliveries.map(d => [c.provider, d.name, c, d] as const),
    ),
  )('%s %s: the fixture as published parses', async (_p, _n, c, d) => {
    const result = await c.parse(clone(d.payload));
    expect(result).toMatchObject({ ok: true });
  });

  it.each(rows)(
    '%s %s with %s = %s: refused as malformed',
    async (_p, _n, path, bad, c, d) => {
      const result = await c.parse(withValue(d.payload, path, bad));
      expect(result).toMatchObject({
        ok: false,
        reason: 'malformed',
        message: expect.stringMatching(
          bad === YEAR_275760
            ? `${path.split('.').pop()}: out-of-range date`
            : 'not a date',
        ),
      });
    },
  );

  it('accepts 9999-12-31, the last day the store can hold (clamped later, not refused)', async () => {
    const [gitlab] = cases.filter(c => c.provider === 'GitLab');
    const result = await gitlab.parse(
      withValue(
        gitlabPipelineHook,
        'object_attributes.finished_at',
        '9999-12-31 23:59:59 UTC',
      ),
    );
    expect(result).toMatchObject({ ok: true });
  });
});

describe('Jenkins notifications with an out-of-range time', () => {
  const parse = (payload: object) =>
    parseJenkinsDelivery(
      { topic: 'jenkins', eventPayload: payload },
      async () => ({ source: 'team-a/payments' }),
      { now: () => Date.parse('2026-11-20T12:00:00Z') },
    );

  it('parses the fixture as published', async () => {
    expect(await parse(clone(jenkinsNotification))).toMatchObject({ ok: true });
  });

  it.each([
    ['a timestamp in year 275760', { timestamp: Date.parse(YEAR_275760) }],
    ['a timestamp of 1e20 ms', { timestamp: 1e20 }],
    ['a timestamp before 1970', { timestamp: -1 }],
    // Today this made a RangeError, logged as a store error.
    [
      'a timestamp whose end (plus duration) is past 9999',
      { timestamp: MAX_INSTANT_MS - 1000, duration: 10_000 },
    ],
    [
      'no timestamp, and a duration of 8.64e15 ms',
      { timestamp: null, duration: 8.64e15 },
    ],
  ])('refuses %s as malformed', async (_name, build) => {
    const payload = clone(jenkinsNotification);
    Object.assign(payload.build, build);
    const result = await parse(payload);
    expect(result).toMatchObject({
      ok: false,
      reason: 'malformed',
      message: expect.stringContaining('out-of-range date'),
    });
  });
});

describe('provider answers with an out-of-range time (a sync skips that item)', () => {
  it.each([
    [
      'GitHub run',
      githubRunSchema,
      githubRun.workflow_run,
      'created_at',
      YEAR_275760,
    ],
    [
      'Buildkite build',
      buildkiteBuildSchema,
      buildkiteRestBuild,
      'started_at',
      YEAR_275760,
    ],
    [
      'Jenkins build',
      jenkinsBuildSchema,
      jenkinsJob.builds[0],
      'timestamp',
      8.64e15,
    ],
    [
      'Jenkins stage',
      jenkinsStageSchema,
      jenkinsStages.stages[0],
      'startTimeMillis',
      8.64e15,
    ],
  ] as const)('%s', (_name, schema: any, item, field, bad) => {
    expect(schema.safeParse(clone(item)).success).toBe(true);
    const parsed = schema.safeParse({ ...clone(item), [field]: bad });
    expect(parsed.success).toBe(false);
    expect(parsed.error.issues.map((i: any) => i.message).join()).toContain(
      'out-of-range date',
    );
  });

  it('the iso() helpers throw OutOfRangeDateError rather than store such a time', () => {
    for (const iso of [gitlabIso, buildkiteIso, circleciIso]) {
      expect(() => iso(YEAR_275760)).toThrow(OutOfRangeDateError);
      expect(() => iso('not-a-date')).toThrow(OutOfRangeDateError);
      expect(iso('2016-08-12T15:23:28Z')).toBe('2016-08-12T15:23:28.000Z');
    }
    expect(gitlabIso('2016-08-12 15:23:28 UTC')).toBe(
      '2016-08-12T15:23:28.000Z',
    );
  });
});
