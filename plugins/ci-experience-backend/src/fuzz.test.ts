/* eslint-disable @backstage/no-relative-monorepo-imports -- this test reads the provider modules' recorded fixtures */
import { providerModules } from './__testUtils__/backend';
/*
 * Every route of the plugin, and every webhook ingress it adds, under
 * generated requests: random and hostile paths, query strings, bodies and
 * headers, including each route's documented parameters with hostile
 * values, and real provider payloads (published examples) mutated field by
 * field and correctly signed, so that they reach the parsers. Against one
 * real test backend (events backend, the plugin and its ingress module,
 * GitHub Actions against the simulator, SQLite):
 *
 * - no answer is a 5xx;
 * - no answer contains a configured secret, nor a Slack URL a request sent;
 * - no unhandled rejection, and the backend still answers at the end.
 *
 * `yarn test` sends CI_EXPERIENCE_FUZZ_RUNS requests (default 500);
 * `.ci/run` sets 10,000. A failure prints the shrunk request and the seed
 * (`CI_EXPERIENCE_FUZZ_SEED` replays it).
 */
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { BackendFeature } from '@backstage/backend-plugin-api';
import { Entity } from '@backstage/catalog-model';
import eventsPlugin from '@backstage/plugin-events-backend';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { eventsServiceFactory } from '@backstage/plugin-events-node';
import { CiRunsResponse } from '@ci-experience/plugin-ci-experience-common';
import fc from 'fast-check';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { createHmac, randomUUID } from 'node:crypto';
import { request as httpRequest, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import { ciExperiencePlugin } from './plugin';
import { createGithub } from './__testUtils__/github';

const RUNS = Number(process.env.CI_EXPERIENCE_FUZZ_RUNS ?? 500);
const SEED = process.env.CI_EXPERIENCE_FUZZ_SEED
  ? Number(process.env.CI_EXPERIENCE_FUZZ_SEED)
  : undefined;

// 10,000 requests on a slow machine: minutes, not seconds.
jest.setTimeout(30 * 60_000);

/** Every secret the backend is configured with: none may be answered. */
const SECRETS = {
  githubToken: 'ghp_fuzzTokenFuzzToken0123456789abcdefgh',
  githubWebhook: 'fuzz-github-webhook-secret-0123456789',
  gitlabWebhook: 'fuzz-gitlab-webhook-secret-0123456789',
  jenkinsApiKey: 'fuzz-jenkins-api-key-0123456789abcdef',
  jenkinsWebhook: 'fuzz-jenkins-webhook-token-0123456789',
  buildkiteApi: 'bkua_fuzzBuildkiteToken0123456789abcdef',
  buildkiteWebhook: 'fuzz-buildkite-signing-secret-012345',
  circleciApi: 'CCIPAT_fuzzCircle_0123456789abcdef0123456789',
  circleciWebhook: 'fuzz-circleci-webhook-secret-0123456789',
  alertsKey: 'fuzz-alerts-encryption-key-0123456789abcdef',
};

function loadedModules(pkg: string, files: string[]): BackendFeature[] {
  const dist = path.join(
    path.dirname(require.resolve(`${pkg}/package.json`)),
    'dist',
  );
  return files.map(file => require(path.join(dist, file)).default);
}

const PAYLOADS: Record<string, unknown> = {
  github: require('@octokit/webhooks-examples')
    .find((w: { name: string }) => w.name === 'workflow_run')
    .examples.find((e: { action: string }) => e.action === 'completed'),
  gitlab: require('../../ci-experience-backend-module-gitlab/src/__fixtures__/pipeline-hook.json'),
  jenkins: require('../../ci-experience-backend-module-jenkins/src/__fixtures__/notification.json'),
  buildkite: require('../../ci-experience-backend-module-buildkite/src/__fixtures__/build-finished.json'),
  circleci: require('../../ci-experience-backend-module-circleci/src/__fixtures__/workflow-completed.json'),
};

const component = (name: string, annotations: Record<string, string>) =>
  ({
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default', annotations },
    spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
  } satisfies Entity);

const entities = [
  component('payments-service', {
    'github.com/project-slug': 'demo-org/payments-service',
    'backstage.io/managed-by-location':
      'url:https://github.com/demo-org/payments-service/blob/main/catalog-info.yaml',
  }),
  component('monorepo-part', {
    'github.com/project-slug': 'demo-org/payments-service',
    'ci-experience.io/workflows': 'CI, .github/workflows/*',
  }),
  component('octo', { 'github.com/project-slug': 'octo-org/octo-repo' }),
  component('jenkins-app', { 'jenkins.io/job-full-name': 'team-a/payments' }),
  component('bk-app', {
    'buildkite.com/pipeline-slug': 'my-great-org/my-pipeline',
  }),
  component('circle-app', {
    'circleci.com/project-slug': 'gh/circleci/webhook-service',
  }),
  component('gl-app', {
    'gitlab.com/project-slug': 'gitlab-org/gitlab-test',
  }),
  component('intruder', { 'github.com/project-slug': 'acme/secret-infra' }),
];

const config = {
  events: {
    useEventBus: 'never',
    modules: { github: { webhookSecret: SECRETS.githubWebhook } },
  },
  integrations: {
    github: [{ host: 'github.com', token: SECRETS.githubToken }],
  },
  ciExperience: {
    sources: {
      allow: [
        { provider: 'github-actions', source: 'octo-org/*' },
        { provider: 'jenkins', source: 'team-a/*' },
        { provider: 'buildkite', source: 'my-great-org/*' },
        { provider: 'circleci', source: 'gh/circleci/*' },
      ],
    },
    sync: {
      schedule: {
        frequency: { hours: 24 },
        timeout: { minutes: 1 },
        initialDelay: { hours: 24 },
      },
    },
    alerts: {
      encryptionKeys: [{ id: 'fuzz', secret: SECRETS.alertsKey }],
      schedule: {
        frequency: { hours: 24 },
        timeout: { minutes: 1 },
        initialDelay: { hours: 24 },
      },
    },
    providers: {
      gitlab: { webhookSecret: SECRETS.gitlabWebhook },
      jenkins: {
        instances: [
          {
            name: 'ci',
            baseUrl: 'https://jenkins.example.com',
            username: 'bot',
            apiKey: SECRETS.jenkinsApiKey,
          },
        ],
        webhookToken: SECRETS.jenkinsWebhook,
      },
      buildkite: {
        apiToken: SECRETS.buildkiteApi,
        webhookSigningSecret: SECRETS.buildkiteWebhook,
      },
      circleci: {
        apiToken: SECRETS.circleciApi,
        webhookSecret: SECRETS.circleciWebhook,
      },
    },
  },
};

const sim = createGithub();
const apis = setupServer(
  ...sim.github.handlers(),
  http.post('https://hooks.slack.com/*', () => new HttpResponse('ok')),
  // Every other provider API answers 404: syncs fail and say so.
  http.all(/^https?:\/\/(?!localhost|127\.0\.0\.1|\[::1\])/, () =>
    HttpResponse.json({ message: 'Not Found' }, { status: 404 }),
  ),
);

const hmacHex = (secret: string, data: string) =>
  createHmac('sha256', secret).update(data).digest('hex');

/** Headers that make a body a correctly signed delivery of a topic. */
function signed(topic: string, body: string): Record<string, string> {
  const timestamp = Math.floor(Date.now() / 1000);
  switch (topic) {
    case 'github':
      return {
        'x-github-event': 'workflow_run',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': `sha256=${hmacHex(SECRETS.githubWebhook, body)}`,
      };
    case 'gitlab':
      return {
        'x-gitlab-event': 'Pipeline Hook',
        'x-gitlab-token': SECRETS.gitlabWebhook,
      };
    case 'jenkins':
      return { 'x-jenkins-token': SECRETS.jenkinsWebhook };
    case 'buildkite':
      return {
        'x-buildkite-event': 'build.finished',
        'x-buildkite-signature': `timestamp=${timestamp},signature=${hmacHex(
          SECRETS.buildkiteWebhook,
          `${timestamp}.${body}`,
        )}`,
      };
    default:
      return {
        'circleci-event-type': 'workflow-completed',
        'circleci-signature': `v1=${hmacHex(SECRETS.circleciWebhook, body)}`,
      };
  }
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Values that have broken parsers, routers and SQL before. */
const HOSTILE = [
  '',
  ' ',
  '..',
  '../..',
  '%',
  '%00',
  '%zz',
  '%E0%A4%A',
  '\u0000',
  '\u202e',
  "'; DROP TABLE ci_runs;--",
  '" OR 1=1 --',
  '<script>alert(1)</script>',
  '<!channel>',
  '*'.repeat(40),
  `${'*a'.repeat(30)}*b`,
  'a'.repeat(5000),
  '💥',
  '__proto__',
  'constructor',
  'toString',
  '-1',
  '0',
  '1e309',
  'NaN',
  'Infinity',
  '9999-12-31T23:59:59Z',
  '+275760-09-13T00:00:00.000Z',
  '[]',
  '{}',
  'null',
  'true',
];

/** A character as percent-encoded UTF-8 (a lone surrogate as U+FFFD). */
const pct = (c: string) =>
  [...Buffer.from(c, 'utf8')]
    .map(b => `%${b.toString(16).toUpperCase().padStart(2, '0')}`)
    .join('');

/** Percent-encodes a value for a URL, or, sometimes, leaves it raw. */
const inUrl = (value: string, raw: boolean) =>
  value.replace(raw ? /[^\x21-\x7e]/gu : /[^A-Za-z0-9\-_.~]/gu, pct);

const hostile = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer().map(String) },
);

