import { Entity } from '@backstage/catalog-model';
import {
  CIRCLECI_PROJECT_SLUG_ANNOTATION,
  getCircleciProjectRef,
  parseCircleciProjectSlug,
} from './annotations';

describe('CircleCI annotations', () => {
  it('is the annotation of the community CircleCI plugin', () => {
    expect(CIRCLECI_PROJECT_SLUG_ANNOTATION).toBe('circleci.com/project-slug');
  });

  it('parses and normalises the three slug forms', () => {
    expect(parseCircleciProjectSlug(' gh/Demo-Org/payments ')).toEqual({
      vcs: 'gh',
      org: 'Demo-Org',
      project: 'payments',
      slug: 'gh/Demo-Org/payments',
    });
    expect(parseCircleciProjectSlug('github/a/b')?.slug).toBe('gh/a/b');
    expect(parseCircleciProjectSlug('bitbucket/a/b.c')?.slug).toBe('bb/a/b.c');
    expect(parseCircleciProjectSlug('bb/a/b')?.slug).toBe('bb/a/b');
    const uuid =
      'circleci/0f6d1a8e-1c2b-4d3e-9f00-1234567890ab/7a1e0c4d-aaaa-bbbb-cccc-0123456789ab';
    expect(parseCircleciProjectSlug(uuid)?.slug).toBe(uuid);
  });

  it('leaves out what is not a project slug', () => {
    for (const value of [
      undefined,
      '',
      'gh/a',
      'gh/a/b/c',
      'gl/a/b',
      'gh/../b',
      'gh/a/.',
      'gh/a b/c',
      `gh/a/b${String.fromCharCode(0)}`,
      'constructor/a/b',
      '__proto__/a/b',
      `gh/a/${'x'.repeat(256)}`,
    ]) {
      expect(parseCircleciProjectSlug(value)).toBeUndefined();
    }
  });

  it('reads the annotation of an entity', () => {
    const entity: Entity = {
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Component',
      metadata: {
        name: 'svc',
        annotations: { [CIRCLECI_PROJECT_SLUG_ANNOTATION]: 'gh/o/r' },
      },
    };
    expect(getCircleciProjectRef(entity)?.slug).toBe('gh/o/r');
    expect(
      getCircleciProjectRef({ ...entity, metadata: { name: 'x' } }),
    ).toBeUndefined();
  });
});
