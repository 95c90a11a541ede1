import {
  createApiFactory,
  createComponentExtension,
  createPlugin,
  createRoutableExtension,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/core-plugin-api';
import { ciExperienceApiRef, CiExperienceClient } from './api';
import { ciOperatorApiRef, CiOperatorClient } from './api/CiOperatorApi';
import { operationsRouteRef, rootRouteRef } from './routes';

/**
 * The CI Experience plugin, for apps on the legacy frontend system.
 *
 * @public
 */
export const ciExperiencePlugin = createPlugin({
  id: 'ci-experience',
  apis: [
    createApiFactory({
      api: ciExperienceApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new CiExperienceClient({ discoveryApi, fetchApi }),
    }),
    createApiFactory({
      api: ciOperatorApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new CiOperatorClient({ discoveryApi, fetchApi }),
    }),
  ],
  routes: {
    root: rootRouteRef,
    operations: operationsRouteRef,
  },
});

/**
 * The CI tab of an entity page.
 *
 * @public
 */
export const EntityCiContent: () => JSX.Element = ciExperiencePlugin.provide(
  createRoutableExtension({
    name: 'EntityCiContent',
    component: () =>
      import('./components/EntityCiContent').then(m => m.EntityCiContent),
    mountPoint: rootRouteRef,
  }),
);

/**
 * The CI status card of an entity page's overview.
 *
 * @public
 */
export const EntityCiStatusCard: () => JSX.Element = ciExperiencePlugin.provide(
  createComponentExtension({
    name: 'EntityCiStatusCard',
    component: {
      lazy: () =>
        import('./components/EntityCiStatusCard').then(
          m => m.EntityCiStatusCard,
        ),
    },
  }),
);

/**
 * A card for Group and System pages: the components the group owns (or the
 * system holds) with their CI health, worst first, each linking to its CI
 * tab.
 *
 * @public
 */
export const EntityCiRollupCard: () => JSX.Element = ciExperiencePlugin.provide(
  createComponentExtension({
    name: 'EntityCiRollupCard',
    component: {
      lazy: () =>
        import('./components/EntityCiRollup').then(m => m.EntityCiRollupCard),
    },
  }),
);

/**
 * A tab for Group and System pages: the components' CI health with success
 * rate, p95 duration, flaky rate, last status and runs, over a chosen window.
 *
 * @public
 */
export const EntityCiRollupContent: () => JSX.Element =
  ciExperiencePlugin.provide(
    createComponentExtension({
      name: 'EntityCiRollupContent',
      component: {
        lazy: () =>
          import('./components/EntityCiRollup').then(
            m => m.EntityCiRollupContent,
          ),
      },
    }),
  );

/**
 * The CI operations page for the portal's admins (permission
 * `ci-experience.admin.read`): provider budgets and breakers, every source's
 * sync state worst first, webhook intake and queue depths. Route it at
 * `/ci-experience/operations`.
 *
 * @public
 */
export const CiOperationsPage: () => JSX.Element = ciExperiencePlugin.provide(
  createRoutableExtension({
    name: 'CiOperationsPage',
    component: () =>
      import('./components/CiOperationsPage').then(m => m.CiOperationsPage),
    mountPoint: operationsRouteRef,
  }),
);
