import { MiddlewareFactory } from '@backstage/backend-defaults/rootHttpRouter';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import express from 'express';
import { Entity } from '@backstage/catalog-model';
import {
  CiProvider,
  CiProviderRun,
} from '@ci-experience/plugin-ci-experience-node';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { ciPluginFeatures } from '../__testUtils__/backend';
import { zipOf } from '@ci-experience/plugin-ci-experience-node/testUtils';
import { createTestResultsUploadRouter } from './testResults';

const FIXTURES = path.join(__dirname, '../testResults/__fixtures__/junit');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name));

// The sync and the listing settle in a few polls; bounded by polls.
jest.setTimeout(60_000);

// Two days ago, whenever the test runs: within every window. A run's
// attempts share its creation time, as GitHub keeps it.
const CREATED = Date.now() - 2 * 86400_000;

const runOf = (n: number, attempt = 1): CiProviderRun => ({
  providerRunId: String(n),
  attempt,
  runNumber: n,
  workflow: 'CI',
  status: 'failed',
  providerStatus: 'failure',
  branch: 'main',
  commitSha: `sha${n}`,
  url: `https://ci.example.com/runs/${n}`,
  createdAt: new Date(CREATED + n * 60_000).toISOString(),
  updatedAt: new Date(CREATED + n * 60_000 + 300_000).toISOString(),
});

const provider: CiProvider = {
  id: 'fake',
  annotations: ['fake.io/slug'],
  getSources: e => {
    const slug = e.metadata.annotations?.['fake.io/slug'];
    return slug
      ? [{ provider: 'fake', key: `fake:${slug}`, source: slug }]
      : [];
  },
  getSourceInfo: async () => ({ defaultBranch: 'main' }),
  listRuns: async () => ({ runs: [runOf(7, 2), runOf(7, 1), runOf(8)] }),
  getRun: async () => undefined,
  listJobs: async () => [],
};

const app: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'app',
    namespace: 'default',
    annotations: { 'fake.io/slug': 'org/app' },
  },
  spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
};

const team: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Group',
  metadata: { name: 'team-a', namespace: 'default' },
  spec: { type: 'team', children: [] },
};

async function start(ciExperience?: Record<string, any>) {
  const { server } = await startTestBackend({
    features: ciPluginFeatures({
      providers: [provider],
      entities: [app, team],
      allow: [{ provider: 'fake', source: 'org/*' }],
      ciExperience,
    }),
  });
  const http = request(server);
  // The first listing syncs the source; wait for it.
  for (let i = 0; i < 200; i++) {
    const res = await http
      .get(
        '/api/ci-experience/entities/component/default/app/runs?attempts=all',
      )
      .set('Authorization', mockCredentials.user.header());
    if (res.body.items?.length === 3 && !res.body.sources?.[0]?.syncing) {
      return {
        http,
        runs: res.body.items as Array<{
          id: string;
          runNumber: number;
          attempt: number;
        }>,
      };
    }
    await new Promise(r => setTimeout(r, 50));
  }
  throw new Error(
    `the sync did not finish: ${JSON.stringify(
      (
        await http
          .get(
            '/api/ci-experience/entities/component/default/app/runs?attempts=all',
          )
          .set('Authorization', mockCredentials.user.header())
      ).body,
    ).slice(0, 1500)}`,
  );
}

const upload = (
  http: ReturnType<typeof request>,
  query: string,
  body: Buffer,
  type = 'application/xml',
  auth: string | undefined = mockCredentials.service.header(),
) => {
  const req = http
    .post(`/api/ci-experience/test-results?${query}`)
    .set('content-type', type);
  if (auth) req.set('Authorization', auth);
  return req.send(body);
};

