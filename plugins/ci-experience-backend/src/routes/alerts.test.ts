import {
  AuditorServiceEvent,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { notificationService } from '@backstage/plugin-notifications-node';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  CiProvider,
  CiProviderRun,
} from '@ci-experience/plugin-ci-experience-node';
import request from 'supertest';
import { ciExperiencePlugin } from '../plugin';
import {
  NEVER,
  providerModule,
  providerModules,
} from '../__testUtils__/backend';

const component = (name: string, slug: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name,
    namespace: 'default',
    annotations: { 'fake.io/slug': slug },
  },
  spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
});

const runOf = (
  id: string,
  status: CiProviderRun['status'],
  minute: number,
): CiProviderRun => ({
  providerRunId: id,
  attempt: 1,
  runNumber: Number(id),
  workflow: 'CI',
  status,
  providerStatus: status,
  branch: 'main',
  url: `https://ci.example.com/runs/${id}`,
  createdAt: new Date(Date.now() - (60 - minute) * 60_000).toISOString(),
  updatedAt: new Date(Date.now() - (55 - minute) * 60_000).toISOString(),
});

const provider: CiProvider = {
  id: 'fake',
  getSources: entity => {
    const slug = entity.metadata.annotations?.['fake.io/slug'];
    return slug
      ? [{ provider: 'fake', key: `fake:${slug}`, source: slug }]
      : [];
  },
  getSourceInfo: async () => ({ defaultBranch: 'main' }),
  listRuns: async source =>
    source.source === 'org/broken'
      ? { runs: [runOf('2', 'succeeded', 0), runOf('3', 'failed', 10)] }
      : { runs: [runOf('1', 'succeeded', 0)] },
  getRun: async () => undefined,
  listJobs: async () => [],
};

const SLACK = 'https://hooks.slack.com/services/T1/B2/very-secret-token';

/** A key for the tests only (the demo portal has its own, in its config). */
const KEYS = [{ id: 'test', secret: 'routes-test-key-0123456789abcdefghij' }];

