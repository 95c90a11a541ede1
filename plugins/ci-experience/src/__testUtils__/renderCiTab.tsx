import { Entity } from '@backstage/catalog-model';
import { mockApis, renderTestApp } from '@backstage/frontend-test-utils';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import { catalogApiRef } from '@backstage/plugin-catalog-react';
import { catalogApiMock } from '@backstage/plugin-catalog-react/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import ciExperiencePlugin from '../alpha';
import { CiExperienceApi, ciExperienceApiRef } from '../api';
import { annotatedEntity } from '../testing/fixtures';

// Shared by the tests only; not exported from the package.

/** The CI tab of `annotatedEntity`'s page, as the portal mounts it. */
export const CI_TAB = '/catalog/default/component/payments/ci';

/**
 * Renders the app as the portal does (packages/app: the new frontend
 * system with the catalog plugin and this plugin), opened at `path`, as if
 * the URL had been pasted into the address bar: the catalog's entity page
 * routes to the CI tab, which routes to the runs list or a run page.
 */
export function renderCiTab(options: {
  api: CiExperienceApi;
  path?: string;
  permission?: AuthorizeResult.ALLOW | AuthorizeResult.DENY;
  entity?: Entity;
}) {
  return renderTestApp({
    features: [catalogPlugin, ciExperiencePlugin],
    apis: [
      [
        catalogApiRef,
        catalogApiMock({ entities: [options.entity ?? annotatedEntity] }),
      ],
      [ciExperienceApiRef, options.api],
      mockApis.permission({
        authorize: options.permission ?? AuthorizeResult.ALLOW,
      }),
    ],
    initialRouteEntries: [options.path ?? CI_TAB],
  });
}
