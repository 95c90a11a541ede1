/* eslint-disable @backstage/no-relative-monorepo-imports -- this test holds every provider module to one rule, on each module's own mapping and recorded fixtures */
import { providerModules } from './__testUtils__/backend';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import request from 'supertest';
import eventsPlugin from '@backstage/plugin-events-backend';
import { ciExperiencePlugin } from './plugin';

const notification = require('../../ci-experience-backend-module-jenkins/src/__fixtures__/notification.json');
const pipelineHook = require('../../ci-experience-backend-module-gitlab/src/__fixtures__/pipeline-hook.json');

const TOKEN = 'jenkins-webhook-token-for-tests-0123';
const GITLAB_SECRET = 'gitlab-webhook-secret-for-tests-0123';

const jenkinsInstances = [
  {
    name: 'ci',
    baseUrl: 'https://jenkins.example.com',
    username: 'bot',
    apiKey: 'secret-api-key',
  },
];

describe('ciExperienceEventsModule', () => {
  async function start(
    providers: Record<string, unknown> = {
      jenkins: { instances: jenkinsInstances, webhookToken: TOKEN },
    },
    extra: { events?: Record<string, unknown>; integrations?: unknown } = {},
  ) {
    const logger = mockServices.logger.mock();
    logger.child.mockReturnValue(logger);
    const { server } = await startTestBackend({
      features: [
        eventsPlugin,
        ciExperiencePlugin,
        ...providerModules,
        logger.factory,
        catalogServiceMock.factory({
          entities: [
            {
              apiVersion: 'backstage.io/v1alpha1',
              kind: 'Component',
              metadata: {
                name: 'payments',
                namespace: 'default',
                annotations: { 'jenkins.io/job-full-name': 'team-a/payments' },
              },
              spec: {},
            },
          ],
        }),
        mockServices.rootConfig.factory({
          data: {
            events: { useEventBus: 'never', ...extra.events },
            ...(extra.integrations ? { integrations: extra.integrations } : {}),
            ciExperience: {
              sync: {
                schedule: {
                  frequency: { hours: 24 },
                  timeout: { minutes: 1 },
                  initialDelay: { hours: 24 },
                },
              },
              providers: { githubActions: { enabled: false }, ...providers },
            },
          },
        }),
      ],
    });
    const warnings = () => logger.warn.mock.calls.map(c => String(c[0]));
    return { server, logger, warnings };
  }

  const postJenkins = (server: Parameters<typeof request>[0], path = '') =>
    request(server).post(`/api/events/http/jenkins${path}`);

  it('refuses a Jenkins notification without the token, or with a wrong one', async () => {
    const { server } = await start();
    const missing = await postJenkins(server).send(notification);
    expect(missing.status).toBe(401);
    const wrong = await postJenkins(server)
      .set('x-jenkins-token', 'nope')
      .send(notification);
    expect(wrong.status).toBe(403);
    expect(JSON.stringify(wrong.body)).not.toContain(TOKEN);
  });

  it('accepts a notification with the token', async () => {
    const { server } = await start();
    const ok = await postJenkins(server)
      .set('x-jenkins-token', TOKEN)
      .send(notification);
    expect(ok.status).toBe(202);
  });

  it('accepts the token as the Basic auth password of an endpoint URL with user info', async () => {
    const { server } = await start();
    // What the Notification plugin sends for https://jenkins:<token>@host/...
    const ok = await postJenkins(server)
      .auth('jenkins', TOKEN)
      .send(notification);
    expect(ok.status).toBe(202);
    const wrong = await postJenkins(server)
      .auth('jenkins', `${TOKEN}x`)
      .send(notification);
    expect(wrong.status).toBe(403);
  });

  it('never takes a token from the URL by default', async () => {
    const { server } = await start();
    const res = await postJenkins(
      server,
      `?token=${encodeURIComponent(TOKEN)}`,
    ).send(notification);
    expect(res.status).toBe(401);
  });

  describe('GitLab', () => {
    const postGitlab = (
      server: Parameters<typeof request>[0],
      headers: Record<string, string>,
    ) =>
      request(server)
        .post('/api/events/http/gitlab')
        .set({
          'x-gitlab-event': 'Pipeline Hook',
          'idempotency-key': 'b5e0a1c6-2d5b-4a44-9a50-6e3f2f1c0e01',
          ...headers,
        })
        .send(pipelineHook);

    it('serves the gitlab topic with the plugin validator from ciExperience.providers.gitlab.webhookSecret', async () => {
      const { server } = await start({
        gitlab: { webhookSecret: GITLAB_SECRET },
      });
      expect(
        (await postGitlab(server, { 'x-gitlab-token': GITLAB_SECRET })).status,
      ).toBe(202);
      expect(
        (await postGitlab(server, { 'x-gitlab-token': `${GITLAB_SECRET}0` }))
          .status,
      ).toBe(403);
      expect((await postGitlab(server, {})).status).toBe(401);
    });

    it('registers no route, and says why, when GitLab is on without a secret', async () => {
      const { server, warnings } = await start(
        {},
        {
          integrations: {
            gitlab: [{ host: 'gitlab.com', token: 'glpat-test-token' }],
          },
        },
      );
      expect(
        (await postGitlab(server, { 'x-gitlab-token': 'anything' })).status,
      ).toBe(404);
      expect(warnings()).toContainEqual(
        expect.stringContaining(
          'GitLab webhooks are not accepted: set ciExperience.providers.gitlab.webhookSecret',
        ),
      );
    });

    it('warns that events.modules.gitlab.webhookSecret belongs to a competing ingress', async () => {
      const { warnings } = await start(
        { gitlab: { webhookSecret: GITLAB_SECRET } },
        { events: { modules: { gitlab: { webhookSecret: GITLAB_SECRET } } } },
      );
      expect(warnings()).toContainEqual(
        expect.stringContaining('events.modules.gitlab.webhookSecret is set'),
      );
      expect(warnings().join('\n')).not.toContain(GITLAB_SECRET);
    });
  });

  it('refuses every delivery on a topic listed in events.http.topics without its secret', async () => {
    // Without a validator the events backend would take these unchecked.
    const { server, warnings } = await start(
      {},
      { events: { http: { topics: ['jenkins', 'gitlab', 'buildkite'] } } },
    );
    for (const topic of ['jenkins', 'gitlab', 'buildkite']) {
      const res = await request(server)
        .post(`/api/events/http/${topic}`)
        .set('x-jenkins-token', 'anything')
        .set('x-gitlab-token', 'anything')
        .set('x-buildkite-token', 'anything')
        .send({ any: 'thing' });
      expect([topic, res.status]).toEqual([topic, 401]);
    }
    expect(warnings()).toContainEqual(
      expect.stringContaining(
        'events.http.topics lists jenkins but ciExperience.providers.jenkins.webhookToken is not set',
      ),
    );
  });
});
