import { Entity } from '@backstage/catalog-model';
import {
  ApiBlueprint,
  createFrontendPlugin,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/frontend-plugin-api';
import {
  EntityCardBlueprint,
  EntityContentBlueprint,
} from '@backstage/plugin-catalog-react/alpha';
import { hasCiAnnotation } from '@ci-experience/plugin-ci-experience-common';
import { ciExperienceApiRef, CiExperienceClient } from './api';
import { rootRouteRef } from './routes';

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
    ciExperienceEntityContent,
    ciExperienceEntityCard,
    ciExperienceRollupCard,
    ciExperienceRollupContent,
  ],
  routes: {
    root: rootRouteRef,
  },
});
