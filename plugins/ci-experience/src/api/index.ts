export { ciExperienceApiRef } from './CiExperienceApi';
export type { CiExperienceApi } from './CiExperienceApi';
export { CiExperienceClient } from './CiExperienceClient';
