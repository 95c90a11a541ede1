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
 * One job an entity names: the instance (absent for the default one) and the
 * job's full name, its folders and name joined by `/`.
 *
 * @public
 */
export interface JenkinsJobRef {
  instance?: string;
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
 * The Jenkins jobs an entity names by `jenkins.io/job-full-name`.
 *
 * @public
 */
export function getJenkinsJobRefs(entity: Entity): JenkinsJobRef[] {
  return parseJenkinsJobFullNames(
    entity.metadata.annotations?.[JENKINS_JOB_FULL_NAME_ANNOTATION],
  );
}