/** A known-good value or a hostile one, for a route parameter. */
const param = (...known: string[]) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...known) },
    { weight: 1, arbitrary: hostile },
  );

/** Times that providers, clocks and attackers have sent. */
const BAD_TIMES = [
  '9999-12-31T23:59:59Z',
  '+275760-09-13T00:00:00.000Z',
  '1969-12-31T23:59:59Z',
  '2026-13-45T99:99:99Z',
  'yesterday',
  '',
  -1,
  1e20,
  8.64e15 + 1,
];

/**
 * A mutated copy of a JSON value: one field replaced, removed or retyped;
 * half the time a field that holds a time, given a bad time.
 */
function mutate(value: unknown): fc.Arbitrary<unknown> {
  const json = JSON.stringify(value);
  const paths: string[][] = [];
  const walk = (v: unknown, at: string[]) => {
    if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        paths.push([...at, k]);
        if (at.length < 4) {
          walk(child, [...at, k]);
        }
      }
    }
  };
  walk(value, []);
  if (paths.length === 0) {
    return fc.constant(value);
  }
  const times = paths.filter(p =>
    /(_at|At|time|timestamp|date|Since|duration)$/i.test(p[p.length - 1]),
  );
  const anyField = fc.tuple(
    fc.constantFrom(...paths),
    fc.oneof(
      hostile,
      fc.constantFrom(null, undefined, 0, -1, 1e20, [], {}, true),
      fc.jsonValue({ maxDepth: 2 }),
    ),
  );
  const timeField = times.length
    ? fc.tuple(
        fc.constantFrom(...times),
        fc.constantFrom<unknown>(...BAD_TIMES),
      )
    : anyField;
  return fc.oneof(anyField, timeField).map(([at, replacement]) => {
    const copy = JSON.parse(json);
    let node = copy;
    for (const key of at.slice(0, -1)) {
      node = node[key];
    }
    if (replacement === undefined) {
      delete node[at[at.length - 1]];
    } else {
      node[at[at.length - 1]] = replacement;
    }
    return copy;
  });
}

