export * from './ProviderHttpClient';
export {
  basicCredential,
  bearerCredential,
  headerCredential,
} from './credentials';
export type { ProviderCredential } from './credentials';
export {
  defaultEndpointOf,
  linkNext,
  standardRateLimitHeaders,
} from './paging';
export { readTail } from './bodies';
export type { TailRead } from './bodies';
export * from './ProviderTraffic';
export * from './RateLimiter';
export * from './SharedBudget';
export * from './CircuitBreaker';
export * from './readBounded';
