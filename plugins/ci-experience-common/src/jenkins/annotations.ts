import { Entity } from '@backstage/catalog-model';

/**
 * The annotation that names an entity's Jenkins jobs by full name, e.g.
 * `folder/project`. It is the one the community Jenkins plugin uses, so
 * entities annotated for it work unchanged:
 *
 * - `team-a/payments` - a job (or multibranch project) on the default (first
 *   configured) instance;
 * - `ci-eu:team-a/payments` - the same on the instance named `ci-eu`;
 * - `team-a/payments, ci-eu:team-a/payments-nightly` - several jobs, comma
 *   separated.
 *
 * @public
 */
export const JENKINS_JOB_FULL_NAME_ANNOTATION = 'jenkins.io/job-full-name';

/**
 * The community Jenkins plugin's older name of
 * {@link JENKINS_JOB_FULL_NAME_ANNOTATION}, same value: read when
 * `jenkins.io/job-full-name` is absent, so entities annotated years ago
 * still show their builds.
 *
 * @public
 */
export const JENKINS_GITHUB_FOLDER_ANNOTATION = 'jenkins.io/github-folder';

/**
 * The annotations that make an entity show Jenkins builds.
 *
 * @public
 */
export const JENKINS_CI_ANNOTATIONS: readonly string[] = [
  JENKINS_JOB_FULL_NAME_ANNOTATION,
  JENKINS_GITHUB_FOLDER_ANNOTATION,
];

/**
 * One job an entity names: the instance (absent for the default one) and the
 * job's full name, its folders and name joined by `/`.
 *
 * @public
 */
export interface JenkinsJobRef {
  /** The name of the configured Jenkins instance; absent for the default one. */
  instance?: string;
  /** The job's full name, e.g. `team-a/payments`. */
  jobFullName: string;
}

const INSTANCE = /^([A-Za-z0-9_.-]+):(.*)$/;
// eslint-disable-next-line no-control-regex
const ODD = /[\u0000-\u001f\u007f]/;

/**
 * Parses a `jenkins.io/job-full-name` value into job references; items that
 * are not a job full name (empty segments, `..`, control characters, over
 * 1024 characters) are left out.
 *
 * @public
 */
export function parseJenkinsJobFullNames(
  value: string | undefined,
): JenkinsJobRef[] {
  if (!value) {
    return [];
  }
  const refs: JenkinsJobRef[] = [];
  for (const item of value.split(',')) {
    const trimmed = item.trim();
    if (!trimmed) {
      continue;
    }
    const match = trimmed.match(INSTANCE);
    const instance = match ? match[1] : undefined;
    const jobFullName = (match ? match[2] : trimmed)
      .trim()
      .replace(/^\/+|\/+$/g, '');
    const segments = jobFullName.split('/');
    if (
      !jobFullName ||
      jobFullName.length > 1024 ||
      ODD.test(jobFullName) ||
      segments.some(s => !s.trim() || s === '.' || s === '..')
    ) {
      continue;
    }
    refs.push(instance ? { instance, jobFullName } : { jobFullName });
  }
  return refs;
}

/**
 * The Jenkins jobs an entity names by `jenkins.io/job-full-name`, or, when
 * that is absent or blank, by the older `jenkins.io/github-folder`.
 *
 * @public
 */
export function getJenkinsJobRefs(entity: Entity): JenkinsJobRef[] {
  const annotations = entity.metadata.annotations ?? {};
  const current = annotations[JENKINS_JOB_FULL_NAME_ANNOTATION];
  return parseJenkinsJobFullNames(
    current?.trim() ? current : annotations[JENKINS_GITHUB_FOLDER_ANNOTATION],
  );
}

/**
 * The suite's annotation naming an entity's default branch, e.g. `main`, as
 * the Jenkins provider reads it: for a job that is not a multibranch project
 * (or one whose branch source marks no primary branch), Jenkins cannot tell.
 *
 * @public
 */
export const JENKINS_DEFAULT_BRANCH_ANNOTATION =
  'ci-experience.io/default-branch';

/**
 * The branch {@link JENKINS_DEFAULT_BRANCH_ANNOTATION} names, trimmed; undefined
 * when absent, blank, over 255 characters or not a Git branch name.
 *
 * @public
 */
export function getJenkinsDefaultBranch(entity: Entity): string | undefined {
  const value = entity.metadata.annotations?.[
    JENKINS_DEFAULT_BRANCH_ANNOTATION
  ]?.trim().replace(/^refs\/heads\//, '');
  if (
    !value ||
    value.length > 255 ||
    ODD.test(value) ||
    /[\s~^:?*[\\]|\.\.|@\{|^[/.]|[/.]$|\/\/|\.lock$/.test(value)
  ) {
    return undefined;
  }
  return value;
}
