export { CiRunsTable } from './CiRunsTable';
export type { CiRunsTableProps } from './CiRunsTable';
