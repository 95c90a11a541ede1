import { createRouteRef } from '@backstage/core-plugin-api';

/**
 * The route of the CI tab of an entity page.
 *
 * @public
 */
export const rootRouteRef = createRouteRef({
  id: 'ci-experience',
});

/**
 * The CI operations page: provider hosts, sources, webhook intake and queues
 * (for those granted `ci-experience.admin.read`). Mounted at
 * `/ci-experience/operations`.
 *
 * @public
 */
export const operationsRouteRef = createRouteRef({
  id: 'ci-experience:operations',
});
