import {
  BackendFeature,
  CacheService,
  coreServices,
  createBackendModule,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import { ciProvidersExtensionPoint } from './extensions';
import { CiProvider } from './provider';
import { CiProviderToolkit, ciProviderToolkitServiceRef } from './toolkit';

/**
 * What a provider module gets to create its provider with.
 *
 * @public
 */
export interface CiProviderModuleContext {
  /** The root config. */
  config: Config;
  /** The plugin's logger. */
  logger: LoggerService;
  /** The plugin's cache (ETags, budgets, kept posts). */
  cache: CacheService;
  /** The plugin's shared budgets, breakers and request metrics. */
  toolkit: CiProviderToolkit;
}

/**
 * A backend module of the CI Experience plugin adding one provider, created
 * from config; none when `create` answers undefined (the provider is off),
 * and then `offMessage` is logged.
 *
 * @public
 */
export function createCiProviderModule(options: {
  /** The module id, e.g. `jenkins`. */
  moduleId: string;
  /** Creates the provider, or undefined when its config leaves it off. */
  create(
    context: CiProviderModuleContext,
  ): CiProvider | undefined | Promise<CiProvider | undefined>;
  /** Logged when the provider is off: how to switch it on. */
  offMessage?: string;
}): BackendFeature {
  return createBackendModule({
    pluginId: 'ci-experience',
    moduleId: options.moduleId,
    register(env) {
      env.registerInit({
        deps: {
          config: coreServices.rootConfig,
          logger: coreServices.logger,
          cache: coreServices.cache,
          toolkit: ciProviderToolkitServiceRef,
          providers: ciProvidersExtensionPoint,
        },
        async init({ providers, ...context }) {
          const provider = await options.create(context);
          if (provider) {
            providers.addProvider(provider);
          } else if (options.offMessage) {
            context.logger.info(options.offMessage);
          }
        },
      });
    },
  });
}
