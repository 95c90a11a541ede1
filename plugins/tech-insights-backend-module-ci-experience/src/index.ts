/**
 * CI Experience's facts for Tech Insights: each CI entity's success rate,
 * p95 duration, time to recovery, flaky rate, days since its default branch
 * was last red for long, and whether CI alerts are configured.
 *
 * @packageDocumentation
 */

export { techInsightsModuleCiExperience as default } from './module';
export {
  createCiFactRetriever,
  CI_FACT_RETRIEVER_ID,
  CI_FACT_SCHEMA,
} from './ciFactRetriever';
