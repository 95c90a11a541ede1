import { Entity } from '@backstage/catalog-model';
import {
  getJenkinsDefaultBranch,
  getJenkinsJobRefs,
  JENKINS_CI_ANNOTATIONS,
  JENKINS_JOB_FULL_NAME_ANNOTATION,
  parseJenkinsJobFullNames,
} from './annotations';

describe('Jenkins annotations', () => {
  it('is the annotation of the community Jenkins plugin', () => {
    expect(JENKINS_JOB_FULL_NAME_ANNOTATION).toBe('jenkins.io/job-full-name');
  });

  it('parses one job, several jobs and instance prefixes', () => {
    expect(parseJenkinsJobFullNames('team-a/payments')).toEqual([
      { jobFullName: 'team-a/payments' },
    ]);
    expect(
      parseJenkinsJobFullNames(
        ' team-a/payments ,ci-eu:team-a/nightly,, /top-level/ ',
      ),
    ).toEqual([
      { jobFullName: 'team-a/payments' },
      { instance: 'ci-eu', jobFullName: 'team-a/nightly' },
      { jobFullName: 'top-level' },
    ]);
  });

  it('leaves out what is not a job full name', () => {
    expect(
      parseJenkinsJobFullNames(
        `a//b, ../etc, x:, ci:a/./b, bad${String.fromCharCode(
          0,
        )}name, ${'x'.repeat(1025)}`,
      ),
    ).toEqual([]);
    expect(parseJenkinsJobFullNames(undefined)).toEqual([]);
  });

  it('reads the annotation of an entity', () => {
    const entity: Entity = {
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Component',
      metadata: {
        name: 'svc',
        annotations: { [JENKINS_JOB_FULL_NAME_ANNOTATION]: 'main:svc' },
      },
    };
    expect(getJenkinsJobRefs(entity)).toEqual([
      { instance: 'main', jobFullName: 'svc' },
    ]);
    expect(getJenkinsJobRefs({ ...entity, metadata: { name: 'x' } })).toEqual(
      [],
    );
  });

  const withAnnotations = (annotations: Record<string, string>): Entity => ({
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'svc', annotations },
  });

  it('still reads the old jenkins.io/github-folder annotation, after jenkins.io/job-full-name', () => {
    expect(JENKINS_CI_ANNOTATIONS).toEqual([
      'jenkins.io/job-full-name',
      'jenkins.io/github-folder',
    ]);
    expect(
      getJenkinsJobRefs(
        withAnnotations({
          'jenkins.io/github-folder': 'ci-eu:teamA/artistLookup-build',
        }),
      ),
    ).toEqual([{ instance: 'ci-eu', jobFullName: 'teamA/artistLookup-build' }]);
    expect(
      getJenkinsJobRefs(
        withAnnotations({
          'jenkins.io/job-full-name': 'team-a/payments',
          'jenkins.io/github-folder': 'teamA/old',
        }),
      ),
    ).toEqual([{ jobFullName: 'team-a/payments' }]);
    expect(
      getJenkinsJobRefs(
        withAnnotations({
          'jenkins.io/job-full-name': '  ',
          'jenkins.io/github-folder': 'teamA/old',
        }),
      ),
    ).toEqual([{ jobFullName: 'teamA/old' }]);
  });

  it('reads ci-experience.io/default-branch, refusing what is no branch name', () => {
    const branch = (value: string) =>
      getJenkinsDefaultBranch(
        withAnnotations({ 'ci-experience.io/default-branch': value }),
      );
    expect(branch(' main ')).toBe('main');
    expect(branch('refs/heads/release/1.x')).toBe('release/1.x');
    expect(getJenkinsDefaultBranch(withAnnotations({}))).toBeUndefined();
    for (const bad of [
      '',
      'a b',
      'a..b',
      '/main',
      'main/',
      'x.lock',
      'a\u0000b',
      'x'.repeat(256),
    ]) {
      expect(branch(bad)).toBeUndefined();
    }
  });
});
