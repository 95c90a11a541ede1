/**
 * The CI Experience backend plugin.
 *
 * @packageDocumentation
 */

export { ciExperiencePlugin as default } from './plugin';
