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
 * The annotations that make an entity show CI runs.
 *
 * @public
 */
export const CI_ANNOTATIONS: readonly string[] = [
  GITHUB_PROJECT_SLUG_ANNOTATION,
];

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
