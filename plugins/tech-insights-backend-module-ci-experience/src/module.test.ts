import {
  createBackendPlugin,
  coreServices,
} from '@backstage/backend-plugin-api';
import { startTestBackend } from '@backstage/backend-test-utils';
import {
  FactRetriever,
  techInsightsFactRetrieversExtensionPoint,
} from '@backstage-community/plugin-tech-insights-node';
import module from './index';
import { CI_FACT_RETRIEVER_ID, CI_FACT_SCHEMA } from './ciFactRetriever';

describe('the Tech Insights module', () => {
  it('adds the CI fact retriever through Tech Insights’ extension point', async () => {
    const added: Record<string, FactRetriever> = {};
    // Stands in for @backstage-community/plugin-tech-insights-backend: the
    // same plugin id and extension point, recording what modules add.
    const techInsights = createBackendPlugin({
      pluginId: 'tech-insights',
      register(env) {
        env.registerExtensionPoint(techInsightsFactRetrieversExtensionPoint, {
          addFactRetrievers(retrievers: Record<string, FactRetriever>) {
            Object.assign(added, retrievers);
          },
        });
        env.registerInit({
          deps: { logger: coreServices.logger },
          async init() {},
        });
      },
    });
    await startTestBackend({ features: [techInsights, module] });

    expect(Object.keys(added)).toEqual([CI_FACT_RETRIEVER_ID]);
    const retriever = added[CI_FACT_RETRIEVER_ID];
    expect(retriever.id).toBe(CI_FACT_RETRIEVER_ID);
    expect(retriever.schema).toEqual(CI_FACT_SCHEMA);
  });
});
