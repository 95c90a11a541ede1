import { AuthService, LoggerService } from '@backstage/backend-plugin-api';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { CatalogService } from '@backstage/plugin-catalog-node';

/**
 * The annotation that names a component's JUnit artifacts (GitHub Actions,
 * Buildkite): comma-separated globs, e.g.
 * `**\/TEST-*.xml, test-results/**\/*.xml`. It only narrows which
 * artifacts of the component's own runs are read; without it, the config's
 * `ciExperience.testResults.artifacts` apply.
 */
export const TEST_REPORTS_ANNOTATION = 'ci-experience.io/test-reports';

/** Globs taken from one annotation at most, and their longest. */
const MAX_GLOBS = 10;
const MAX_GLOB_LENGTH = 200;
/** How long a source's globs are kept before the catalog is read again. */
const TTL_MS = 5 * 60_000;

/**
 * The globs of an annotation's value: trimmed, non-empty, at most 10 of
 * at most 200 characters; `error` says what was left out.
 */
export function parseTestReportGlobs(value: string | undefined): {
  globs: string[];
  error?: string;
} {
  if (!value) return { globs: [] };
  const all = value
    .split(',')
    .map(g => g.trim())
    .filter(Boolean);
  const globs = all
    .filter(g => g.length <= MAX_GLOB_LENGTH)
    .slice(0, MAX_GLOBS);
  return globs.length === all.length
    ? { globs }
    : {
        globs,
        error: `${TEST_REPORTS_ANNOTATION}: kept ${globs.length} of ${all.length} globs (at most ${MAX_GLOBS}, each at most ${MAX_GLOB_LENGTH} characters)`,
      };
}

/**
 * The artifact globs of a source: those the annotations of the entities
 * that claim it name (all of them, once each), else `fallback` (config).
 * The catalog is read with the plugin's own credentials, at most once per
 * source every 5 minutes.
 */
export function testReportGlobsResolver(options: {
  catalog: CatalogService;
  auth: AuthService;
  claimsOf: (sourceKey: string) => Promise<string[]>;
  fallback: string[];
  logger: LoggerService;
  now?: () => number;
}): (sourceKey: string) => Promise<string[]> {
  const now = options.now ?? Date.now;
  const cache = new Map<string, { globs: string[]; at: number }>();
  return async sourceKey => {
    const cached = cache.get(sourceKey);
    if (cached && now() - cached.at < TTL_MS) return cached.globs;
    let globs = options.fallback;
    try {
      const entityRefs = await options.claimsOf(sourceKey);
      if (entityRefs.length > 0) {
        const { items } = await options.catalog.getEntitiesByRefs(
          {
            entityRefs,
            fields: [
              'kind',
              'metadata.namespace',
              'metadata.name',
              'metadata.annotations',
            ],
          },
          { credentials: await options.auth.getOwnServiceCredentials() },
        );
        const named = new Set<string>();
        for (const entity of items) {
          const parsed = parseTestReportGlobs(
            entity?.metadata.annotations?.[TEST_REPORTS_ANNOTATION],
          );
          if (parsed.error) {
            options.logger.warn(
              `Entity ${stringifyEntityRef(entity!)}: ${parsed.error}`,
            );
          }
          parsed.globs.forEach(g => named.add(g));
        }
        if (named.size > 0) globs = [...named];
      }
    } catch (error) {
      // The catalog unreachable: the config's globs, tried again next time.
      options.logger.warn(
        `Could not read the test-report annotations of ${sourceKey}, using ciExperience.testResults.artifacts: ${error}`,
      );
      return globs;
    }
    if (cache.size > 10_000) cache.clear();
    cache.set(sourceKey, { globs, at: now() });
    return globs;
  };
}
