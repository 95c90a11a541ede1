import { Entity } from '@backstage/catalog-model';
import {
  getSourceLocationHost,
  hasCiAnnotation,
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
});
