export { CiInsightsHeader, DEFAULT_INSIGHTS_WINDOW } from './CiInsightsHeader';
export type { CiInsightsHeaderProps } from './CiInsightsHeader';
export { CiFigureTiles } from './CiFigureTiles';
export { CiInsightsCharts } from './CiInsightsCharts';
export { CiInsightsRankings } from './CiInsightsRankings';
