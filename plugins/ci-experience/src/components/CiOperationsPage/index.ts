export { CiOperationsContent, CiOperationsPage } from './CiOperationsPage';
export { CiAdminOnly } from './CiAdminOnly';
