import {
  coreServices,
  createServiceFactory,
  createServiceRef,
} from '@backstage/backend-plugin-api';
import { ProviderTraffic } from './http/ProviderTraffic';
import { CiProviderMetrics, createCiProviderMetrics } from './metrics';

/**
 * What every provider of the plugin shares: the request budgets and circuit
 * breakers per host (shared between replicas through the cache service), and
 * the request instruments.
 *
 * @public
 */
export interface CiProviderToolkit {
  /** Budgets and breakers per host; pass to each `ProviderHttpClient`. */
  readonly traffic: ProviderTraffic;
  /** The request instruments; pass to each `ProviderHttpClient`. */
  readonly metrics: CiProviderMetrics;
}

/**
 * The toolkit of the CI Experience plugin. Plugin-scoped: the plugin and
 * every provider module of it get the same one, so budgets and breakers
 * are shared and the operator's page sees every host.
 *
 * @public
 */
export const ciProviderToolkitServiceRef = createServiceRef<CiProviderToolkit>({
  id: 'ci-experience.provider-toolkit',
  scope: 'plugin',
  defaultFactory: async service =>
    createServiceFactory({
      service,
      deps: {
        config: coreServices.rootConfig,
        cache: coreServices.cache,
        logger: coreServices.logger,
      },
      factory({ config, cache, logger }) {
        return {
          traffic: ProviderTraffic.fromConfig(config, { cache, logger }),
          metrics: createCiProviderMetrics(),
        };
      },
    }),
});
