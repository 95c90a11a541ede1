import { createBackendModule } from '@backstage/backend-plugin-api';
import {
  CiProvider,
  ciProvidersExtensionPoint,
} from '@ci-experience/plugin-ci-experience-node';

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
