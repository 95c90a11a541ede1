import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import request from 'supertest';
import eventsPlugin from '@backstage/plugin-events-backend';
import { ciExperienceEventsModule } from './eventsModule';
import { ciExperiencePlugin } from './plugin';

const notification = require('./providers/jenkins/__fixtures__/notification.json');

const TOKEN = 'jenkins-webhook-token-for-tests-0123';

describe('ciExperienceEventsModule', () => {
  async function start() {
    const logger = mockServices.logger.mock();
    logger.child.mockReturnValue(logger);
    const { server } = await startTestBackend({
      features: [
        eventsPlugin,
        ciExperienceEventsModule,
        ciExperiencePlugin,
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
            events: { useEventBus: 'never' },
            ciExperience: {
              sync: {
                schedule: {
                  frequency: { hours: 24 },
                  timeout: { minutes: 1 },
                  initialDelay: { hours: 24 },
                },
              },
              providers: {
                githubActions: { enabled: false },
                jenkins: {
                  instances: [
                    {
                      name: 'ci',
                      baseUrl: 'https://jenkins.example.com',
                      username: 'bot',
                      apiKey: 'secret-api-key',
                    },
                  ],
                  webhookToken: TOKEN,
                },
              },
            },
          },
        }),
      ],
    });
    return { server, logger };
  }

  it('refuses a Jenkins notification without the token, or with a wrong one', async () => {
    const { server } = await start();
    const missing = await request(server)
      .post('/api/events/http/jenkins')
      .send(notification);
    expect(missing.status).toBe(401);
    const wrong = await request(server)
      .post('/api/events/http/jenkins')
      .set('x-jenkins-token', 'nope')
      .send(notification);
    expect(wrong.status).toBe(403);
    expect(JSON.stringify(wrong.body)).not.toContain(TOKEN);
  });

  it('accepts a notification with the token', async () => {
    const { server } = await start();
    const ok = await request(server)
      .post('/api/events/http/jenkins')
      .set('x-jenkins-token', TOKEN)
      .send(notification);
    expect(ok.status).toBe(202);
  });
});
