import {
  annotatedEntity,
  makeResponse,
  makeRun,
  makeRunDetail,
  plainEntity,
  alertsApiStubs,
  testsApiStubs,
  insightsApiStubs,
} from './testing/fixtures';
import {
  ciExperiencePlugin,
  EntityCiContent,
  EntityCiRollupCard,
  EntityCiRollupContent,
  EntityCiStatusCard,
  isCiExperienceAvailable,
  isCiRollupAvailable,
} from './index';
import { ciExperienceApiRef } from './api';
import { ciOperatorApiRef } from './api/CiOperatorApi';
import { getComponentData } from '@backstage/core-plugin-api';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/test-utils';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { fireEvent, screen } from '@testing-library/react';
import { Route, Routes } from 'react-router-dom';
import { rootRouteRef } from './routes';

jest.setTimeout(30_000);

describe('ci-experience legacy plugin', () => {
  it('has the plugin id and provides the API', () => {
    expect(ciExperiencePlugin.getId()).toBe('ci-experience');
    const apiIds = [...ciExperiencePlugin.getApis()].map(f => f.api.id);
    expect(apiIds).toEqual([ciExperienceApiRef.id, ciOperatorApiRef.id]);
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
    expect(getComponentData(<EntityCiRollupCard />, 'core.plugin')).toBe(
      ciExperiencePlugin,
    );
    expect(getComponentData(<EntityCiRollupContent />, 'core.plugin')).toBe(
      ciExperiencePlugin,
    );
  });

  it('tells which entities get the CI health roll-up', () => {
    expect(isCiRollupAvailable({ ...plainEntity, kind: 'Group' })).toBe(true);
    expect(isCiRollupAvailable({ ...plainEntity, kind: 'system' })).toBe(true);
    expect(isCiRollupAvailable(annotatedEntity)).toBe(false);
  });

  it('renders the roll-up card on a legacy group page', async () => {
    const api = {
      getRuns: jest.fn(),
      getRun: jest.fn(),
      getJobLog: jest.fn(),
      rerunRun: jest.fn(),
      cancelRun: jest.fn(),
      ...insightsApiStubs(),
      ...alertsApiStubs(),
      ...testsApiStubs(),
    };
    await renderInTestApp(
      <TestApiProvider apis={[[ciExperienceApiRef, api]]}>
        <EntityProvider
          entity={{
            ...plainEntity,
            kind: 'Group',
            metadata: { name: 'payments-team', namespace: 'default' },
          }}
        >
          <EntityCiRollupCard />
        </EntityProvider>
      </TestApiProvider>,
    );

    expect(
      await screen.findByRole('link', { name: 'Checkout' }),
    ).toHaveAttribute('href', '/catalog/default/component/checkout/ci');
    expect(api.getGroupInsights).toHaveBeenCalledTimes(1);
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

  it('routes the CI tab of a legacy entity page to the runs list and run pages', async () => {
    const api = {
      getRuns: jest.fn(async () => makeResponse({ items: [makeRun()] })),
      getRun: jest.fn(async () => makeRunDetail()),
      getJobLog: jest.fn(),
      rerunRun: jest.fn(),
      cancelRun: jest.fn(),
      ...insightsApiStubs(),
      ...alertsApiStubs(),
      ...testsApiStubs(),
    };
    // What `<EntityLayout.Route path="/ci">` does: the tab owns `ci/*`.
    await renderInTestApp(
      <TestApiProvider
        apis={[
          [ciExperienceApiRef, api],
          [permissionApiRef, mockApis.permission()],
        ]}
      >
        <EntityProvider entity={annotatedEntity}>
          <Routes>
            <Route
              path="/catalog/:namespace/:kind/:name/ci/*"
              element={<EntityCiContent />}
            />
          </Routes>
        </EntityProvider>
      </TestApiProvider>,
      {
        routeEntries: ['/catalog/default/component/payments/ci/runs/run-1'],
        mountedRoutes: { '/catalog/:namespace/:kind/:name/ci': rootRouteRef },
      },
    );

    expect(
      await screen.findByRole('heading', { name: 'CI #562' }),
    ).toBeInTheDocument();
    expect(api.getRun).toHaveBeenCalledWith('run-1');
    const back = screen.getByRole('link', { name: '← All runs' });
    expect(back).toHaveAttribute(
      'href',
      '/catalog/default/component/payments/ci',
    );
    fireEvent.click(back);
    expect(
      await screen.findByRole('link', { name: 'CI #562: jobs and logs' }),
    ).toHaveAttribute(
      'href',
      '/catalog/default/component/payments/ci/runs/run-1',
    );
  });
});