async function start(options: {
  allow: boolean;
  /** `ciExperience.alerts` besides the schedule; by default, a key. */
  alerts?: Record<string, unknown>;
}) {
  const permissions = mockServices.permissions.mock({
    authorize: jest.fn(async requests =>
      requests.map(() => ({
        result: options.allow ? AuthorizeResult.ALLOW : AuthorizeResult.DENY,
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
  const notified: unknown[] = [];
  const { server } = await startTestBackend({
    features: [
      ciExperiencePlugin,
      ...providerModules,
      providerModule(provider),
      mockServices.rootConfig.factory({
        data: {
          ciExperience: {
            providers: { githubActions: { enabled: false } },
            // The fake provider's sources are in no repository to match.
            sources: { allow: [{ provider: 'fake', source: '*' }] },
            sync: {
              schedule: NEVER,
            },
            alerts: {
              schedule: NEVER,
              ...(options.alerts ?? { encryptionKeys: KEYS }),
            },
          },
        },
      }),
      mockServices.events.factory(),
      catalogServiceMock.factory({
        entities: [
          component('app', 'org/app'),
          component('broken', 'org/broken'),
        ],
      }),
      createServiceFactory({
        service: notificationService,
        deps: {},
        factory: () => ({
          send: async (o: unknown) => {
            notified.push(o);
          },
        }),
      }),
      permissions.factory,
      auditor.factory,
    ],
  });
  const http = request(server);
  // Runs first: the first view of an entity syncs it.
  for (const name of ['app', 'broken']) {
    for (let i = 0; i < 100; i++) {
      const res = await http.get(
        `/api/ci-experience/entities/component/default/${name}/runs`,
      );
      if (
        res.body.items?.length &&
        !res.body.sources.some((s: any) => s.syncing)
      ) {
        break;
      }
      await new Promise(r => setTimeout(r, 50));
    }
  }
  return { http, audited, notified, permissions };
}

const RULES = '/api/ci-experience/entities/component/default/app/alert-rules';
const valid = {
  name: 'Main broken',
  kind: 'default-branch-broken',
  params: { runs: 2, minutes: 30 },
  severity: 'critical',
  enabled: true,
  notifications: true,
};

describe('alert rules API', () => {
  it('answers a 400 naming each bad field', async () => {
    const { http, audited } = await start({ allow: true });
    const cases: Array<[object, string]> = [
      [
        { ...valid, params: { runs: 0 } },
        'params.runs: runs must be between 1 and 1000',
      ],
      [{ ...valid, params: {} }, 'params: set minutes, runs or both'],
      [
        { ...valid, params: { runs: 2, percent: 3 } },
        "params: Unrecognized key(s) in object: 'percent'",
      ],
      [{ ...valid, kind: 'cpu' }, 'kind: must be one of default-branch-broken'],
      [
        { ...valid, severity: 'loud' },
        'severity: must be one of info, warning, critical',
      ],
      [{ ...valid, name: '' }, 'name: must not be empty'],
      [{ ...valid, enabled: 'yes' }, 'enabled: must be true or false'],
      [
        { ...valid, snoozedUntil: 'tomorrow' },
        'snoozedUntil: must be an ISO 8601 time with a zone',
      ],
      [
        { ...valid, slackWebhookUrl: 'http://hooks.slack.com/x' },
        'slackWebhookUrl: must be an https URL',
      ],
      [
        { ...valid, slackWebhookUrl: 'https://169.254.169.254/latest' },
        'slackWebhookUrl: must be on hooks.slack.com',
      ],
      [
        {
          ...valid,
          kind: 'success-rate',
          params: { belowPercent: 120, windowDays: 7 },
        },
        'params.belowPercent: belowPercent must be between 0 and 100',
      ],
      [
        {
          ...valid,
          kind: 'duration-regression',
          params: { abovePercent: 90, windowDays: 7 },
        },
        'params.abovePercent: abovePercent must be above 100',
      ],
      [
        { ...valid, kind: 'silent', params: {} },
        'params.days: days is required',
      ],
      [
        { ...valid, branches: 'main' },
        'branches: must be a list of branch names',
      ],
      [{ ...valid, colour: 'red' }, "Unrecognized key(s) in object: 'colour'"],
      // Not an object: refused by the spec's validation (openapi.yaml).
      [[1, 2], 'request/body must be object'],
    ];
    for (const [body, message] of cases) {
      const res = await http.post(RULES).send(body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(res.body.error.message).toContain(message);
    }
    const notJson = await http
      .post(RULES)
      .set('content-type', 'application/json')
      .send('{"name":');
    expect(notJson.status).toBe(400);
    expect((await http.get(RULES)).body.rules).toEqual([]);
    expect(audited.every(a => a.startsWith('alert-rule-create fail'))).toBe(
      true,
    );
  });

  it('stores a rule, never answers its Slack URL, keeps it on update unless removed', async () => {
    const { http, audited } = await start({ allow: true });
    const created = await http
      .post(RULES)
      .send({ ...valid, slackWebhookUrl: SLACK });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      entityRef: 'component:default/app',
      name: 'Main broken',
      params: { runs: 2, minutes: 30 },
      branches: [],
      channels: { notifications: true, slack: true },
      state: 'ok',
      createdBy: 'user:default/mock',
    });
    const id = created.body.id;
    const answers = [
      created,
      await http.get(RULES),
      await http.get(`/api/ci-experience/alert-rules/${id}`),
    ];
    for (const res of answers) {
      expect(JSON.stringify(res.body)).not.toContain('very-secret-token');
    }
    // PUT without the URL keeps it; with null removes it.
    const kept = await http
      .put(`/api/ci-experience/alert-rules/${id}`)
      .send({ ...valid, name: 'Renamed', severity: 'warning' });
    expect(kept.status).toBe(200);
    expect(kept.body).toMatchObject({
      name: 'Renamed',
      severity: 'warning',
      channels: { slack: true },
    });
    const removed = await http
      .put(`/api/ci-experience/alert-rules/${id}`)
      .send({ ...valid, slackWebhookUrl: null });
    expect(removed.body.channels.slack).toBe(false);
    const gone = await http.delete(`/api/ci-experience/alert-rules/${id}`);
    expect(gone.status).toBe(204);
    expect(
      (await http.get(`/api/ci-experience/alert-rules/${id}`)).status,
    ).toBe(404);
    expect(audited).toEqual([
      'alert-rule-create success',
      'alert-rule-update success',
      'alert-rule-update success',
      'alert-rule-delete success',
    ]);
  });

  it('refuses changes when the permission is denied, and to services, but lets both read', async () => {
    const { http, audited } = await start({ allow: false });
    const denied = await http.post(RULES).send(valid);
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toBe(
      'Only the owners of component:default/app may change its alerts',
    );
    expect((await http.get(RULES)).status).toBe(200);
    expect((await http.get(RULES)).body.rules).toEqual([]);
    const service = await http
      .post(RULES)
      .set('authorization', mockCredentials.service.header())
      .send(valid);
    expect(service.status).toBe(403);
    const read = await http
      .get(RULES)
      .set('authorization', mockCredentials.service.header());
    expect(read.status).toBe(200);
    expect(audited).toEqual([
      'alert-rule-create fail: NotAllowedError',
      'alert-rule-create fail: NotAllowedError',
    ]);
  });

  it('answers 404 for unknown entities and rules', async () => {
    const { http } = await start({ allow: true });
    expect(
      (
        await http.get(
          '/api/ci-experience/entities/component/default/nope/alert-rules',
        )
      ).status,
    ).toBe(404);
    expect(
      (
        await http
          .post(
            '/api/ci-experience/entities/component/default/nope/alert-rules',
          )
          .send(valid)
      ).status,
    ).toBe(404);
    for (const method of ['get', 'put', 'delete'] as const) {
      const res = await http[method](
        '/api/ci-experience/alert-rules/no-such-id',
      ).send(valid);
      expect(res.status).toBe(404);
    }
  });

  it('fires on creation when already true, lists the firing with its runs, and previews', async () => {
    const { http, notified } = await start({ allow: true });
    const rules =
      '/api/ci-experience/entities/component/default/broken/alert-rules';
    const body = { ...valid, params: { runs: 1 } };
    const preview = await http.post(`${rules}/preview`).send(body);
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ days: 30, firings: 1 });
    const created = await http.post(rules).send(body);
    expect(created.body.state).toBe('firing');
    const runs = await http.get(
      '/api/ci-experience/entities/component/default/broken/runs',
    );
    const failed = runs.body.items.find((r: any) => r.status === 'failed');
    const firings = await http.get(
      '/api/ci-experience/entities/component/default/broken/alerts',
    );
    expect(firings.status).toBe(200);
    expect(firings.body.firings).toEqual([
      expect.objectContaining({
        ruleName: 'Main broken',
        severity: 'critical',
        runIds: [failed.id],
        detail: expect.stringContaining('CI: 1 failed run in a row'),
      }),
    ]);
    for (let i = 0; i < 50 && notified.length === 0; i++) {
      await new Promise(r => setTimeout(r, 50));
    }
    expect(notified).toEqual([
      expect.objectContaining({
        recipients: { type: 'entity', entityRef: 'component:default/broken' },
      }),
    ]);
  });

  it('answers 400 naming the config key when a Slack URL cannot be encrypted (no key)', async () => {
    const { http, audited } = await start({ allow: true, alerts: {} });
    const created = await http
      .post(RULES)
      .send({ ...valid, slackWebhookUrl: SLACK });
    expect(created.status).toBe(400);
    expect(created.body.error).toEqual({
      name: 'InputError',
      message:
        'Slack webhook URLs are stored encrypted and no encryption key is configured: set ciExperience.alerts.encryptionKeys (see the Alerts docs), or leave the rule without a Slack URL',
    });
    // Without a Slack URL the rule is stored; adding one later is refused.
    const plain = await http.post(RULES).send(valid);
    expect(plain.status).toBe(201);
    const updated = await http
      .put(`/api/ci-experience/alert-rules/${plain.body.id}`)
      .send({ ...valid, slackWebhookUrl: SLACK });
    expect(updated.status).toBe(400);
    expect(updated.body.error.message).toContain(
      'ciExperience.alerts.encryptionKeys',
    );
    expect((await http.get(RULES)).body.rules).toEqual([
      expect.objectContaining({
        channels: { notifications: true, slack: false },
      }),
    ]);
    expect(audited).toEqual([
      'alert-rule-create fail: InputError',
      'alert-rule-create success',
      'alert-rule-update fail: InputError',
    ]);
  });

  it('limits previews per caller: a 429 with Retry-After for one, others still served', async () => {
    const { http } = await start({
      allow: true,
      alerts: { encryptionKeys: KEYS, preview: { maxPerMinute: 2 } },
    });
    const preview = `${RULES}/preview`;
    const other = mockCredentials.user.header('user:default/other');
    for (let i = 0; i < 2; i++) {
      expect((await http.post(preview).send(valid)).status).toBe(200);
    }
    const refused = await http.post(preview).send(valid);
    expect(refused.status).toBe(429);
    const wait = Number(refused.headers['retry-after']);
    expect(wait >= 1 && wait <= 60).toBe(true);
    // The shape of every other error of the backend.
    expect(refused.body).toEqual({
      error: {
        name: 'TooManyRequestsError',
        message: `Too many alert previews: at most 2 a minute per caller (ciExperience.alerts.preview.maxPerMinute); try again in ${wait} s`,
      },
      request: {
        method: 'POST',
        url: preview.slice('/api/ci-experience'.length),
      },
      response: { statusCode: 429 },
    });
    // Invalid bodies count too: the limit is on asking, not on succeeding.
    expect((await http.post(preview).send({})).status).toBe(429);
    const otherUser = await http
      .post(preview)
      .set('authorization', other)
      .send(valid);
    expect(otherUser.status).toBe(200);
    const service = await http
      .post(preview)
      .set('authorization', mockCredentials.service.header())
      .send(valid);
    expect(service.status).toBe(200);
  });

  it('caps the rules of an entity with a 409 naming the limit and its config key', async () => {
    const { http, audited } = await start({
      allow: true,
      alerts: { encryptionKeys: KEYS, maxRulesPerEntity: 2 },
    });
    const first = await http.post(RULES).send(valid);
    await http.post(RULES).send({ ...valid, name: 'Second' });
    const third = await http.post(RULES).send({ ...valid, name: 'Third' });
    expect(third.status).toBe(409);
    expect(third.body.error).toEqual({
      name: 'ConflictError',
      message:
        'component:default/app already has 2 alert rules, the most allowed (ciExperience.alerts.maxRulesPerEntity is 2); delete one first',
    });
    // Another entity has its own count; a deleted rule frees a place.
    const broken =
      '/api/ci-experience/entities/component/default/broken/alert-rules';
    expect((await http.post(broken).send(valid)).status).toBe(201);
    await http.delete(`/api/ci-experience/alert-rules/${first.body.id}`);
    expect(
      (await http.post(RULES).send({ ...valid, name: 'Third' })).status,
    ).toBe(201);
    expect((await http.get(RULES)).body.rules.map((r: any) => r.name)).toEqual([
      'Second',
      'Third',
    ]);
    expect(audited.filter(a => a.includes('fail'))).toEqual([
      'alert-rule-create fail: ConflictError',
    ]);
  });
});
