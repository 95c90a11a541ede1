/*
 * The portal's backend: the plugins a newcomer's portal runs, plus CI Experience.
 */

import { createBackend } from '@backstage/backend-defaults';
import { gitlabEventRouterModule } from './gitlabEventRouter';
import { ciPortalPermissionPolicyModule } from './permissionPolicy';

const backend = createBackend();

backend.add(import('@backstage/plugin-app-backend'));

// auth: guest sign-in for local use (https://backstage.io/docs/auth/guest/provider)
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(import('@backstage/plugin-auth-backend-module-guest-provider'));

// catalog
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(import('@backstage/plugin-catalog-backend-module-logs'));

// permissions: the portal's policy (./permissionPolicy): only an entity's
// owners may change its CI alert rules; everything else is allowed
backend.add(import('@backstage/plugin-permission-backend'));
backend.add(ciPortalPermissionPolicyModule);

// TechDocs, where CI Experience's guides live
backend.add(import('@backstage/plugin-techdocs-backend'));

// search (in-memory Lunr engine) over the catalog and TechDocs
backend.add(import('@backstage/plugin-search-backend'));
backend.add(import('@backstage/plugin-search-backend-module-catalog'));
backend.add(import('@backstage/plugin-search-backend-module-techdocs'));

backend.add(import('@backstage/plugin-user-settings-backend'));
backend.add(import('@backstage/plugin-notifications-backend'));
backend.add(import('@backstage/plugin-signals-backend'));

// events: GitHub webhooks arrive at POST /api/events/http/github, their
// signatures checked with events.modules.github.webhookSecret
backend.add(import('@backstage/plugin-events-backend'));
backend.add(import('@backstage/plugin-events-backend-module-github'));
// GitLab pipeline and job hooks: only the router of Backstage's GitLab module
// (gitlab -> gitlab.<object_kind>); its own ingress, a plain comparison of
// the token, is left out (./gitlabEventRouter)
backend.add(gitlabEventRouterModule);

// CI Experience, and one module per CI provider: each syncs its provider
// and serves its webhooks (GitLab, Jenkins, Buildkite and CircleCI also at
// /api/events/http/<provider>, checked with their secrets); each is off
// until its config switches it on
backend.add(import('@ci-experience/plugin-ci-experience-backend'));
backend.add(
  import('@ci-experience/plugin-ci-experience-backend-module-github'),
);
backend.add(
  import('@ci-experience/plugin-ci-experience-backend-module-gitlab'),
);
backend.add(
  import('@ci-experience/plugin-ci-experience-backend-module-jenkins'),
);
backend.add(
  import('@ci-experience/plugin-ci-experience-backend-module-buildkite'),
);
backend.add(
  import('@ci-experience/plugin-ci-experience-backend-module-circleci'),
);
// Runs any CI posts to /api/ci-experience/webhooks/ci-events
// (ciExperience.providers.ciEvents; docs/providers/ci-events.md)
backend.add(
  import('@ci-experience/plugin-ci-experience-backend-module-ci-events'),
);

// Scorecards: Tech Insights with CI Experience's facts (docs/scorecards.md)
backend.add(import('@backstage-community/plugin-tech-insights-backend'));
backend.add(
  import('@backstage-community/plugin-tech-insights-backend-module-jsonfc'),
);
backend.add(
  import('@ci-experience/plugin-tech-insights-backend-module-ci-experience'),
);

// AI agents: the actions of the plugins in backend.actions.pluginSources
// (CI Experience's list-ci-runs, get-ci-run, explain-ci-failure, ...) over
// MCP at /api/mcp-actions/v1, for signed-in users and static tokens
// (docs/agents.md)
backend.add(import('@backstage/plugin-mcp-actions-backend'));

// A backend that cannot start (CI Experience refusing a demo secret in a
// production config, say) says why and exits rather than linger unready.
backend.start().catch(error => {
  process.stderr.write(`The backend did not start: ${error?.stack ?? error}\n`);
  process.exit(1);
});
