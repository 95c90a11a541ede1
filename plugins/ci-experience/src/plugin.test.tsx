import { annotatedEntity, plainEntity } from './testing/fixtures';
import {
  ciExperiencePlugin,
  EntityCiContent,
  EntityCiStatusCard,
  isCiExperienceAvailable,
} from './index';
import { ciExperienceApiRef } from './api';
import { getComponentData } from '@backstage/core-plugin-api';

describe('ci-experience legacy plugin', () => {
  it('has the plugin id and provides the API', () => {
    expect(ciExperiencePlugin.getId()).toBe('ci-experience');
    const apiIds = [...ciExperiencePlugin.getApis()].map(f => f.api.id);
    expect(apiIds).toEqual([ciExperienceApiRef.id]);
  });

  it('provides the extensions from the plugin', () => {
    // Backstage marks extensions with the plugin that provides them; the
    // app's routing and analytics rely on it.
    expect(getComponentData(<EntityCiContent />, 'core.plugin')).toBe(
      ciExperiencePlugin,
    );
    expect(getComponentData(<EntityCiStatusCard />, 'core.plugin')).toBe(
      ciExperiencePlugin,
    );
    expect(
      getComponentData(<EntityCiContent />, 'core.mountPoint'),
    ).toBeDefined();
  });

  it('tells which entities have CI', () => {
    expect(isCiExperienceAvailable(annotatedEntity)).toBe(true);
    expect(isCiExperienceAvailable(plainEntity)).toBe(false);
    expect(
      isCiExperienceAvailable({
        ...plainEntity,
        metadata: {
          name: 'blank',
          annotations: { 'github.com/project-slug': '  ' },
        },
      }),
    ).toBe(false);
  });
});
