/**
 * Shared run model, annotations and status mapping of the CI Experience
 * plugins.
 *
 * @packageDocumentation
 */

export * from './types';
export * from './annotations';
export * from './glob';
export * from './githubStatus';
export * from './gitlab';
export * from './jenkins';
export * from './buildkite';
export * from './circleci';
export * from './permissions';
export * from './insights';
export * from './alerts';
export * from './tests';
