export { EntityCiStatusCard } from './EntityCiStatusCard';
