import {
  createBackendModule,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { mockServices } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import {
  CatalogService,
  catalogServiceRef,
} from '@backstage/plugin-catalog-node';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { JsonObject } from '@backstage/types';
import {
  CiProvider,
  ciProvidersExtensionPoint,
} from '@ci-experience/plugin-ci-experience-node';
import buildkiteModule from '@ci-experience/plugin-ci-experience-backend-module-buildkite';
import circleciModule from '@ci-experience/plugin-ci-experience-backend-module-circleci';
import githubModule from '@ci-experience/plugin-ci-experience-backend-module-github';
import gitlabModule from '@ci-experience/plugin-ci-experience-backend-module-gitlab';
import jenkinsModule from '@ci-experience/plugin-ci-experience-backend-module-jenkins';
import { ciExperiencePlugin } from '../plugin';

/**
 * The five provider modules, as the portal's backend adds them (each with
 * its events ingress); each is off unless its config switches it on.
 */
export const providerModules = [
  githubModule,
  gitlabModule,
  jenkinsModule,
  buildkiteModule,
  circleciModule,
];

/** A backend module adding test providers to the CI Experience plugin. */
export function providerModule(...providers: CiProvider[]) {
  return createBackendModule({
    pluginId: 'ci-experience',
    moduleId: 'test-providers',
    register(env) {
      env.registerInit({
        deps: { extension: ciProvidersExtensionPoint },
        async init({ extension }) {
          extension.addProvider(...providers);
        },
      });
    },
  });
}

/** A schedule that does not fire during a test (a day away). */
export const NEVER = {
  frequency: { hours: 24 },
  timeout: { minutes: 5 },
  initialDelay: { hours: 24 },
};

/**
 * The features of a test backend running the CI Experience plugin with
 * test providers: GitHub off, no scheduled sync, the providers' sources
 * allowed by `allow`, the catalog holding `entities` (optionally wrapped),
 * and an events service; add permissions, auditor and so on beside them.
 */
export function ciPluginFeatures(options: {
  providers: CiProvider[];
  entities: Entity[];
  allow: Array<{ provider: string; source: string }>;
  /** More `ciExperience` config, over the defaults above. */
  ciExperience?: JsonObject;
  /** More root config (`app`, `backend`, ...). */
  config?: JsonObject;
  catalog?: (inner: CatalogService) => CatalogService;
}) {
  return [
    ciExperiencePlugin,
    providerModule(...options.providers),
    mockServices.rootConfig.factory({
      data: {
        ...options.config,
        ciExperience: {
          providers: { githubActions: { enabled: false } },
          sync: { schedule: NEVER },
          sources: { allow: options.allow },
          ...options.ciExperience,
        },
      },
    }),
    mockServices.events.factory(),
    createServiceFactory({
      service: catalogServiceRef,
      deps: {},
      factory: () => {
        const inner = catalogServiceMock({ entities: options.entities });
        return options.catalog?.(inner) ?? inner;
      },
    }),
  ];
}
