export * from './ProviderHttpClient';
export * from './ProviderTraffic';
export * from './RateLimiter';
export * from './SharedBudget';
export * from './CircuitBreaker';
export * from './readBounded';
