import { Entity } from '@backstage/catalog-model';
import {
  getJenkinsJobRefs,
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
});
