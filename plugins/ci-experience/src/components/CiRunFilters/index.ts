export {
  ALL,
  ALLOWED_BRANCHES,
  CiRunFilters,
  DEFAULT_BRANCHES,
  defaultBranchesLabel,
} from './CiRunFilters';
export type { CiRunFilterValues, CiRunFiltersProps } from './CiRunFilters';
