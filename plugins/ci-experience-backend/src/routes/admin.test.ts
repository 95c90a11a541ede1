import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import {
  AuthorizeResult,
  isPermission,
  Permission,
} from '@backstage/plugin-permission-common';
import {
  ciAdminReadPermission,
  CiOperatorSource,
} from '@ci-experience/plugin-ci-experience-common';
import { metrics } from '@opentelemetry/api';
import request from 'supertest';
import { CiMetrics } from '../service/metrics';
import { OperatorStatus } from '../service/OperatorStatus';
import { createAdminRouter } from './admin';

const ADMIN = 'user:default/ops';
const NOW = Date.parse('2026-12-03T12:00:00Z');

/** 1,500 sources: every 100th failing, lag growing with the number. */
const SOURCES: CiOperatorSource[] = Array.from({ length: 1500 }, (_, i) => ({
  provider: 'github-actions',
  source: `org/repo-${i}`,
  host: 'github.com',
  mode: i % 3 === 0 ? 'active' : 'quiet',
  lagMs: i * 1000,
  webhookFed: false,
  ...(i % 100 === 0 ? { error: `GitHub refused org/repo-${i}` } : {}),
}));

async function start() {
  // The decision depends on who asks and for what, as a policy's would:
  // only the admin user gets ci-experience.admin.read.
  const permissions = mockServices.permissions.mock({
    authorize: jest.fn(async (requests, { credentials }) =>
      requests.map(({ permission }: { permission: Permission }) => ({
        result:
          isPermission(permission, ciAdminReadPermission) &&
          (credentials.principal as { userEntityRef?: string })
            .userEntityRef === ADMIN
            ? AuthorizeResult.ALLOW
            : AuthorizeResult.DENY,
      })),
    ) as any,
  });
  // Queue depths as the store counts them (OperatorStatus.test.ts counts
  // them in a database).
  const store = {
    countQueues: async () => ({ triage: 2, runs: 0, jobs: 0, outbox: 1 }),
  };
  const operatorStatus = OperatorStatus.create({
    hosts: () => [],
    sources: () => SOURCES,
    store,
    metrics: CiMetrics.create({ meter: metrics.getMeter('test') }),
    now: () => NOW,
  });
  const plugin = createBackendPlugin({
    pluginId: 'ci-experience',
    register(env) {
      env.registerInit({
        deps: {
          httpRouter: coreServices.httpRouter,
          httpAuth: coreServices.httpAuth,
          permissions: coreServices.permissions,
        },
        async init({ httpRouter, httpAuth, permissions: service }) {
          httpRouter.use(
            createAdminRouter({
              httpAuth,
              permissions: service,
              operatorStatus,
            }),
          );
        },
      });
    },
  });
  const { server } = await startTestBackend({
    features: [plugin, permissions.factory],
  });
  return { http: request(server), authorize: permissions.authorize };
}

describe('GET /admin/status', () => {
  it('answers an admin with the worst sources first, 200 by default', async () => {
    const { http, authorize } = await start();
    const res = await http
      .get('/api/ci-experience/admin/status')
      .set('Authorization', mockCredentials.user.header(ADMIN));

    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body.sourcesTotal).toBe(1500);
    expect(res.body.sources).toHaveLength(200);
    // The 15 failing ones, largest lag first, then the most lagging others.
    expect(res.body.sources.slice(0, 16).map((s: any) => s.source)).toEqual([
      ...[1400, 1300, 1200, 1100, 1000, 900, 800, 700, 600, 500, 400, 300]
        .concat([200, 100, 0])
        .map(i => `org/repo-${i}`),
      'org/repo-1499',
    ]);
    expect(res.body.queues).toEqual({ triage: 2, aggregation: 0, outbox: 1 });
    expect(res.body.generatedAt).toBe('2026-12-03T12:00:00.000Z');
    // Authorized with the caller's own credentials.
    expect(authorize).toHaveBeenCalledWith(
      [{ permission: ciAdminReadPermission }],
      {
        credentials: expect.objectContaining({
          principal: expect.objectContaining({ userEntityRef: ADMIN }),
        }),
      },
    );
  });

  it('lists as many sources as asked, up to 1000', async () => {
    const { http } = await start();
    const get = (limit: string) =>
      http
        .get(`/api/ci-experience/admin/status?limit=${limit}`)
        .set('Authorization', mockCredentials.user.header(ADMIN));

    expect((await get('5')).body.sources).toHaveLength(5);
    expect((await get('1000')).body.sources).toHaveLength(1000);
    for (const bad of ['0', '1001', '-1', 'ten', '2.5', '99999']) {
      const res = await get(bad);
      expect(res.status).toBe(400);
      expect(res.body.error.name).toBe('InputError');
      expect(res.body.error.message).toMatch(/^Invalid query: limit: /);
    }
    const twice = await http
      .get('/api/ci-experience/admin/status?limit=1&limit=2')
      .set('Authorization', mockCredentials.user.header(ADMIN));
    expect(twice.status).toBe(400);
  });

  it('refuses anyone without ci-experience.admin.read, whatever the query', async () => {
    const { http } = await start();
    for (const path of [
      '/api/ci-experience/admin/status',
      '/api/ci-experience/admin/status?limit=bad',
    ]) {
      const res = await http
        .get(path)
        .set('Authorization', mockCredentials.user.header('user:default/bob'));
      expect(res.status).toBe(403);
      expect(res.body.error.name).toBe('NotAllowedError');
      expect(res.body.error.message).toContain('ci-experience.admin.read');
      expect(res.body.sources).toBeUndefined();
    }
    // Nor is a service principal, which the route refuses before asking.
    const service = await http
      .get('/api/ci-experience/admin/status')
      .set('Authorization', mockCredentials.service.header());
    expect(service.status).toBe(403);
  });
});
