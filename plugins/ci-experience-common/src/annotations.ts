import { Entity } from '@backstage/catalog-model';

/**
 * The annotation that names an entity's GitHub repository as `owner/repo`.
 * It is the one the community GitHub Actions plugin uses, so entities
 * annotated for it work unchanged.
 *
 * @public
 */
export const GITHUB_PROJECT_SLUG_ANNOTATION = 'github.com/project-slug';

/**
 * Backstage's annotation for where an entity's source lives.
 *
 * @public
 */
export const SOURCE_LOCATION_ANNOTATION = 'backstage.io/source-location';

/**
 * The workflows, pipelines or jobs that are the entity's own, when several
 * entities share one repository (a monorepo): names or workflow file paths,
 * comma-separated, `*` and `?` allowed, e.g. `Payments CI, .github/workflows/payments-*.yml`.
 *
 * @public
 */
export const CI_WORKFLOWS_ANNOTATION = 'ci-experience.io/workflows';

/**
 * The annotations of other CI systems, by provider id, as today's plugins
 * name them: an entity carrying one names a source even where that provider
 * is not configured.
 *
 * @public
 */
export const PROVIDER_ANNOTATIONS: Readonly<Record<string, readonly string[]>> =
  {
    'github-actions': [GITHUB_PROJECT_SLUG_ANNOTATION],
    gitlab: ['gitlab.com/project-slug', 'gitlab.com/project-id'],
    jenkins: ['jenkins.io/job-full-name'],
    buildkite: ['buildkite.com/pipeline-slug'],
    circleci: ['circleci.com/project-slug'],
  };

/**
 * The patterns of {@link CI_WORKFLOWS_ANNOTATION}, or undefined when the
 * entity claims every workflow of its sources.
 *
 * @public
 */
export function getWorkflowPatterns(entity: Entity): string[] | undefined {
  const raw = entity.metadata.annotations?.[CI_WORKFLOWS_ANNOTATION];
  const patterns = raw
    ?.split(',')
    .map(p => p.trim())
    .filter(Boolean);
  return patterns?.length ? patterns : undefined;
}

const GLOB: Record<string, string> = { '*': '.*', '?': '.' };

/**
 * Whether a workflow name or path matches one of the patterns (`*` any run
 * of characters, `?` one character, the rest literal, whole string).
 *
 * @public
 */
export function matchesWorkflowPattern(
  value: string,
  patterns: readonly string[],
): boolean {
  return patterns.some(pattern => {
    const source = pattern
      .split('')
      .map(c => GLOB[c] ?? c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))
      .join('');
    return new RegExp(`^${source}$`).test(value);
  });
}

/**
 * The annotations that make an entity show CI runs.
 *
 * @public
 */
export const CI_ANNOTATIONS: readonly string[] =
  Object.values(PROVIDER_ANNOTATIONS).flat();

/**
 * Whether an entity carries an annotation that CI Experience reads.
 *
 * @public
 */
export function hasCiAnnotation(entity: Entity): boolean {
  const annotations = entity.metadata.annotations ?? {};
  return CI_ANNOTATIONS.some(a => Boolean(annotations[a]?.trim()));
}

/**
 * The host named by the entity's `backstage.io/source-location` annotation,
 * if it is a URL location, e.g. `ghe.example.com` for
 * `url:https://ghe.example.com/org/repo/tree/main/`.
 *
 * @public
 */
export function getSourceLocationHost(entity: Entity): string | undefined {
  const location = entity.metadata.annotations?.[SOURCE_LOCATION_ANNOTATION];
  if (!location) {
    return undefined;
  }
  const target = location.replace(/^url:/, '');
  try {
    return new URL(target).host || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Splits a `github.com/project-slug` value into owner and repository.
 * Returns undefined for anything but `owner/repo`.
 *
 * @public
 */
export function parseProjectSlug(
  slug: string | undefined,
): { owner: string; repo: string } | undefined {
  const match = slug?.trim().match(/^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/);
  if (!match) {
    return undefined;
  }
  return { owner: match[1], repo: match[2] };
}
