/**
 * The local CI simulator: a simulated GitHub Actions API for development and
 * tests. Nothing in the plugins knows it exists; they talk to it as GitHub.
 *
 * @packageDocumentation
 */

export * from './history';
export * from './handlers';
export * from './server';
export * from './webhooks';
export * from './webhookSender';
export * from './watchedRuns';
export * from './gitlab';
export * from './jenkins';
export * from './buildkite';
export * from './circleci';
export * from './control';
export * from './chaos';
export * from './testResults';
