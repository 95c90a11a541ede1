export { CiRunPage, RUN_POLL_INTERVAL_MS } from './CiRunPage';
export { applicableActions } from './CiRunActionsBar';
export type { CiRunAction } from './CiRunActionsBar';
