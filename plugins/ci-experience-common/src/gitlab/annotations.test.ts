import { Entity } from '@backstage/catalog-model';
import {
  getGitlabInstance,
  getGitlabProjectRef,
  hasGitlabCiAnnotation,
  parseGitlabProjectPath,
} from './annotations';

const entity = (annotations: Record<string, string>): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'svc', annotations },
});

describe('GitLab annotations', () => {
  it('accepts project paths with any depth of subgroups', () => {
    expect(parseGitlabProjectPath('group/project')).toBe('group/project');
    expect(parseGitlabProjectPath(' group/sub/deeper/my.project_1 ')).toBe(
      'group/sub/deeper/my.project_1',
    );
  });

  it.each([
    'project',
    '/group/project',
    'group/project/',
    'group//project',
    'group/../project',
    'group/project.git',
    'https://gitlab.com/group/project',
    'group/pro ject',
    '',
  ])('refuses the malformed path %j', slug => {
    expect(parseGitlabProjectPath(slug)).toBeUndefined();
  });

  it('prefers the slug, falls back to a numeric id, ignores bad ids', () => {
    expect(
      getGitlabProjectRef(
        entity({
          'gitlab.com/project-slug': 'a/b',
          'gitlab.com/project-id': '12',
        }),
      ),
    ).toEqual({ kind: 'path', path: 'a/b' });
    expect(
      getGitlabProjectRef(entity({ 'gitlab.com/project-id': ' 4242 ' })),
    ).toEqual({ kind: 'id', id: '4242' });
    for (const id of ['0', '-1', '12a', '99999999999', '2147483648']) {
      expect(
        getGitlabProjectRef(entity({ 'gitlab.com/project-id': id })),
      ).toBeUndefined();
    }
    expect(getGitlabProjectRef(entity({}))).toBeUndefined();
  });

  it('reads the instance as a bare host, reducing a URL to its host', () => {
    expect(
      getGitlabInstance(
        entity({ 'gitlab.com/instance': 'GitLab.Example.com' }),
      ),
    ).toBe('gitlab.example.com');
    expect(
      getGitlabInstance(
        entity({ 'gitlab.com/instance': 'https://git.example.com:8443/x' }),
      ),
    ).toBe('git.example.com:8443');
    expect(
      getGitlabInstance(entity({ 'gitlab.com/instance': 'bad host/x' })),
    ).toBeUndefined();
    expect(getGitlabInstance(entity({}))).toBeUndefined();
  });

  it('knows whether an entity is annotated for GitLab CI', () => {
    expect(
      hasGitlabCiAnnotation(entity({ 'gitlab.com/project-slug': 'a/b' })),
    ).toBe(true);
    expect(
      hasGitlabCiAnnotation(entity({ 'gitlab.com/project-id': '1' })),
    ).toBe(true);
    expect(
      hasGitlabCiAnnotation(entity({ 'gitlab.com/instance': 'x.com' })),
    ).toBe(false);
  });
});
