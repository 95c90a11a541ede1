/**
 * The provider contract of the CI Experience backend: what a third party
 * needs to add a CI provider.
 *
 * @packageDocumentation
 */

export * from './provider';
export * from './extensions';
