import { mockServices } from '@backstage/backend-test-utils';
import express from 'express';
import request from 'supertest';
import { DeliveryResult } from '../providers/shared/DeliveryIngestor';
import { createWebhooksRouter } from './webhooks';

/*
 * The route's answers for what the ingestor reports; the ingestor itself,
 * the validators and the store are exercised end to end in
 * events.e2e.test.ts.
 */
function app(result: DeliveryResult, withValidator = true) {
  const handled: string[] = [];
  const router = createWebhooksRouter({
    logger: mockServices.logger.mock(),
    ingresses: [
      {
        name: 'jenkins',
        validator: withValidator ? async () => {} : undefined,
        topicOf: () => 'jenkins',
        handle: async event => {
          handled.push(event.topic);
          return result;
        },
      },
    ],
  });
  return { app: express().use(router), handled };
}

const send = (a: express.Express) =>
  request(a)
    .post('/webhooks/jenkins')
    .set('Content-Type', 'application/json')
    .send('{"build":{}}');

describe('POST /webhooks/:provider', () => {
  it('answers 503 with Retry-After when the store could not take the delivery', async () => {
    const { app: a } = app({ outcome: 'rejected', reason: 'store-failure' });
    const res = await send(a);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('30');
    expect(res.body.error.message).toContain('deliver it again');
  });

  it('answers 202 for unclaimed sources without saying more', async () => {
    const { app: a, handled } = app({
      outcome: 'unclaimed',
      reason: 'unclaimed',
      message: 'jenkins:ci/x: no entity claims it',
    });
    const res = await send(a);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'unclaimed' });
    expect(handled).toEqual(['jenkins']);
  });

  it('refuses every delivery of a provider whose secret is not configured, handling none', async () => {
    const { app: a, handled } = app({ outcome: 'accepted' }, false);
    const res = await send(a);
    expect(res.status).toBe(401);
    expect(res.body.message).toContain('No webhook secret');
    expect(handled).toEqual([]);
  });
});
