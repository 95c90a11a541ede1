import { Entity } from '@backstage/catalog-model';

/**
 * The annotation that names an entity's GitLab project by its full path,
 * e.g. `group/subgroup/project`. It is the one the community GitLab plugin
 * (`@immobiliarelabs/backstage-plugin-gitlab`) reads, so entities annotated
 * for it work unchanged.
 *
 * @public
 */
export const GITLAB_PROJECT_SLUG_ANNOTATION = 'gitlab.com/project-slug';

/**
 * The annotation that names an entity's GitLab project by its numeric id,
 * e.g. `4242`; used when `gitlab.com/project-slug` is absent.
 *
 * @public
 */
export const GITLAB_PROJECT_ID_ANNOTATION = 'gitlab.com/project-id';

/**
 * The annotation that names the GitLab host of the project, e.g.
 * `gitlab.example.com`; absent means gitlab.com (or the host of the entity's
 * source location when an `integrations.gitlab` entry covers it).
 *
 * @public
 */
export const GITLAB_INSTANCE_ANNOTATION = 'gitlab.com/instance';

/**
 * The annotations that make an entity show GitLab CI pipelines.
 *
 * @public
 */
export const GITLAB_CI_ANNOTATIONS: readonly string[] = [
  GITLAB_PROJECT_SLUG_ANNOTATION,
  GITLAB_PROJECT_ID_ANNOTATION,
];

/**
 * A GitLab project as an entity names it: by full path or by numeric id.
 *
 * @public
 */
export type GitlabProjectRef =
  | { kind: 'path'; path: string }
  | { kind: 'id'; id: string };

const SEGMENT = '[A-Za-z0-9_][A-Za-z0-9_.-]*';
const PROJECT_PATH = new RegExp(`^${SEGMENT}(?:/${SEGMENT})+$`);
/** GitLab ids are positive integers that fit a 32-bit column (<= 2^31-1). */
const PROJECT_ID = /^[1-9]\d{0,9}$/;
/** A host name with an optional port; nothing else (no scheme, no path). */
const HOST =
  /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:\d{1,5})?$/;

/**
 * Splits a `gitlab.com/project-slug` value into the project's full path:
 * at least `namespace/project`, any depth of subgroups. Returns undefined for
 * anything else (a URL, `..`, empty segments, a trailing `.git`).
 *
 * @public
 */
export function parseGitlabProjectPath(
  slug: string | undefined,
): string | undefined {
  const value = slug?.trim();
  if (!value || !PROJECT_PATH.test(value) || value.length > 1024) {
    return undefined;
  }
  const segments = value.split('/');
  if (segments.some(s => s === '.' || s === '..' || s.endsWith('.git'))) {
    return undefined;
  }
  return value;
}

/**
 * The project an entity names, by path (preferred) or id; undefined when it
 * names none or only malformed values.
 *
 * @public
 */
export function getGitlabProjectRef(
  entity: Entity,
): GitlabProjectRef | undefined {
  const annotations = entity.metadata.annotations ?? {};
  const path = parseGitlabProjectPath(
    annotations[GITLAB_PROJECT_SLUG_ANNOTATION],
  );
  if (path) {
    return { kind: 'path', path };
  }
  const id = annotations[GITLAB_PROJECT_ID_ANNOTATION]?.trim();
  if (id && PROJECT_ID.test(id) && Number(id) <= 2_147_483_647) {
    return { kind: 'id', id };
  }
  return undefined;
}

/**
 * The host the `gitlab.com/instance` annotation names, lower-cased; undefined
 * when absent or not a bare host (a URL is reduced to its host).
 *
 * @public
 */
export function getGitlabInstance(entity: Entity): string | undefined {
  const raw = entity.metadata.annotations?.[GITLAB_INSTANCE_ANNOTATION]?.trim();
  if (!raw) {
    return undefined;
  }
  let host = raw;
  if (/^https?:\/\//i.test(raw)) {
    try {
      host = new URL(raw).host;
    } catch {
      return undefined;
    }
  }
  return HOST.test(host) ? host.toLowerCase() : undefined;
}

/**
 * Whether an entity carries a GitLab CI annotation.
 *
 * @public
 */
export function hasGitlabCiAnnotation(entity: Entity): boolean {
  const annotations = entity.metadata.annotations ?? {};
  return GITLAB_CI_ANNOTATIONS.some(a => Boolean(annotations[a]?.trim()));
}
