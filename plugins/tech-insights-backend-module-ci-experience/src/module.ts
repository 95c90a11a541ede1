import { createBackendModule } from '@backstage/backend-plugin-api';
import { techInsightsFactRetrieversExtensionPoint } from '@backstage-community/plugin-tech-insights-node';
import { CI_FACT_RETRIEVER_ID, createCiFactRetriever } from './ciFactRetriever';

/**
 * Adds the CI Experience fact retriever to Tech Insights
 * (`@backstage-community/plugin-tech-insights-backend`). Its cadence is
 * `techInsights.factRetrievers.ciExperienceFactRetriever` in config
 * (docs/scorecards.md).
 *
 * @public
 */
export const techInsightsModuleCiExperience = createBackendModule({
  pluginId: 'tech-insights',
  moduleId: 'ci-experience-facts',
  register(env) {
    env.registerInit({
      deps: { providers: techInsightsFactRetrieversExtensionPoint },
      async init({ providers }) {
        providers.addFactRetrievers({
          [CI_FACT_RETRIEVER_ID]: createCiFactRetriever(),
        });
      },
    });
  },
});
