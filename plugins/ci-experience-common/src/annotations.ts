import { Entity } from '@backstage/catalog-model';
import { matchesGlob } from './glob';

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
    jenkins: ['jenkins.io/job-full-name', 'jenkins.io/github-folder'],
    buildkite: ['buildkite.com/project-slug', 'buildkite.com/pipeline-slug'],
    circleci: ['circleci.com/project-slug'],
  };

/**
 * Most patterns `ci-experience.io/workflows` may list.
 *
 * @public
 */
export const MAX_WORKFLOW_PATTERNS = 50;

/**
 * Longest pattern `ci-experience.io/workflows` may list, in characters.
 *
 * @public
 */
export const MAX_WORKFLOW_PATTERN_LENGTH = 256;

/**
 * What an entity's {@link CI_WORKFLOWS_ANNOTATION} says: no patterns (every
 * workflow of its sources is its own), its patterns, or why they cannot be
 * used (too many or too long: an entity's author must not be able to make
 * each listing match without bound).
 *
 * @public
 */
export type WorkflowPatterns =
  | { patterns: undefined; error?: undefined }
  | { patterns: string[]; error?: undefined }
  | { patterns: undefined; error: string };

/**
 * Reads {@link CI_WORKFLOWS_ANNOTATION}: comma-separated patterns, at most
 * {@link MAX_WORKFLOW_PATTERNS} of at most
 * {@link MAX_WORKFLOW_PATTERN_LENGTH} characters each.
 *
 * @public
 */
export function readWorkflowPatterns(entity: Entity): WorkflowPatterns {
  const raw = entity.metadata.annotations?.[CI_WORKFLOWS_ANNOTATION];
  const patterns = raw
    ?.split(',')
    .map(p => p.trim())
    .filter(Boolean);
  if (!patterns?.length) {
    return { patterns: undefined };
  }
  if (patterns.length > MAX_WORKFLOW_PATTERNS) {
    return {
      patterns: undefined,
      error: `${CI_WORKFLOWS_ANNOTATION} lists ${patterns.length} patterns; at most ${MAX_WORKFLOW_PATTERNS} are allowed`,
    };
  }
  const long = patterns.findIndex(p => p.length > MAX_WORKFLOW_PATTERN_LENGTH);
  if (long >= 0) {
    return {
      patterns: undefined,
      error: `${CI_WORKFLOWS_ANNOTATION}: pattern ${long + 1} is ${
        patterns[long].length
      } characters long; at most ${MAX_WORKFLOW_PATTERN_LENGTH} are allowed`,
    };
  }
  return { patterns };
}

/**
 * The patterns of {@link CI_WORKFLOWS_ANNOTATION}, or undefined when the
 * entity claims every workflow of its sources. Patterns that break the
 * limits of {@link readWorkflowPatterns} claim nothing (an empty list).
 *
 * @public
 */
export function getWorkflowPatterns(entity: Entity): string[] | undefined {
  const read = readWorkflowPatterns(entity);
  return read.error ? [] : read.patterns;
}

/**
 * Whether a workflow name or path matches one of the patterns (`*` any run
 * of characters, `?` one character, the rest literal, whole string), in
 * time linear in the value's length (see {@link compileGlob}).
 *
 * @public
 */
export function matchesWorkflowPattern(
  value: string,
  patterns: readonly string[],
): boolean {
  return patterns.some(pattern => matchesGlob(value, pattern));
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
