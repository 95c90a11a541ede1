export { EntityCiRollupCard, EntityCiRollupContent } from './EntityCiRollup';
