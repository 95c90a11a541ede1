import { AuditorServiceEvent } from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { ciTestQuarantinePermission } from '@ci-experience/plugin-ci-experience-common';
import {
  CiProvider,
  CiProviderRun,
} from '@ci-experience/plugin-ci-experience-node';
import request from 'supertest';
import { ciPluginFeatures } from '../__testUtils__/backend';

jest.setTimeout(60_000);

const OWNER = 'user:default/owner';
const DAY = 86400_000;

const runOf = (n: number): CiProviderRun => ({
  providerRunId: String(n),
  attempt: 1,
  runNumber: n,
  workflow: 'CI',
  status: 'failed',
  providerStatus: 'failure',
  branch: 'main',
  commitSha: `sha${n}`,
  url: `https://ci.example.com/runs/${n}`,
  createdAt: new Date(Date.now() - DAY).toISOString(),
  updatedAt: new Date(Date.now() - DAY).toISOString(),
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
  listRuns: async () => ({ runs: [runOf(1)] }),
  getRun: async () => undefined,
  listJobs: async () => [],
};

const entity = (name: string, slug: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name,
    namespace: 'default',
    annotations: { 'fake.io/slug': slug },
  },
  spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
});

async function start() {
  // Only the owner may quarantine: the decision follows who asks, as the
  // portal's policy's (the catalog's isEntityOwner) would.
  const permissions = mockServices.permissions.mock({
    authorize: jest.fn(async (requests, { credentials }) =>
      requests.map(({ permission }: any) => ({
        result:
          permission.name === ciTestQuarantinePermission.name &&
          (credentials.principal as { userEntityRef?: string })
            .userEntityRef === OWNER
            ? AuthorizeResult.ALLOW
            : AuthorizeResult.DENY,
      })),
    ) as any,
  });
  const audited: string[] = [];
  const auditor = mockServices.auditor.mock({
    createEvent: jest.fn(async ({ eventId }) => {
      const event: AuditorServiceEvent = {
        success: async () => {
          audited.push(`${eventId} success`);
        },
        fail: async ({ error }) => {
          audited.push(`${eventId} fail: ${error.name}`);
        },
      };
      return event;
    }),
  });
  const { server } = await startTestBackend({
    features: [
      ...ciPluginFeatures({
        providers: [provider],
        entities: [entity('app', 'org/app'), entity('other', 'org/other')],
        allow: [{ provider: 'fake', source: 'org/*' }],
      }),
      permissions.factory,
      auditor.factory,
    ],
  });
  const http = request(server);
  const as = (user: string) => mockCredentials.user.header(user);
  // Sync, then post a report for run 1 of org/app.
  for (let i = 0; i < 200; i++) {
    const res = await http
      .get('/api/ci-experience/entities/component/default/app/runs')
      .set('Authorization', as(OWNER));
    if (res.body.items?.length === 1 && !res.body.sources?.[0]?.syncing) break;
    await new Promise(r => setTimeout(r, 50));
  }
  const upload = await http
    .post(
      '/api/ci-experience/test-results?provider=fake&source=org/app&runNumber=1',
    )
    .set('Authorization', mockCredentials.service.header())
    .set('content-type', 'application/xml')
    .send(
      Buffer.from(
        '<testsuite name="api"><testcase classname="api.Refunds" name="refunds" time="1"><failure message="timed out"/></testcase><testcase classname="api.Refunds" name="lists" time="1"/></testsuite>',
      ),
    );
  expect(upload.status).toBe(202);
  const run = await http
    .get(`/api/ci-experience/runs/${upload.body.runId}/tests`)
    .set('Authorization', as(OWNER));
  const testId = run.body.items.find((t: any) => t.name === 'refunds').id;
  return { http, as, audited, testId };
}

