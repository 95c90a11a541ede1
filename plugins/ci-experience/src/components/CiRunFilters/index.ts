export { ALL, ALLOWED_BRANCHES, CiRunFilters } from './CiRunFilters';
export type { CiRunFilterValues, CiRunFiltersProps } from './CiRunFilters';
