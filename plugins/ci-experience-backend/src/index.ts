/**
 * The CI Experience backend plugin.
 *
 * @packageDocumentation
 */

export { ciExperiencePlugin as default } from './plugin';
export {
  ciExperienceTechInsightsModule,
  createCiFactRetriever,
  CI_FACT_RETRIEVER_ID,
  CI_FACT_SCHEMA,
} from './techInsights/ciFactRetriever';
