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
import { screen, within } from '@testing-library/react';
import { Entity } from '@backstage/catalog-model';
import ciExperiencePlugin, {
  ciExperienceApi,
  ciExperienceEntityCard,
  ciExperienceEntityContent,
  ciExperienceRollupCard,
  ciExperienceRollupContent,
} from './alpha';
import { renderCiTab } from './__testUtils__/renderCiTab';
import { CiExperienceApi, ciExperienceApiRef } from './api';
import {
  annotatedEntity,
  makeResponse,
  makeRun,
  plainEntity,
  alertsApiStubs,
  testsApiStubs,
  insightsApiStubs,
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
      ...insightsApiStubs(),
      ...alertsApiStubs(),
      ...testsApiStubs(),
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

  describe('CI health roll-up of groups and systems', () => {
    const group: Entity = {
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Group',
      metadata: { name: 'payments-team', namespace: 'default' },
      spec: { type: 'team', children: [] },
    };
    const system: Entity = {
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'System',
      metadata: { name: 'shop', namespace: 'default' },
      spec: { owner: 'payments-team' },
    };
    const api = () => ({
      getRuns: jest.fn(async () => makeResponse()),
      getRun: jest.fn(),
      getJobLog: jest.fn(),
      rerunRun: jest.fn(),
      cancelRun: jest.fn(),
      ...insightsApiStubs(),
      ...alertsApiStubs(),
      ...testsApiStubs(),
    });

    it('offers the card and the ci-health tab on groups and systems only', () => {
      expect(
        ciExperiencePlugin.getExtension('entity-card:ci-experience/ci-rollup'),
      ).toBeDefined();
      expect(
        ciExperiencePlugin.getExtension(
          'entity-content:ci-experience/ci-rollup',
        ),
      ).toBeDefined();
      const card = createExtensionTester(ciExperienceRollupCard);
      const cardFilter = card.get(EntityCardBlueprint.dataRefs.filterFunction);
      const content = createExtensionTester(ciExperienceRollupContent);
      const contentFilter = content.get(
        EntityContentBlueprint.dataRefs.filterFunction,
      );
      expect(content.get(coreExtensionData.routePath)).toBe('ci-health');
      expect(content.get(EntityContentBlueprint.dataRefs.title)).toBe(
        'CI health',
      );
      for (const filter of [cardFilter, contentFilter]) {
        expect(filter?.(group)).toBe(true);
        expect(filter?.(system)).toBe(true);
        expect(filter?.(annotatedEntity)).toBe(false);
      }
    });

    it("shows the card on a group's page as the portal mounts it", async () => {
      const fake = api();
      await renderCiTab({
        api: fake,
        entity: group,
        path: '/catalog/default/group/payments-team',
      });

      const link = await screen.findByRole('link', { name: 'Checkout' });
      expect(link).toHaveAttribute(
        'href',
        '/catalog/default/component/checkout/ci',
      );
      expect(fake.getGroupInsights).toHaveBeenCalledWith(
        { kind: 'Group', namespace: 'default', name: 'payments-team' },
        '30d',
      );
      // The tab sits beside the overview.
      expect(
        within(
          screen.getByRole('navigation', { name: 'Content navigation' }),
        ).getByRole('link', { name: 'CI health' }),
      ).toHaveAttribute(
        'href',
        '/catalog/default/group/payments-team/ci-health',
      );
    });

    it("shows the tab on a system's page as the portal mounts it", async () => {
      const fake = api();
      await renderCiTab({
        api: fake,
        entity: system,
        path: '/catalog/default/system/shop/ci-health',
      });

      const table = await screen.findByRole('table', {
        name: 'CI health of the components',
      });
      expect(
        within(table).getByRole('columnheader', { name: 'p95 duration' }),
      ).toBeInTheDocument();
      expect(fake.getSystemInsights).toHaveBeenCalledWith(
        { kind: 'System', namespace: 'default', name: 'shop' },
        '30d',
      );
    });
  });
});
