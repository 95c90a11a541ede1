export { CiRunStatus, ciRunStatusLabel } from './CiRunStatus';
