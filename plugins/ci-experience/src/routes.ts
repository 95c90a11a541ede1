import { createRouteRef } from '@backstage/core-plugin-api';

/**
 * The route of the CI tab of an entity page.
 *
 * @public
 */
export const rootRouteRef = createRouteRef({
  id: 'ci-experience',
});
