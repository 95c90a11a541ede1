import { Entity } from '@backstage/catalog-model';
import {
  getSourceLocationHost,
  getWorkflowPatterns,
  hasCiAnnotation,
  matchesWorkflowPattern,
  parseProjectSlug,
} from './annotations';

const entity = (annotations: Record<string, string>): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'x', annotations },
});

describe('annotations', () => {
  it('knows an entity annotated for GitHub Actions', () => {
    expect(hasCiAnnotation(entity({ 'github.com/project-slug': 'a/b' }))).toBe(
      true,
    );
    expect(hasCiAnnotation(entity({ 'github.com/project-slug': '  ' }))).toBe(
      false,
    );
    expect(hasCiAnnotation(entity({}))).toBe(false);
  });

  it('reads the host of a URL source location', () => {
    expect(
      getSourceLocationHost(
        entity({
          'backstage.io/source-location':
            'url:https://ghe.example.com/org/repo/tree/main/',
        }),
      ),
    ).toBe('ghe.example.com');
    expect(
      getSourceLocationHost(
        entity({
          'backstage.io/source-location': 'url:http://localhost:7008/o/r',
        }),
      ),
    ).toBe('localhost:7008');
    expect(
      getSourceLocationHost(
        entity({ 'backstage.io/source-location': 'dir:./' }),
      ),
    ).toBeUndefined();
    expect(getSourceLocationHost(entity({}))).toBeUndefined();
  });

  it('parses owner/repo slugs and rejects anything else', () => {
    expect(parseProjectSlug('octo-org/octo-repo')).toEqual({
      owner: 'octo-org',
      repo: 'octo-repo',
    });
    expect(parseProjectSlug(' a.b/c_d ')).toEqual({
      owner: 'a.b',
      repo: 'c_d',
    });
    expect(parseProjectSlug('octo-org')).toBeUndefined();
    expect(parseProjectSlug('a/b/c')).toBeUndefined();
    expect(parseProjectSlug('../etc/passwd')).toBeUndefined();
    expect(parseProjectSlug(undefined)).toBeUndefined();
  });

  it('reads the workflows an entity claims and matches names and paths', () => {
    const e = entity({
      'ci-experience.io/workflows':
        ' Payments CI, .github/workflows/payments-*.yml ,',
    });
    const patterns = getWorkflowPatterns(e)!;
    expect(patterns).toEqual([
      'Payments CI',
      '.github/workflows/payments-*.yml',
    ]);
    expect(matchesWorkflowPattern('Payments CI', patterns)).toBe(true);
    expect(matchesWorkflowPattern('Payments CI nightly', patterns)).toBe(false);
    expect(
      matchesWorkflowPattern('.github/workflows/payments-deploy.yml', patterns),
    ).toBe(true);
    expect(
      matchesWorkflowPattern('.github/workflows/checkout.yml', patterns),
    ).toBe(false);
    // Regular-expression characters are literal.
    expect(matchesWorkflowPattern('a+b', ['a+b'])).toBe(true);
    expect(matchesWorkflowPattern('aab', ['a+b'])).toBe(false);
    expect(getWorkflowPatterns(entity({}))).toBeUndefined();
  });

  it('knows the annotations of every provider', () => {
    expect(
      hasCiAnnotation(entity({ 'jenkins.io/job-full-name': 'team/app' })),
    ).toBe(true);
    expect(
      hasCiAnnotation(entity({ 'gitlab.com/project-slug': 'group/app' })),
    ).toBe(true);
  });
});
