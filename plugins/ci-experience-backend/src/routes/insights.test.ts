import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  CiInsightsResponse,
  CiRollupResponse,
} from '@ci-experience/plugin-ci-experience-common';
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

const component = (
  name: string,
  slug: string | undefined,
  extra: { owner?: string; system?: string } = {},
): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name,
    namespace: 'default',
    annotations: slug ? { 'fake.io/slug': slug } : {},
  },
  spec: {
    type: 'service',
    owner: extra.owner ?? 'team-b',
    lifecycle: 'production',
    ...(extra.system ? { system: extra.system } : {}),
  },
  relations: [
    {
      type: 'ownedBy',
      targetRef: `group:default/${extra.owner ?? 'team-b'}`,
    },
    ...(extra.system
      ? [{ type: 'partOf', targetRef: `system:default/${extra.system}` }]
      : []),
  ],
});

const yesterday = new Date(Date.now() - 24 * 3600_000);
const at = (minutes: number) =>
  new Date(yesterday.getTime() + minutes * 60_000).toISOString();

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
  commitSha: `sha-${id}`,
  url: `https://ci.example.com/runs/${id}`,
  createdAt: at(minute),
  startedAt: at(minute),
  finishedAt: at(minute + 1),
  durationMs: 60_000,
  updatedAt: at(minute + 1),
});

const provider: CiProvider = {
  id: 'fake',
  capabilities: {},
  getSources: (entity: Entity) => {
    const slug = entity.metadata.annotations?.['fake.io/slug'];
    return slug
      ? [{ provider: 'fake', key: `fake:${slug}`, source: slug }]
      : [];
  },
  getSourceInfo: async () => ({ defaultBranch: 'main' }),
  // app: 1 of 2 passes (health 0.5); good: 2 of 2 (health 1).
  listRuns: async (source: { source: string }) =>
    source.source === 'org/app'
      ? { runs: [runOf('1', 'failed', 0), runOf('2', 'succeeded', 10)] }
      : { runs: [runOf('3', 'succeeded', 0), runOf('4', 'succeeded', 10)] },
  getRun: async () => undefined,
  listJobs: async () => [],
} as unknown as CiProvider;

async function start() {
  const { server } = await startTestBackend({
    features: [
      ciExperiencePlugin,
      ...providerModules,
      providerModule(provider),
      mockServices.rootConfig.factory({
        data: {
          ciExperience: {
            providers: { githubActions: { enabled: false } },
            triage: { enabled: false },
            insights: { minSample: 2 },
            sources: { allow: [{ provider: 'fake', source: 'org/*' }] },
            sync: {
              schedule: NEVER,
            },
          },
        },
      }),
      mockServices.events.factory(),
      catalogServiceMock.factory({
        entities: [
          component('app', 'org/app', { owner: 'team-a', system: 'shop' }),
          component('good', 'org/good', { owner: 'team-a', system: 'shop' }),
          component('docs', undefined, { owner: 'team-a' }),
          component('elsewhere', 'org/elsewhere'),
          {
            apiVersion: 'backstage.io/v1alpha1',
            kind: 'Group',
            metadata: { name: 'team-a', namespace: 'default' },
            spec: { type: 'team', children: [] },
          },
          {
            apiVersion: 'backstage.io/v1alpha1',
            kind: 'System',
            metadata: { name: 'shop', namespace: 'default' },
            spec: { owner: 'team-a' },
          },
        ],
      }),
    ],
  });
  return request(server);
}

const BASE = '/api/ci-experience';

describe('insights routes', () => {
  let http: ReturnType<typeof request>;
  beforeAll(async () => {
    http = await start();
    // The runs listing syncs never-synced sources; aggregation follows
    // (debounced) the ingestion.
    for (const name of ['app', 'good']) {
      await http.get(`${BASE}/entities/component/default/${name}/runs`);
    }
    for (let i = 0; i < 100; i++) {
      const res = await http.get(
        `${BASE}/entities/component/default/good/insights?window=7d`,
      );
      if (res.body.current?.runs?.value === 2) {
        const app = await http.get(
          `${BASE}/entities/component/default/app/insights?window=7d`,
        );
        if (app.body.current?.runs?.value === 2) break;
      }
      await new Promise(r => setTimeout(r, 100));
    }
  }, 30_000);

  it('serves an entity insights', async () => {
    const res = await http.get(
      `${BASE}/entities/component/default/app/insights?window=7d&workflow=CI`,
    );
    expect(res.status).toBe(200);
    const body: CiInsightsResponse = res.body;
    expect(body.window.label).toBe('7d');
    expect(body.branches).toEqual(['main']);
    expect(body.workflow).toBe('CI');
    // 2 runs, 1 succeeded, 1 failed: 0.5; minSample 2 → not low.
    expect(body.current.runs).toEqual({
      value: 2,
      sample: 2,
      lowSample: false,
    });
    expect(body.current.successRate.value).toBe(0.5);
    expect(body.minSample).toBe(2);
    // Default 30d.
    const def = await http.get(
      `${BASE}/entities/component/default/app/insights`,
    );
    expect(def.body.window.label).toBe('30d');
    const custom = await http.get(
      `${BASE}/entities/component/default/app/insights?from=2026-01-01&to=2026-01-31T12:00:00Z`,
    );
    expect(custom.status).toBe(200);
    expect(custom.body.window).toEqual({
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-02-01T00:00:00.000Z',
      label: 'custom',
    });
  });

  it.each([
    ['window=1d', 'window'],
    ['window=7d&window=30d', 'window'],
    ['from=2026-01-01', 'to'],
    ['to=2026-01-01', 'from'],
    ['from=yesterday&to=2026-01-01', 'from'],
    ['from=2026-02-01&to=2026-01-01', 'to'],
    ['from=2025-01-01&to=2026-02-01', 'to'],
    ['window=7d&from=2026-01-01&to=2026-01-02', 'window'],
    ['workflow=Nope', 'workflow'],
    ['branch=a%00b', 'branch'],
  ])('answers 400 to %s naming %s', async (query, field) => {
    const res = await http.get(
      `${BASE}/entities/component/default/app/insights?${query}`,
    );
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain(field);
  });

  it('answers 404 for an unknown entity, group or system', async () => {
    for (const path of [
      'entities/component/default/nope/insights',
      'groups/default/nope/insights',
      'systems/default/nope/insights',
    ]) {
      const res = await http.get(`${BASE}/${path}`);
      expect(res.status).toBe(404);
    }
    const bad = await http.get(
      `${BASE}/groups/default/team-a/insights?window=2d`,
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('window');
  });

  it('rolls up a group worst first, without CI last', async () => {
    const res = await http.get(
      `${BASE}/groups/default/team-a/insights?window=7d`,
    );
    expect(res.status).toBe(200);
    const body: CiRollupResponse = res.body;
    // app: 0.5 × (1 − 0) = 0.5; good: 1; docs: no CI.
    expect(body.items.map(i => [i.entityRef, i.health])).toEqual([
      ['component:default/app', 0.5],
      ['component:default/good', 1],
      ['component:default/docs', undefined],
    ]);
    expect(body.items[2].hasCi).toBe(false);
    expect(body.items[0].lastStatus).toBe('succeeded');
  });

  it('rolls up a system', async () => {
    const res = await http.get(
      `${BASE}/systems/default/shop/insights?window=7d`,
    );
    expect(res.status).toBe(200);
    expect(
      res.body.items.map((i: { entityRef: string }) => i.entityRef),
    ).toEqual(['component:default/app', 'component:default/good']);
  });
});