describe('test results routes', () => {
  it('takes a CI step’s JUnit for the latest attempt, and lists them on the run, failed first', async () => {
    const { http, runs } = await start();
    const latest = runs.find(r => r.runNumber === 7 && r.attempt === 2)!;

    const res = await upload(
      http,
      'provider=fake&source=org/app&runNumber=7',
      fixture('surefire-flaky.xml'),
    );
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ runId: latest.id, tests: 4 });

    const tests = await http
      .get(`/api/ci-experience/runs/${latest.id}/tests`)
      .set('Authorization', mockCredentials.user.header());
    expect(tests.status).toBe(200);
    expect(
      tests.body.items.map((t: any) => [t.name, t.status, t.message]),
    ).toEqual([
      [
        'failsAssertionAlways',
        'failed',
        'Always fails assertion ==> expected: <1> but was: <2>',
      ],
      ['throwsAlways', 'error', 'Always throws exception'],
      [
        'failsAssertionOnlyFirstAttempt',
        'flaky',
        'First attempt fails assertion ==> expected: <1> but was: <2>',
      ],
      ['throwsOnlyFirstAttempt', 'flaky', 'First attempt throws exception'],
    ]);
    expect(tests.body.items[0]).toMatchObject({
      suite: 'example.ExampleTests',
      classname: 'example.ExampleTests',
      durationMs: expect.any(Number),
    });

    // Sent again, as a zip this time, to attempt 1: nothing twice, and the
    // ids of tests are stable across runs.
    const first = runs.find(r => r.runNumber === 7 && r.attempt === 1)!;
    const zip = zipOf([
      {
        name: 'target/surefire-reports/TEST-example.xml',
        data: fixture('surefire-flaky.xml'),
      },
    ]);
    for (let i = 0; i < 2; i++) {
      const again = await upload(
        http,
        'provider=fake&source=org/app&runNumber=7&attempt=1',
        zip,
        'application/zip',
      );
      expect(again.body).toEqual({ runId: first.id, tests: 4 });
    }
    const firstTests = await http
      .get(`/api/ci-experience/runs/${first.id}/tests`)
      .set('Authorization', mockCredentials.user.header());
    expect(firstTests.body.items.map((t: any) => t.id).sort()).toEqual(
      tests.body.items.map((t: any) => t.id).sort(),
    );
  });

  it('answers bad uploads with a clear 4xx and stores nothing', async () => {
    const { http, runs } = await start();
    const q = 'provider=fake&source=org/app&runNumber=8';
    const xml = fixture('pytest.xml');

    // (The test backend takes a request without a header as a user's;
    // mockCredentials.none is one without credentials.)
    const anonymous = await upload(
      http,
      q,
      xml,
      'application/xml',
      mockCredentials.none.header(),
    );
    expect(anonymous.status).toBe(401);
    const asUser = await upload(
      http,
      q,
      xml,
      'application/xml',
      mockCredentials.user.header(),
    );
    expect(asUser.status).toBe(403);

    const cases: Array<[string, Buffer, string, number, RegExp]> = [
      [
        'provider=fake&source=org/app',
        xml,
        'application/xml',
        400,
        /runNumber is required/,
      ],
      [
        'provider=fake&source=org/app&runNumber=x',
        xml,
        'application/xml',
        400,
        /runNumber must be a positive integer/,
      ],
      [
        'provider=fake&source=org/app&runNumber=99',
        xml,
        'application/xml',
        404,
        /No run 99 of fake org\/app/,
      ],
      [
        'provider=fake&source=other/app&runNumber=8',
        xml,
        'application/xml',
        404,
        /No run 8/,
      ],
      [
        q,
        xml,
        'application/json',
        415,
        /must be application\/xml or application\/zip/,
      ],
      [
        q,
        xml,
        'constructor',
        415,
        /must be application\/xml or application\/zip/,
      ],
      [
        q,
        Buffer.from('<testsuite><testcase'),
        'application/xml',
        400,
        /Not well-formed XML/,
      ],
      [
        q,
        Buffer.from('<!DOCTYPE x [<!ENTITY a "b">]><testsuite/>'),
        'application/xml',
        400,
        /DOCTYPE/,
      ],
      [
        q,
        Buffer.from('not a zip'),
        'application/zip',
        400,
        /Not a readable zip/,
      ],
    ];
    for (const [query, body, type, status, message] of cases) {
      const res = await upload(http, query, body, type);
      expect([query, type, res.status]).toEqual([query, type, status]);
      expect(res.body.error.message).toMatch(message);
    }
    const run8 = runs.find(r => r.runNumber === 8)!;
    const tests = await http
      .get(`/api/ci-experience/runs/${run8.id}/tests`)
      .set('Authorization', mockCredentials.user.header());
    expect(tests.body).toEqual({ items: [] });
  });
});

