import { itemParserFor } from '@ci-experience/plugin-ci-experience-node';

/**
 * Parses a list of Buildkite items, dropping odd ones with a log line.
 *
 * @public
 */
export const parseItems = itemParserFor('Buildkite');