describe('quarantine', () => {
  it('the owner quarantines a test with a reason and an expiry; CI reads it; others may not', async () => {
    const { http, as, audited, testId } = await start();
    const path = `/api/ci-experience/entities/component/default/app/tests/${testId}/quarantine`;
    const expiresAt = new Date(Date.now() + 7 * DAY).toISOString();

    const denied = await http
      .put(path)
      .set('Authorization', as('user:default/someone'))
      .send({ reason: 'flaky since the DB upgrade', expiresAt });
    expect([denied.status, denied.body.error.message]).toEqual([
      403,
      'Only the owners of component:default/app may quarantine its tests',
    ]);

    const put = await http
      .put(path)
      .set('Authorization', as(OWNER))
      .send({ reason: 'flaky since the DB upgrade', expiresAt });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({
      testId,
      entityRef: 'component:default/app',
      suite: 'api',
      classname: 'api.Refunds',
      name: 'refunds',
      reason: 'flaky since the DB upgrade',
      expiresAt,
      createdBy: OWNER,
      createdAt: expect.any(String),
    });
    expect(audited).toEqual([
      'test-quarantine fail: NotAllowedError',
      'test-quarantine success',
    ]);

    // The entity's page and its tests list show it.
    const listed = await http
      .get('/api/ci-experience/entities/component/default/app/quarantine')
      .set('Authorization', as('user:default/someone'));
    expect(listed.body.items.map((q: any) => q.testId)).toEqual([testId]);
    const tests = await http
      .get('/api/ci-experience/entities/component/default/app/tests')
      .set('Authorization', as('user:default/someone'));
    expect(tests.body.items.map((t: any) => [t.name, t.quarantined])).toEqual([
      ['refunds', true],
      ['lists', false],
    ]);

    // A CI step of the source reads the list, as JSON or as lines.
    const ci = (query: string) =>
      http
        .get(`/api/ci-experience/quarantine?${query}`)
        .set('Authorization', mockCredentials.service.header());
    expect((await ci('source=org/app')).body.items).toEqual([put.body]);
    const text = await ci('source=org/app&provider=fake&format=text');
    expect([text.status, text.type, text.text]).toEqual([
      200,
      'text/plain',
      'api.Refunds.refunds\n',
    ]);
    expect((await ci('source=org/other')).body.items).toEqual([]);
    expect((await ci('source=org/app&provider=other')).body.items).toEqual([]);
    expect((await ci('format=text')).status).toBe(400);

    // Lifted by the owner only.
    const notOwner = await http
      .delete(path)
      .set('Authorization', as('user:default/someone'));
    expect(notOwner.status).toBe(403);
    expect(
      (await http.delete(path).set('Authorization', as(OWNER))).status,
    ).toBe(204);
    expect(
      (await http.delete(path).set('Authorization', as(OWNER))).status,
    ).toBe(404);
    expect((await ci('source=org/app')).body.items).toEqual([]);
  });

  it('refuses a quarantine without a reason, past, too long, or of another entity’s test', async () => {
    const { http, as, testId } = await start();
    const put = (entityName: string, id: string, body: object) =>
      http
        .put(
          `/api/ci-experience/entities/component/default/${entityName}/tests/${id}/quarantine`,
        )
        .set('Authorization', as(OWNER))
        .send(body);
    const soon = new Date(Date.now() + DAY).toISOString();
    const cases: Array<[string, string, object, number, RegExp]> = [
      ['app', testId, { expiresAt: soon }, 400, /reason/],
      ['app', testId, { reason: 'x', expiresAt: 'tomorrow' }, 400, /expiresAt/],
      [
        'app',
        testId,
        { reason: 'x', expiresAt: new Date(Date.now() - DAY).toISOString() },
        400,
        /expiresAt is past/,
      ],
      [
        'app',
        testId,
        {
          reason: 'x',
          expiresAt: new Date(Date.now() + 91 * DAY).toISOString(),
        },
        400,
        /more than 90 days away/,
      ],
      ['other', testId, { reason: 'x', expiresAt: soon }, 404, /has no test/],
      [
        'app',
        'f'.repeat(32),
        { reason: 'x', expiresAt: soon },
        404,
        /has no test/,
      ],
      ['nope', testId, { reason: 'x', expiresAt: soon }, 404, /No entity/],
    ];
    for (const [name, id, body, status, message] of cases) {
      const res = await put(name, id, body);
      expect([name, res.status]).toEqual([name, status]);
      expect(res.body.error.message).toMatch(message);
    }
  });
});