describe('an entity’s tests', () => {
  it('are judged over the window: a test that failed, then passed on a rerun of its commit, is flaky', async () => {
    const { http, runs } = await start({
      testResults: { flaky: { minRuns: 2 } },
    });
    const report = (status: 'passed' | 'failed') =>
      Buffer.from(
        `<testsuite name="api"><testcase classname="api.Refunds" name="refunds a payment" time="2">${
          status === 'failed'
            ? '<failure message="connect ETIMEDOUT 10.0.0.5:5432"/>'
            : ''
        }</testcase><testcase classname="api.Refunds" name="lists refunds" time="1"/></testsuite>`,
      );
    // Run 7 (commit sha7): attempt 1 failed the test, attempt 2 passed it.
    const base = 'provider=fake&source=org/app&runNumber=7';
    expect(
      (await upload(http, `${base}&attempt=1`, report('failed'))).status,
    ).toBe(202);
    expect(
      (await upload(http, `${base}&attempt=2`, report('passed'))).status,
    ).toBe(202);

    const tests = async (query = '') =>
      http
        .get(`/api/ci-experience/entities/component/default/app/tests${query}`)
        .set('Authorization', mockCredentials.user.header());
    const all = await tests('?window=7d');
    expect(all.status).toBe(200);
    expect(
      all.body.items.map((t: any) => [t.name, t.state, t.runs, t.failures]),
    ).toEqual([
      ['refunds a payment', 'flaky', 2, 1],
      ['lists refunds', 'stable', 2, 0],
    ]);
    expect(all.body.items[0]).toMatchObject({
      flakeRate: 1,
      quarantined: false,
      id: expect.any(String),
      meanDurationMs: 2000,
    });
    // The window's totals, and the window before it (no results then).
    expect(all.body.totals).toEqual({
      tests: 2,
      flaky: 1,
      broken: 0,
      runs: 4,
      failures: 1,
      timeLostMs: expect.any(Number),
    });
    expect(all.body.previous).toEqual({
      tests: 0,
      flaky: 0,
      broken: 0,
      runs: 0,
      failures: 0,
      timeLostMs: 0,
    });
    expect(
      Date.parse(all.body.window.to) - Date.parse(all.body.window.from),
    ).toBe(7 * 86400_000);

    // The run page: each test's last results (attempt 1, then this one),
    // and the guide of the failure class its message matches.
    const attempt = (n: number) =>
      runs.find(r => r.runNumber === 7 && r.attempt === n)!.id;
    const onRun = async (id: string) =>
      (
        await http
          .get(`/api/ci-experience/runs/${id}/tests`)
          .set('Authorization', mockCredentials.user.header())
      ).body.items as any[];
    const second = await onRun(attempt(2));
    expect(second.map(t => [t.name, t.status, t.history])).toEqual([
      ['lists refunds', 'passed', ['passed', 'passed']],
      ['refunds a payment', 'passed', ['failed', 'passed']],
    ]);
    const [failed] = await onRun(attempt(1));
    expect(failed).toMatchObject({
      name: 'refunds a payment',
      status: 'failed',
      history: ['failed'],
      guide: {
        id: 'network-timeout',
        title: 'Network or DNS timeout',
        url: expect.stringMatching(/troubleshooting\/network-timeout\/$/),
      },
    });
    expect(failed.quarantined).toBeUndefined();

    // Its owners quarantine it: marked on the run page.
    const put = await http
      .put(
        `/api/ci-experience/entities/component/default/app/tests/${failed.id}/quarantine`,
      )
      .set('Authorization', mockCredentials.user.header())
      .send({
        reason: 'times out on the shared database',
        expiresAt: new Date(Date.now() + 7 * 86400_000).toISOString(),
      });
    expect(put.status).toBe(200);
    expect((await onRun(attempt(1)))[0].quarantined).toBe(true);

    // The team's page: the flaky tests of everything it owns.
    const rollup = await http
      .get('/api/ci-experience/groups/default/team-a/tests?window=7d')
      .set('Authorization', mockCredentials.user.header());
    expect(rollup.status).toBe(200);
    expect(rollup.body).toEqual({
      entities: 1,
      items: [
        expect.objectContaining({
          entityRef: 'component:default/app',
          name: 'refunds a payment',
          state: 'flaky',
          quarantined: true,
        }),
      ],
    });
    const noTeam = await http
      .get('/api/ci-experience/groups/default/nobody/tests')
      .set('Authorization', mockCredentials.user.header());
    expect(noTeam.status).toBe(404);
    const badWindow = await http
      .get('/api/ci-experience/groups/default/team-a/tests?window=1y')
      .set('Authorization', mockCredentials.user.header());
    expect([badWindow.status, badWindow.body.error.message]).toEqual([
      400,
      expect.stringMatching(/window/),
    ]);
    const flaky = await tests('?state=flaky');
    expect(flaky.body.items.map((t: any) => t.name)).toEqual([
      'refunds a payment',
    ]);
    const bad = await tests('?state=sometimes');
    expect([bad.status, bad.body.error.message]).toEqual([
      400,
      'Invalid query: state: state must be one of flaky, broken, fixed, stable',
    ]);
    expect((await tests('?window=1y')).status).toBe(400);
    const unknown = await http
      .get('/api/ci-experience/entities/component/default/nope/tests')
      .set('Authorization', mockCredentials.user.header());
    expect(unknown.status).toBe(404);
  });
});

