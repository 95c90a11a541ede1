export { EntityCiContent } from './EntityCiContent';