const VALID_RULE = {
  name: 'Main broken',
  kind: 'default-branch-broken',
  params: { runs: 2 },
  severity: 'critical',
  enabled: true,
  notifications: true,
  branches: ['main'],
  slackWebhookUrl: 'https://hooks.slack.com/services/T0/B0/fuzz-rule-url',
};

/** A valid rule, or one with a field made hostile, or anything at all. */
const alertRule = fc.oneof(
  { weight: 1, arbitrary: fc.constant(VALID_RULE) },
  { weight: 4, arbitrary: mutate(VALID_RULE) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      {
        ...VALID_RULE,
        kind: 'success-rate-below',
        params: { percent: 90, window: '7d', minRuns: 5 },
      },
      { ...VALID_RULE, kind: 'run-stuck', params: { minutes: 1e9 } },
      {
        ...VALID_RULE,
        slackWebhookUrl: 'https://169.254.169.254/latest/meta-data',
      },
      { ...VALID_RULE, slackWebhookUrl: ['javascript', 'alert(1)'].join(':') },
      { ...VALID_RULE, slackWebhookUrl: null },
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

function requests(ids: { runs: string[]; jobs: string[]; rules: string[] }) {
  const entityParams = fc.tuple(
    param('component', 'Component', 'group', 'system'),
    param('default'),
    param(
      'payments-service',
      'monorepo-part',
      'octo',
      'intruder',
      'jenkins-app',
      'nope',
    ),
  );
  const entityPath = fc
    .tuple(entityParams, fc.boolean())
    .map(
      ([[k, ns, n], r]) =>
        `/entities/${inUrl(k, r)}/${inUrl(ns, r)}/${inUrl(n, r)}`,
    );
  const runId = param(...ids.runs, 'AAAAAAAAAAAAAAAAAAAAAA');
  const ruleId = param(...ids.rules, '00000000-0000-0000-0000-000000000000');
  const queryValue = fc.oneof(
    hostile,
    fc.constantFrom(
      'main',
      'CI',
      'failed,succeeded',
      'github-actions',
      '1',
      '100',
      '101',
      'allowed',
      '30d',
      '7d',
      '2026-11-01',
      'all',
    ),
  );
  const query = fc
    .array(
      fc.tuple(
        fc.oneof(
          {
            weight: 4,
            arbitrary: fc.constantFrom(
              'branch',
              'workflow',
              'status',
              'provider',
              'limit',
              'cursor',
              'branchScope',
              'window',
              'from',
              'to',
              'branches',
              'attempts',
            ),
          },
          { weight: 1, arbitrary: hostile },
        ),
        queryValue,
        fc.boolean(),
      ),
      { maxLength: 4 },
    )
    .map(pairs =>
      pairs.length === 0
        ? ''
        : `?${pairs
            .map(([k, v, raw]) => `${inUrl(k, raw)}=${inUrl(v, raw)}`)
            .join('&')}`,
    );
  const raw = fc.boolean();

  const route: fc.Arbitrary<{ method: string; path: string; body?: unknown }> =
    fc.oneof(
      fc
        .tuple(entityPath, query)
        .map(([e, q]) => ({ method: 'GET', path: `${e}/runs${q}` })),
      fc
        .tuple(runId, raw)
        .map(([id, r]) => ({ method: 'GET', path: `/runs/${inUrl(id, r)}` })),
      fc
        .tuple(runId, param(...ids.jobs, 'build', 'gone'), raw)
        .map(([id, job, r]) => ({
          method: 'GET',
          path: `/runs/${inUrl(id, r)}/jobs/${inUrl(job, r)}/log`,
        })),
      fc
        .tuple(
          entityPath,
          runId,
          fc.constantFrom('rerun', 'cancel'),
          fc.jsonValue({ maxDepth: 2 }),
          fc.constantFrom(
            { failedOnly: true },
            { failedOnly: false },
            undefined,
          ),
        )
        .map(([e, id, action, junk, good]) => ({
          method: 'POST',
          path: `${e}/runs/${inUrl(id, false)}/${action}`,
          body: good ?? junk,
        })),
      fc
        .tuple(entityPath, query)
        .map(([e, q]) => ({ method: 'GET', path: `${e}/insights${q}` })),
      fc
        .tuple(
          fc.constantFrom('groups', 'systems'),
          param('default'),
          param('team-a', 'shop'),
          query,
        )
        .map(([kind, ns, n, q]) => ({
          method: 'GET',
          path: `/${kind}/${inUrl(ns, false)}/${inUrl(n, false)}/insights${q}`,
        })),
      fc
        .tuple(entityPath)
        .map(([e]) => ({ method: 'GET', path: `${e}/alert-rules` })),
      fc
        .tuple(entityPath)
        .map(([e]) => ({ method: 'GET', path: `${e}/alerts` })),
      fc.tuple(entityPath, alertRule).map(([e, rule]) => ({
        method: 'POST',
        path: `${e}/alert-rules`,
        body: rule,
      })),
      fc.tuple(entityPath, alertRule).map(([e, rule]) => ({
        method: 'POST',
        path: `${e}/alert-rules/preview`,
        body: rule,
      })),
      fc.tuple(ruleId).map(([id]) => ({
        method: 'GET',
        path: `/alert-rules/${inUrl(id, false)}`,
      })),
      fc.tuple(ruleId, alertRule).map(([id, rule]) => ({
        method: 'PUT',
        path: `/alert-rules/${inUrl(id, false)}`,
        body: rule,
      })),
      fc.tuple(ruleId).map(([id]) => ({
        method: 'DELETE',
        path: `/alert-rules/${inUrl(id, false)}`,
      })),
      fc
        .tuple(
          fc.constantFrom(
            'GET',
            'POST',
            'PUT',
            'DELETE',
            'PATCH',
            'OPTIONS',
            'HEAD',
          ),
          fc.array(hostile, { minLength: 1, maxLength: 4 }),
          raw,
        )
        .map(([method, parts, r]) => ({
          method,
          path: `/${parts.map(p => inUrl(p, r)).join('/')}`,
        })),
    );

  const apiRequest = fc
    .tuple(
      route,
      fc.constantFrom(
        'user',
        'other-user',
        'service',
        'none',
        'invalid',
        'garbage',
      ),
      fc.constantFrom(
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=utf-16',
        undefined,
      ),
      fc.oneof(
        { weight: 8, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            '{',
            '[1,',
            'x'.repeat(200_000),
            '{"a":'.repeat(5000),
          ),
        },
      ),
    )
    .map(([r, who, type, rawBody]): FuzzRequest => {
      const headers: Record<string, string> = {};
      if (who === 'user') {
        headers.authorization = mockCredentials.user.header();
      } else if (who === 'other-user') {
        headers.authorization = mockCredentials.user.header(
          'user:default/mallory',
        );
      } else if (who === 'service') {
        headers.authorization = mockCredentials.service.header();
      } else if (who === 'invalid') {
        headers.authorization = mockCredentials.user.invalidHeader();
      } else if (who === 'garbage') {
        headers.authorization = 'Bearer \u00ff\u00fe';
      }
      if (type) {
        headers['content-type'] = type;
      }
      const body =
        rawBody ?? (r.body === undefined ? undefined : JSON.stringify(r.body));
      return {
        method: r.method,
        path: `/api/ci-experience${r.path}`,
        headers,
        body,
      };
    });

  const webhook = fc
    .constantFrom('github', 'gitlab', 'jenkins', 'buildkite', 'circleci')
    .chain(topic =>
      fc.tuple(
        fc.constant(topic),
        fc.oneof(
          { weight: 4, arbitrary: mutate(PAYLOADS[topic]) },
          { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
        ),
        fc.boolean(),
      ),
    )
    .map(([topic, payload, sign]): FuzzRequest => {
      const body = JSON.stringify(payload) ?? 'null';
      return {
        method: 'POST',
        path: `/api/events/http/${topic}`,
        headers: {
          'content-type': 'application/json',
          ...(sign ? signed(topic, body) : {}),
        },
        body,
      };
    });

  return fc.oneof(
    { weight: 3, arbitrary: apiRequest },
    { weight: 1, arbitrary: webhook },
  );
}

/** Sends a request as bytes on the wire: no client library tidies it up. */
function send(
  port: number,
  req: FuzzRequest,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: req.method,
        // Node sends no raw space or control character in a path; the
        // server's decoding of everything else is under test.
        path: req.path.replace(/[^\x21-\x7e]/gu, pct),
        headers: {
          ...req.headers,
          ...(req.body !== undefined
            ? { 'content-length': Buffer.byteLength(req.body) }
            : {}),
        },
      },
      res => {
        const chunks: Buffer[] = [];
        res.on('data', c => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(req.body);
  });
}

describe('every route under generated requests', () => {
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  let server: Server;
  let port: number;
  // One logger for every plugin: an error line is a failure the request
  // caused (bad input is a warning at most, or a 4xx).
  const logger = mockServices.logger.mock();
  logger.child.mockReturnValue(logger);

  beforeAll(async () => {
    apis.listen({ onUnhandledRequest: 'bypass' });
    process.on('unhandledRejection', onRejection);
    ({ server } = (await startTestBackend({
      features: [
        eventsPlugin,
        ...loadedModules('@backstage/plugin-events-backend-module-github', [
          'service/eventsModuleGithubEventRouter.cjs.js',
          'service/eventsModuleGithubWebhook.cjs.js',
        ]),
        ...loadedModules('@backstage/plugin-events-backend-module-gitlab', [
          'service/eventsModuleGitlabEventRouter.cjs.js',
        ]),
        ciExperiencePlugin,
        ...providerModules,
        eventsServiceFactory,
        mockServices.httpAuth.factory({
          defaultCredentials: mockCredentials.none(),
        }),
        mockServices.database.factory(),
        logger.factory,
        catalogServiceMock.factory({ entities }),
        mockServices.rootConfig.factory({ data: config }),
      ],
    })) as { server: Server });
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => {
    process.off('unhandledRejection', onRejection);
    apis.close();
  });

  it(`answers ${RUNS} generated requests without a 5xx, a secret or a crash`, async () => {
    // Real ids to aim at: the demo repository's runs, jobs and a rule.
    const user = { authorization: mockCredentials.user.header() };
    let listed: CiRunsResponse | undefined;
    for (let i = 0; i < 200; i++) {
      const res = await send(port, {
        method: 'GET',
        path: '/api/ci-experience/entities/component/default/payments-service/runs?limit=100',
        headers: user,
      });
      listed = JSON.parse(res.body);
      if (listed?.sources.every(s => !s.syncing) && listed.items.length) {
        break;
      }
      await new Promise(r => setTimeout(r, 50));
    }
    const runs = listed!.items.map(r => r.id).slice(0, 20);
    // Every entity listed once: their sources are claimed, so that
    // deliveries reach the parsers and the store.
    for (const { metadata } of entities) {
      await send(port, {
        method: 'GET',
        path: `/api/ci-experience/entities/component/default/${metadata.name}/runs`,
        headers: user,
      });
    }
    const detail = JSON.parse(
      (
        await send(port, {
          method: 'GET',
          path: `/api/ci-experience/runs/${runs[0]}`,
          headers: user,
        })
      ).body,
    );
    const jobs = (detail.jobs ?? []).map((j: { id: string }) => j.id);
    const rule = JSON.parse(
      (
        await send(port, {
          method: 'POST',
          path: '/api/ci-experience/entities/component/default/payments-service/alert-rules',
          headers: { ...user, 'content-type': 'application/json' },
          body: JSON.stringify({
            name: 'Main broken',
            kind: 'default-branch-broken',
            params: { runs: 2 },
            severity: 'critical',
            enabled: true,
            notifications: true,
            slackWebhookUrl:
              'https://hooks.slack.com/services/T0/B0/fuzz-seed-url',
          }),
        })
      ).body,
    );
    expect(rule.id).toBeDefined();

    const secrets = [
      ...Object.values(SECRETS),
      'fuzz-seed-url',
      'fuzz-rule-url',
    ];
    const failures: string[] = [];
    const tally = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        requests({
          runs,
          jobs: jobs.length ? jobs : ['build'],
          rules: [rule.id],
        }),
        async req => {
          const res = await send(port, req);
          const parts = req.path.split('?')[0].split('/');
          const kind = `${req.method} ${parts[2]}/${parts[3]}${
            parts[3] === 'entities' ? `/${parts.slice(7).join('/')}` : ''
          } ${res.status}`;
          tally.set(kind, (tally.get(kind) ?? 0) + 1);
          const sentSlack =
            req.body?.match(/hooks\.slack\.com\/services\/[^"\\]+/g) ?? [];
          const leaked = [...secrets, ...sentSlack].filter(s =>
            res.body.includes(s),
          );
          if (res.status >= 500 || leaked.length > 0) {
            failures.push(
              `${req.method} ${req.path} -> ${res.status} ${res.body.slice(
                0,
                300,
              )}${leaked.length ? ` (leaked ${leaked.join(', ')})` : ''}`,
            );
            return false;
          }
          return true;
        },
      ),
      { numRuns: RUNS, seed: SEED, endOnFailure: false },
    );
    if (process.env.CI_EXPERIENCE_FUZZ_TALLY) {
      // eslint-disable-next-line no-console
      console.log(
        [...tally]
          .sort()
          .map(([k, n]) => `${n}\t${k}`)
          .join('\n'),
      );
    }
    expect(failures).toEqual([]);
    expect(rejections).toEqual([]);
    expect(logger.error.mock.calls.map(c => String(c[0]))).toEqual([]);
    // Still up, and what it stored is true: no time in the future, each
    // in the one canonical form.
    const latest = Date.now() + 5 * 60_000;
    const wrong: string[] = [];
    for (const { metadata } of entities) {
      const res = await send(port, {
        method: 'GET',
        path: `/api/ci-experience/entities/component/default/${metadata.name}/runs?limit=100`,
        headers: user,
      });
      expect(res.status).toBe(200);
      for (const run of (JSON.parse(res.body) as CiRunsResponse).items) {
        for (const time of [run.createdAt, run.startedAt, run.finishedAt]) {
          if (
            time !== undefined &&
            (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(time) ||
              Date.parse(time) > latest)
          ) {
            wrong.push(
              `${metadata.name} ${run.source} #${run.runNumber}: ${time}`,
            );
          }
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
