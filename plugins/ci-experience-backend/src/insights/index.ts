export { InsightsAggregator } from './InsightsAggregator';
export type { AggregateResult } from './InsightsAggregator';
export type { InsightsBatch, InsightsStore } from './InsightsStore';
export { KnexInsightsStore } from './KnexInsightsStore';
export { InsightsService, resolveWindow } from './InsightsService';
export type {
  EntityInsightsOptions,
  InsightsWindowInput,
  ResolvedWindow,
  RollupEntity,
} from './InsightsService';
export { createInsights } from './createInsights';
export { HISTOGRAM_BUCKETS, bucketOf, percentileOf } from './histogram';
export { workflowScopeOf } from './workflowScope';
