/**
 * Everything a CI provider of the CI Experience backend needs: the provider
 * contract and its extension point, the webhook part, the HTTP toolkit
 * (conditional requests, budgets, retries, redaction, log tails) and the
 * helpers that map provider data to runs. The contract test kit is at
 * `@ci-experience/plugin-ci-experience-node/testUtils`.
 *
 * @packageDocumentation
 */

export * from './provider';
export * from './extensions';
export * from './webhook';
export * from './metrics';
export * from './toolkit';
export * from './http';
export * from './mapping';
export * from './ingress';
export * from './providerModule';
