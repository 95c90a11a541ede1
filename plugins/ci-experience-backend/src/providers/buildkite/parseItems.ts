import { itemParserFor } from '../shared/parseItems';

/** Parses a list of Buildkite items, dropping odd ones with a log line. */
export const parseItems = itemParserFor('Buildkite');
