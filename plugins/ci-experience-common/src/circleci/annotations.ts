import { Entity } from '@backstage/catalog-model';

/**
 * The annotation that names an entity's CircleCI project by its project
 * slug. It is the one the community CircleCI plugin uses, so entities
 * annotated for it work unchanged:
 *
 * - `gh/<org>/<repo>` (or `github/<org>/<repo>`) - a GitHub OAuth project;
 * - `bb/<org>/<repo>` (or `bitbucket/<org>/<repo>`) - a Bitbucket Cloud project;
 * - `circleci/<org-id>/<project-id>` - a project of a GitHub App, GitLab or
 *   Bitbucket Data Center organization (ids are UUIDs).
 *
 * @public
 */
export const CIRCLECI_PROJECT_SLUG_ANNOTATION = 'circleci.com/project-slug';

/**
 * A CircleCI project slug, normalised: the VCS part is `gh`, `bb` or
 * `circleci`, so that `github/a/b` and `gh/a/b` are the same project.
 *
 * @public
 */
export interface CircleciProjectRef {
  /**
   * `gh` (GitHub OAuth), `bb` (Bitbucket Cloud) or `circleci` (GitHub App,
   * GitLab or Bitbucket Data Center).
   */
  vcs: 'gh' | 'bb' | 'circleci';
  /** The organization's name, or its id (a UUID) for `circleci`. */
  org: string;
  /** The repository's name, or the project's id (a UUID) for `circleci`. */
  project: string;
  /** `<vcs>/<org>/<project>`, the form the API takes. */
  slug: string;
}

const VCS: Readonly<Record<string, CircleciProjectRef['vcs']>> = {
  gh: 'gh',
  github: 'gh',
  bb: 'bb',
  bitbucket: 'bb',
  circleci: 'circleci',
};

const NAME = /^[A-Za-z0-9_.-]{1,255}$/;

/**
 * Parses a CircleCI project slug (`gh/org/repo`, `github/org/repo`,
 * `bb/org/repo`, `bitbucket/org/repo` or `circleci/<org-id>/<project-id>`),
 * normalising the VCS part; undefined for anything else (other VCS names,
 * missing parts, `.`/`..`, characters outside `[A-Za-z0-9_.-]`).
 *
 * @public
 */
export function parseCircleciProjectSlug(
  value: string | undefined,
): CircleciProjectRef | undefined {
  const parts = value?.trim().split('/');
  if (!parts || parts.length !== 3) {
    return undefined;
  }
  const [vcsName, org, project] = parts;
  const key = vcsName.toLowerCase();
  const vcs = Object.prototype.hasOwnProperty.call(VCS, key)
    ? VCS[key]
    : undefined;
  if (
    !vcs ||
    ![org, project].every(p => NAME.test(p) && p !== '.' && p !== '..')
  ) {
    return undefined;
  }
  return { vcs, org, project, slug: `${vcs}/${org}/${project}` };
}

/**
 * The CircleCI project an entity names by `circleci.com/project-slug`, or
 * undefined when it names none or the value is not a project slug.
 *
 * @public
 */
export function getCircleciProjectRef(
  entity: Entity,
): CircleciProjectRef | undefined {
  return parseCircleciProjectSlug(
    entity.metadata.annotations?.[CIRCLECI_PROJECT_SLUG_ANNOTATION],
  );
}
