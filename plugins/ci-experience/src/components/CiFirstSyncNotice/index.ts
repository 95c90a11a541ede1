export { CiFirstSyncNotice, isWaitingForFirstSync } from './CiFirstSyncNotice';
