export { CiRunsTable, runPagePath } from './CiRunsTable';
export type { CiRunsTableProps } from './CiRunsTable';
