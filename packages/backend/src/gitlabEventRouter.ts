import { createBackendModule } from '@backstage/backend-plugin-api';
import { GitlabEventRouter } from '@backstage/plugin-events-backend-module-gitlab';
import { eventsServiceRef } from '@backstage/plugin-events-node';

/**
 * The router half of `@backstage/plugin-events-backend-module-gitlab`: it
 * republishes each delivery of the topic `gitlab` as
 * `gitlab.<object_kind>`, where CI Experience reads pipeline and job hooks.
 * The package adds its router and its own webhook ingress together (a plain
 * string comparison of `X-Gitlab-Token`); here the ingress is CI
 * Experience's (`ciExperienceGitlabIngressModule`: constant-time token, signed
 * deliveries), so only the router is taken, through the class the package
 * exports. The module id is the package's own, so the two can never both be
 * installed and republish every delivery twice.
 */
export const gitlabEventRouterModule = createBackendModule({
  pluginId: 'events',
  moduleId: 'gitlab-event-router',
  register(env) {
    env.registerInit({
      deps: { events: eventsServiceRef },
      async init({ events }) {
        await new GitlabEventRouter({ events }).subscribe();
      },
    });
  },
});
