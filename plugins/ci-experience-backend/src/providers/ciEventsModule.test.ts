import {
  mockCredentials,
  startTestBackend,
} from '@backstage/backend-test-utils';
import ciEventsModule from '@ci-experience/plugin-ci-experience-backend-module-ci-events';
import request from 'supertest';
import { ciPluginFeatures } from '../__testUtils__/backend';

// The sixth provider, written against the node package only, installed as
// a module: its runs are posted to the plugin and show in the entity's tab.
const TOKEN = 'ci-events-test-token-0123456789';

const entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'payments-nightly',
    namespace: 'default',
    annotations: { 'ci-experience.io/ci-events-source': 'acme/nightly' },
  },
  spec: { owner: 'group:default/payments' },
};

const post = (id: string, status: string, number: number) => ({
  deliveryId: `delivery-${id}-${status}`,
  source: 'acme/nightly',
  run: {
    id,
    number,
    workflow: 'nightly',
    status,
    url: `https://ci.example.com/acme/nightly/${id}`,
    branch: 'main',
    createdAt: '2026-12-01T02:00:00Z',
    startedAt: '2026-12-01T02:00:05Z',
    ...(status === 'running' ? {} : { finishedAt: '2026-12-01T02:09:00Z' }),
    jobs: [
      {
        id: 'test',
        name: 'Test',
        status: status === 'running' ? 'running' : status,
        startedAt: '2026-12-01T02:00:05Z',
        steps: [{ name: 'unit tests', status: 'succeeded' }],
      },
    ],
  },
});

describe('the CI events module', () => {
  it('takes posted runs and shows them in the entity tab, with their jobs', async () => {
    const { server } = await startTestBackend({
      features: [
        ...ciPluginFeatures({
          providers: [],
          entities: [entity],
          allow: [{ provider: 'ci-events', source: 'acme/*' }],
          ciExperience: {
            providers: {
              githubActions: { enabled: false },
              ciEvents: {
                senders: [{ token: TOKEN, sources: ['acme/*'] }],
              },
            },
          },
        }),
        ciEventsModule,
      ],
    });
    const http = request(server);
    const send = (body: object, token = TOKEN) =>
      http
        .post('/api/ci-experience/webhooks/ci-events')
        .set('Authorization', `Bearer ${token}`)
        .send(body);

    // The tab's "has CI" check knows the module's annotation.
    const annotations = await http
      .get('/api/ci-experience/annotations')
      .set('Authorization', mockCredentials.user.header());
    expect(annotations.body.annotations).toContain(
      'ci-experience.io/ci-events-source',
    );

    expect((await send(post('1', 'running', 1))).status).toBe(202);
    expect((await send(post('1', 'failed', 1))).status).toBe(202);
    // A wrong token, and a source the sender may not post for.
    expect((await send(post('2', 'failed', 2), 'x'.repeat(20))).status).toBe(
      401,
    );
    expect(
      (await send({ ...post('3', 'failed', 3), source: 'other/x' })).status,
    ).toBe(403);
    expect((await send({ source: 'acme/nightly' })).status).toBe(400);

    const listing = async () => {
      for (let i = 0; i < 100; i++) {
        const res = await http
          .get(
            '/api/ci-experience/entities/component/default/payments-nightly/runs',
          )
          .set('Authorization', mockCredentials.user.header());
        if (!res.body.sources?.some((s: any) => s.syncing)) {
          return res.body;
        }
        await new Promise(r => setTimeout(r, 50));
      }
      throw new Error('the sync did not finish');
    };
    const { items } = await listing();
    expect(items.map((r: any) => [r.provider, r.runNumber, r.status])).toEqual([
      ['ci-events', 1, 'failed'],
    ]);
    const run = await http
      .get(`/api/ci-experience/runs/${items[0].id}`)
      .set('Authorization', mockCredentials.user.header());
    expect(run.status).toBe(200);
    expect(run.body.jobs.map((j: any) => [j.name, j.status])).toEqual([
      ['Test', 'failed'],
    ]);
    expect(run.body.jobs[0].steps[0].name).toBe('unit tests');
    expect(run.body.jobsPending).toBeFalsy();
  });
});
