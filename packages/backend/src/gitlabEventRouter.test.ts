import { createBackendModule } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import eventsPlugin from '@backstage/plugin-events-backend';
import {
  EventParams,
  eventsServiceFactory,
  eventsServiceRef,
} from '@backstage/plugin-events-node';
import { ciExperienceGitlabIngressModule } from '@ci-experience/plugin-ci-experience-backend-module-gitlab';
import path from 'node:path';
import request from 'supertest';
import { gitlabEventRouterModule } from './gitlabEventRouter';

const SECRET = 'gitlab-webhook-secret-for-tests-0123';

/** GitLab's documented pipeline hook, the fixture of the GitLab module's own tests. */
const pipelineHook = require(path.join(
  path.dirname(
    require.resolve(
      '@ci-experience/plugin-ci-experience-backend-module-gitlab/package.json',
    ),
  ),
  'src/__fixtures__/pipeline-hook.json',
));

/** What reaches the topics the plugin reads. */
function recorder() {
  const received: EventParams[] = [];
  const module = createBackendModule({
    pluginId: 'events',
    moduleId: 'test-recorder',
    register(env) {
      env.registerInit({
        deps: { events: eventsServiceRef },
        async init({ events }) {
          await events.subscribe({
            id: 'test-recorder',
            topics: ['gitlab', 'gitlab.pipeline'],
            onEvent: async event => {
              received.push(event);
            },
          });
        },
      });
    },
  });
  return { received, module };
}

/** The portal's GitLab wiring: events backend, router only, CI Experience's ingress. */
async function start(extra: unknown[] = []) {
  const { received, module } = recorder();
  const { server } = await startTestBackend({
    features: [
      eventsPlugin,
      eventsServiceFactory,
      gitlabEventRouterModule,
      ciExperienceGitlabIngressModule,
      module,
      ...(extra as any[]),
      mockServices.rootConfig.factory({
        data: {
          events: { useEventBus: 'never' },
          ciExperience: {
            providers: { gitlab: { webhookSecret: SECRET } },
          },
        },
      }),
    ],
  });
  return { server, received };
}

const post = (server: any, headers: Record<string, string>) =>
  request(server)
    .post('/api/events/http/gitlab')
    .set({
      'x-gitlab-event': 'Pipeline Hook',
      'idempotency-key': '2f1d9c0e-6a3b-4c5d-8e7f-9a0b1c2d3e4f',
      ...headers,
    })
    .send(pipelineHook);

describe('the portal backend GitLab wiring', () => {
  it('serves POST /api/events/http/gitlab with CI Experience validator and routes deliveries to gitlab.pipeline', async () => {
    const { server, received } = await start();
    expect((await post(server, {})).status).toBe(401);
    expect(
      (await post(server, { 'x-gitlab-token': `${SECRET}x` })).status,
    ).toBe(403);
    expect(received).toEqual([]);

    expect((await post(server, { 'x-gitlab-token': SECRET })).status).toBe(202);
    expect(received.map(e => e.topic).sort()).toEqual([
      'gitlab',
      'gitlab.pipeline',
    ]);
    expect(
      received.find(e => e.topic === 'gitlab.pipeline')?.eventPayload,
    ).toEqual(pipelineHook);
  });

  it('cannot be installed beside the router of @backstage/plugin-events-backend-module-gitlab', async () => {
    // The package's own router module, from its files: its index adds it
    // with the package's ingress through a dynamic import Jest cannot follow.
    const dist = path.join(
      path.dirname(
        require.resolve(
          '@backstage/plugin-events-backend-module-gitlab/package.json',
        ),
      ),
      'dist/service/eventsModuleGitlabEventRouter.cjs.js',
    );
    await expect(start([require(dist).default])).rejects.toThrow(
      "Module 'gitlab-event-router' for plugin 'events' is already registered",
    );
  });
});
