import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import {
  CiProvider,
  CiProviderRun,
} from '@ci-experience/plugin-ci-experience-node';
import {
  CI_FACT_RETRIEVER_ID,
  CI_FACT_SCHEMA,
  createCiFactRetriever,
} from '@ci-experience/plugin-tech-insights-backend-module-ci-experience';
import { AddressInfo } from 'node:net';
import { ciPluginFeatures } from '../__testUtils__/backend';

// The Tech Insights module reads this plugin's HTTP API: its retriever
// against a real backend of the plugin.

const DAY = 24 * 3600_000;
const NOW = Date.parse('2026-12-03T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();

// The aggregates follow the sync's writes once they settle: bounded by
// polls, not by the machine's speed.
jest.setTimeout(120_000);

describe('the CI fact retriever', () => {
  const runOf = (
    n: number,
    status: CiProviderRun['status'],
    createdAgo: number,
  ): CiProviderRun => ({
    providerRunId: String(n),
    attempt: 1,
    runNumber: n,
    workflow: 'CI',
    status,
    providerStatus: status,
    branch: 'main',
    commitSha: `sha${n}`,
    url: `https://ci.example.com/runs/${n}`,
    createdAt: ago(createdAgo),
    updatedAt: ago(createdAgo - 60_000),
    startedAt: ago(createdAgo),
    finishedAt: ago(createdAgo - 60_000),
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
    // Red for two days, green again three days ago.
    listRuns: async () => ({
      runs: [
        runOf(4, 'succeeded', 3 * DAY),
        runOf(3, 'failed', 4 * DAY),
        runOf(2, 'failed', 5 * DAY),
        runOf(1, 'succeeded', 6 * DAY),
      ],
    }),
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

  it('publishes each CI entity’s figures from the plugin’s own API', async () => {
    const { server } = await startTestBackend({
      features: ciPluginFeatures({
        providers: [provider],
        entities: [app],
        allow: [{ provider: 'fake', source: 'org/*' }],
        ciExperience: { insights: { minSample: 1 } },
      }),
    });
    const { port } = server.address() as AddressInfo;
    const discovery = mockServices.discovery.mock({
      getBaseUrl: async (id: string) => `http://localhost:${port}/api/${id}`,
    });
    const getEntities = jest.fn(async () => ({ items: [app] }));
    const retriever = createCiFactRetriever({
      now: () => NOW,
      catalog: { getEntities },
    });
    expect(retriever.id).toBe(CI_FACT_RETRIEVER_ID);
    const handle = () =>
      retriever.handler({
        config: mockServices.rootConfig(),
        discovery,
        logger: mockServices.logger.mock(),
        auth: mockServices.auth(),
        urlReader: mockServices.urlReader.mock(),
      });

    // The first read syncs the entity; the aggregates follow the writes
    // once they settle (seconds; far more on a loaded machine).
    let facts = await handle();
    for (let i = 0; i < 500 && !(Number(facts[0]?.facts.ciRuns30d) > 0); i++) {
      await new Promise(r => setTimeout(r, 100));
      facts = await handle();
    }
    expect(getEntities).toHaveBeenCalledWith(
      expect.objectContaining({
        filter: expect.arrayContaining([
          { 'metadata.annotations.fake.io/slug': expect.anything() },
          { 'metadata.annotations.github.com/project-slug': expect.anything() },
        ]),
      }),
      expect.objectContaining({ token: expect.any(String) }),
    );
    expect(facts).toEqual([
      {
        entity: { kind: 'Component', namespace: 'default', name: 'app' },
        facts: expect.objectContaining({
          ciRuns30d: 4,
          ciSuccessRate30d: 0.5,
          // Red from run 2 (5 days ago) to run 4 (3 days ago).
          ciTimeToRecoveryMeanMs30d: 2 * DAY,
          ciAlertsConfigured: false,
          ciDaysSinceLongRed: 3,
        }),
      },
    ]);
    // Every fact is one of the schema's, of its type.
    const typeOf = (name: string, value: unknown) => {
      const type = CI_FACT_SCHEMA[name as keyof typeof CI_FACT_SCHEMA]?.type;
      if (type === 'integer')
        return Number.isInteger(value) ? type : 'not whole';
      if (type === 'float')
        return typeof value === 'number' ? type : 'not a number';
      return typeof value === type ? type : `not ${type}`;
    };
    for (const [name, value] of Object.entries(facts[0].facts)) {
      expect([name, typeOf(name, value)]).toEqual([
        name,
        CI_FACT_SCHEMA[name as keyof typeof CI_FACT_SCHEMA]?.type,
      ]);
    }
  });
});
