import { Entity } from '@backstage/catalog-model';
import {
  ApiBlueprint,
  createFrontendPlugin,
  discoveryApiRef,
  fetchApiRef,
  PageBlueprint,
} from '@backstage/frontend-plugin-api';
import {
  EntityCardBlueprint,
  EntityContentBlueprint,
} from '@backstage/plugin-catalog-react/alpha';
import { hasCiAnnotation } from '@ci-experience/plugin-ci-experience-common';
import SvgIcon from '@material-ui/core/SvgIcon';
import { ciExperienceApiRef, CiExperienceClient } from './api';
import { ciOperatorApiRef, CiOperatorClient } from './api/CiOperatorApi';
import { operationsRouteRef, rootRouteRef } from './routes';

/**
 * The client of the CI Experience backend.
 *
 * @alpha
 */
export const ciExperienceApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: ciExperienceApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new CiExperienceClient({ discoveryApi, fetchApi }),
    }),
});

/**
 * The client of the backend's operator view (`/admin/status`).
 *
 * @alpha
 */
export const ciOperatorApi = ApiBlueprint.make({
  name: 'operator',
  params: defineParams =>
    defineParams({
      api: ciOperatorApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new CiOperatorClient({ discoveryApi, fetchApi }),
    }),
});

/** Material's "build" (wrench) icon, without a dependency on its icon set. */
const OperationsIcon = () => (
  <SvgIcon>
    <path d="M22.7 19l-9.1-9.1c.9-2.3.4-5-1.5-6.9-2-2-5-2.4-7.4-1.3L9 6 6 9 1.6 4.7C.4 7.1.9 10.1 2.9 12.1c1.9 1.9 4.6 2.4 6.9 1.5l9.1 9.1c.4.4 1 .4 1.4 0l2.3-2.3c.5-.4.5-1.1.1-1.4z" />
  </SvgIcon>
);

/**
 * The CI operations page at `/ci-experience/operations`, for the portal's
 * admins (permission `ci-experience.admin.read`; others see why they cannot
 * read it). Its nav item appears in the app's sidebar.
 *
 * @alpha
 */
export const ciOperationsPage = PageBlueprint.make({
  name: 'operations',
  params: {
    path: '/ci-experience/operations',
    title: 'CI operations',
    icon: <OperationsIcon />,
    routeRef: operationsRouteRef,
    loader: () =>
      import('./components/CiOperationsPage').then(m => (
        <m.CiOperationsContent />
      )),
  },
});

/**
 * The CI tab of entity pages, shown for entities with a CI annotation.
 *
 * @alpha
 */
export const ciExperienceEntityContent = EntityContentBlueprint.make({
  params: {
    path: 'ci',
    title: 'CI',
    routeRef: rootRouteRef,
    filter: hasCiAnnotation,
    loader: () =>
      import('./components/EntityCiContent').then(m => <m.EntityCiContent />),
  },
});

/**
 * The CI status card of entity overviews, shown for entities with a CI
 * annotation.
 *
 * @alpha
 */
export const ciExperienceEntityCard = EntityCardBlueprint.make({
  name: 'ci-status',
  params: {
    filter: hasCiAnnotation,
    loader: () =>
      import('./components/EntityCiStatusCard').then(m => (
        <m.EntityCiStatusCard />
      )),
  },
});

const isRollupEntity = (entity: Entity) => {
  const kind = entity.kind.toLocaleLowerCase('en-US');
  return kind === 'group' || kind === 'system';
};

/**
 * The CI health roll-up card of Group and System overviews: the components
 * the group owns (or the system holds), worst first.
 *
 * @alpha
 */
export const ciExperienceRollupCard = EntityCardBlueprint.make({
  name: 'ci-rollup',
  params: {
    filter: isRollupEntity,
    loader: () =>
      import('./components/EntityCiRollup').then(m => <m.EntityCiRollupCard />),
  },
});

/**
 * The CI health tab of Group and System pages.
 *
 * @alpha
 */
export const ciExperienceRollupContent = EntityContentBlueprint.make({
  name: 'ci-rollup',
  params: {
    path: 'ci-health',
    title: 'CI health',
    filter: isRollupEntity,
    loader: () =>
      import('./components/EntityCiRollup').then(m => (
        <m.EntityCiRollupContent />
      )),
  },
});

/**
 * The CI Experience plugin, for apps on the new frontend system.
 *
 * @alpha
 */
export default createFrontendPlugin({
  pluginId: 'ci-experience',
  info: { packageJson: () => import('../package.json') },
  extensions: [
    ciExperienceApi,
    ciOperatorApi,
    ciOperationsPage,
    ciExperienceEntityContent,
    ciExperienceEntityCard,
    ciExperienceRollupCard,
    ciExperienceRollupContent,
  ],
  routes: {
    root: rootRouteRef,
    operations: operationsRouteRef,
  },
});
