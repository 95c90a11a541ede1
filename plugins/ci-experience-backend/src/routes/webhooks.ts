import { LoggerService } from '@backstage/backend-plugin-api';
import {
  EventParams,
  RequestDetails,
  RequestRejectionDetails,
  RequestValidator,
} from '@backstage/plugin-events-node';
import express from 'express';
import Router from 'express-promise-router';
import { DeliveryResult } from '../providers/shared/DeliveryIngestor';

/** The largest delivery taken, as the events backend's own ingress. */
export const MAX_WEBHOOK_BYTES = 5 * 1024 * 1024;

/** One provider's direct webhook ingress. */
export interface WebhookIngress {
  /** The path segment: `POST /webhooks/<name>`. */
  name: string;
  /** Checks the sender's signature or token; without one, every delivery is refused. */
  validator?: RequestValidator;
  /** The events topic the provider's parser reads this delivery under. */
  topicOf(headers: RequestDetails['headers'], body: unknown): string;
  handle(event: EventParams): Promise<DeliveryResult>;
}

/**
 * `POST /webhooks/{provider}`: webhook deliveries applied where they
 * arrive, without the events service. The answer comes after the delivery
 * is committed, and says what happened: 202 when it is applied, a duplicate,
 * for a source no entity claims, or an event runs are not made of; 400 when
 * it is malformed; 401/403 when its signature or token is wrong; 503 (with
 * `Retry-After`) when the database could not take it, so that a 2xx never
 * hides a lost delivery. With several replicas it needs no events bus: the
 * delivery id is recorded with its effect in one transaction.
 */
export function createWebhooksRouter(options: {
  ingresses: WebhookIngress[];
  logger: LoggerService;
}) {
  const byName = new Map(options.ingresses.map(i => [i.name, i]));
  const router = Router();
  router.post(
    '/webhooks/:provider',
    express.raw({ type: () => true, limit: MAX_WEBHOOK_BYTES }),
    async (req, res) => {
      const ingress = byName.get(req.params.provider);
      if (!ingress) {
        res.status(404).json({
          error: {
            name: 'NotFoundError',
            message: `No webhook ingress for "${
              req.params.provider
            }"; known: ${[...byName.keys()].join(', ')}`,
          },
        });
        return;
      }
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim();
      if (type !== 'application/json') {
        res.status(415).json({
          error: {
            name: 'UnsupportedMediaTypeError',
            message: `Deliveries must be application/json, got "${
              type || 'none'
            }"`,
          },
        });
        return;
      }
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        res.status(400).json({
          error: { name: 'InputError', message: 'The body is not JSON' },
        });
        return;
      }
      const headers = req.headers as RequestDetails['headers'];
      let rejection: Partial<RequestRejectionDetails> | undefined;
      if (ingress.validator) {
        await ingress.validator(
          {
            body,
            headers,
            query: req.query as RequestDetails['query'],
            raw: { body: raw, encoding: 'utf-8' },
          },
          { reject: details => (rejection = details ?? {}) },
        );
      } else {
        rejection = {
          status: 401,
          payload: {
            message: `No webhook secret is configured for ${ingress.name}`,
          },
        };
      }
      if (rejection) {
        res.status(rejection.status ?? 403).json(
          rejection.payload ?? {
            message: 'delivery refused',
          },
        );
        return;
      }
      const result = await ingress.handle({
        topic: ingress.topicOf(headers, body),
        eventPayload: body,
        metadata: headers,
      });
      if (result.reason === 'store-failure') {
        res.setHeader('retry-after', '30');
        res.status(503).json({
          error: {
            name: 'ServiceUnavailableError',
            message: 'The delivery could not be stored; deliver it again',
          },
        });
      } else if (
        result.reason === 'malformed' ||
        result.reason === 'no-delivery-id'
      ) {
        res.status(400).json({
          error: {
            name: 'InputError',
            message: result.message ?? 'malformed delivery',
          },
        });
      } else {
        res.status(202).json({
          status: result.reason === 'unsupported' ? 'ignored' : result.outcome,
        });
      }
    },
  );
  // A body over the limit: a clear 413, not the default error page.
  router.use(
    '/webhooks',
    (
      error: { type?: string; status?: number },
      _req: express.Request,
      res: express.Response,
      next: express.NextFunction,
    ) => {
      if (error?.type === 'entity.too.large') {
        res.status(413).json({
          error: {
            name: 'PayloadTooLargeError',
            message: `Deliveries are at most ${MAX_WEBHOOK_BYTES} bytes`,
          },
        });
        return;
      }
      next(error);
    },
  );
  return router;
}
