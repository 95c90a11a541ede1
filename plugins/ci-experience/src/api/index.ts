export { ciExperienceApiRef } from './CiExperienceApi';
export type { CiExperienceApi, CiInsightsQuery } from './CiExperienceApi';
export { CiExperienceClient } from './CiExperienceClient';
