export { CiSourcesState } from './CiSourcesState';
