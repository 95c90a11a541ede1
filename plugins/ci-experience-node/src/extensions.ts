import { createExtensionPoint } from '@backstage/backend-plugin-api';
import { CiProvider } from './provider';

/**
 * Lets backend modules add CI providers to the CI Experience backend.
 *
 * @public
 */
export interface CiProvidersExtensionPoint {
  /** Adds providers; each `id` must be unique among all providers. */
  addProvider(...providers: CiProvider[]): void;
}

/**
 * The extension point through which modules add CI providers.
 *
 * @example
 * ```ts
 * createBackendModule({
 *   pluginId: 'ci-experience',
 *   moduleId: 'my-ci',
 *   register(env) {
 *     env.registerInit({
 *       deps: { providers: ciProvidersExtensionPoint },
 *       async init({ providers }) {
 *         providers.addProvider(new MyCiProvider());
 *       },
 *     });
 *   },
 * });
 * ```
 *
 * @public
 */
export const ciProvidersExtensionPoint =
  createExtensionPoint<CiProvidersExtensionPoint>({
    id: 'ci-experience.providers',
  });
