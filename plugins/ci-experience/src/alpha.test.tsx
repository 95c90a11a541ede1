import {
  ApiBlueprint,
  coreExtensionData,
} from '@backstage/frontend-plugin-api';
import {
  createExtensionTester,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import {
  EntityCardBlueprint,
  EntityContentBlueprint,
} from '@backstage/plugin-catalog-react/alpha';
import { screen } from '@testing-library/react';
import ciExperiencePlugin, {
  ciExperienceApi,
  ciExperienceEntityCard,
  ciExperienceEntityContent,
} from './alpha';
import { CiExperienceApi, ciExperienceApiRef } from './api';
import {
  annotatedEntity,
  makeResponse,
  makeRun,
  plainEntity,
} from './testing/fixtures';

describe('ci-experience new frontend system plugin', () => {
  it('declares the plugin id and provides the API', () => {
    expect(ciExperiencePlugin.pluginId).toBe('ci-experience');
    expect(ciExperiencePlugin.getExtension('api:ci-experience')).toBeDefined();
    expect(
      ciExperiencePlugin.getExtension('entity-content:ci-experience'),
    ).toBeDefined();
    expect(
      ciExperiencePlugin.getExtension('entity-card:ci-experience/ci-status'),
    ).toBeDefined();
    const factory = createExtensionTester(ciExperienceApi).get(
      ApiBlueprint.dataRefs.factory,
    );
    expect(factory.api.id).toBe(ciExperienceApiRef.id);
    expect(Object.keys(factory.deps).sort()).toEqual([
      'discoveryApi',
      'fetchApi',
    ]);
  });

  it('mounts the CI tab at ci, only for entities with CI', () => {
    const tester = createExtensionTester(ciExperienceEntityContent);

    expect(tester.get(coreExtensionData.routePath)).toBe('ci');
    expect(tester.get(EntityContentBlueprint.dataRefs.title)).toBe('CI');
    const filter = tester.get(EntityContentBlueprint.dataRefs.filterFunction);
    expect(filter?.(annotatedEntity)).toBe(true);
    expect(filter?.(plainEntity)).toBe(false);
  });

  it('renders the CI status card with the plugin API', async () => {
    const api: CiExperienceApi = {
      getRuns: jest.fn(async () =>
        makeResponse({ items: [makeRun({ runNumber: 42 })] }),
      ),
      getRun: jest.fn(),
      getJobLog: jest.fn(),
      rerunRun: jest.fn(),
      cancelRun: jest.fn(),
    };
    const tester = createExtensionTester(ciExperienceEntityCard);

    const filter = tester.get(EntityCardBlueprint.dataRefs.filterFunction);
    expect(filter?.(annotatedEntity)).toBe(true);
    expect(filter?.(plainEntity)).toBe(false);

    renderInTestApp(
      <EntityProvider entity={annotatedEntity}>
        {tester.reactElement()}
      </EntityProvider>,
      { apis: [[ciExperienceApiRef, api]] },
    );

    expect(await screen.findByText('CI status')).toBeInTheDocument();
    await screen.findByText('#42');
  });
});