describe('the upload router’s limits', () => {
  it('answers 413 past the byte limit and past the parser’s limits, 503 when the store fails', async () => {
    const stored: number[] = [];
    let failStore = false;
    const store = {
      findRun: async () => ({
        id: 'run-1',
        sourceKey: 'fake:org/app',
        attempt: 1,
      }),
      putResults: async (_run: unknown, cases: unknown[]) => {
        if (failStore) throw new Error('connection reset');
        stored.push(cases.length);
        return cases.length;
      },
    };
    const server = express();
    server.use(
      createTestResultsUploadRouter({
        httpAuth: mockServices.httpAuth({
          defaultCredentials: mockCredentials.service(),
        }),
        store,
        logger: mockServices.logger.mock(),
        maxBytes: 1024,
        limits: { maxCases: 2 },
      }),
    );
    server.use(
      MiddlewareFactory.create({
        config: mockServices.rootConfig(),
        logger: mockServices.logger.mock(),
      }).error(),
    );
    const post = (body: string) =>
      request(server)
        .post('/test-results?provider=fake&source=org/app&runNumber=1')
        .set('content-type', 'application/xml')
        .send(body);

    const big = await post(`<testsuite>${' '.repeat(2048)}</testsuite>`);
    expect([big.status, big.body.error.message]).toEqual([
      413,
      'Test results are limited to 1024 bytes',
    ]);
    const many = await post(
      `<testsuite>${'<testcase name="a"/>'.repeat(3)}</testsuite>`,
    );
    expect([many.status, many.body.error.message]).toEqual([
      413,
      'More than 2 test cases in one upload',
    ]);
    failStore = true;
    const lost = await post('<testsuite><testcase name="a"/></testsuite>');
    expect([lost.status, lost.headers['retry-after']]).toEqual([503, '30']);
    failStore = false;
    const ok = await post('<testsuite><testcase name="a"/></testsuite>');
    expect([ok.status, ok.body]).toEqual([202, { runId: 'run-1', tests: 1 }]);
    expect(stored).toEqual([1]);
  });
});
