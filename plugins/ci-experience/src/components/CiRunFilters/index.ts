export { ALL, CiRunFilters } from './CiRunFilters';
export type { CiRunFilterValues, CiRunFiltersProps } from './CiRunFilters';
