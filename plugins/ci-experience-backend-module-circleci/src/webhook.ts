import {
  CiParsedDelivery,
  CiSourceLookup,
  CiStoredRun,
} from '@ci-experience/plugin-ci-experience-node';
import {
  EventParams,
  RequestDetails,
  RequestValidationContext,
  RequestValidator,
} from '@backstage/plugin-events-node';
import { parseCircleciProjectSlug } from '@ci-experience/plugin-ci-experience-common';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { runIdOf, instantText } from '@ci-experience/plugin-ci-experience-node';
import { CIRCLECI_PROVIDER_ID } from './CircleciApi';
import { circleciSourceKey } from './CircleciProvider';
import {
  circleciId,
  CircleciLinks,
  text,
  toJob,
  toProviderRun,
} from './mapping';

/**
 * The events topic the HTTP ingress publishes CircleCI deliveries to.
 *
 * @public
 */
export const CIRCLECI_WEBHOOK_TOPIC = 'circleci';
/**
 * The header CircleCI signs deliveries in.
 *
 * @public
 */
export const CIRCLECI_SIGNATURE_HEADER = 'circleci-signature';

const date = instantText();

/**
 * One outbound webhook delivery (`workflow-completed` or `job-completed`),
 * the fields the model needs, as CircleCI's webhooks reference lists them.
 * The payloads are open maps: other fields are ignored.
 *
 * @public
 */
export const circleciWebhookSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
  type: z.enum(['workflow-completed', 'job-completed']),
  happened_at: date,
  project: z.object({ slug: z.string().max(300) }),
  workflow: z.object({
    id: circleciId,
    name: z.string(),
    created_at: date,
    stopped_at: date.nullish(),
    status: z.string().nullish(),
  }),
  pipeline: z.object({
    id: circleciId,
    number: z.number().int().min(0).max(2_147_483_647),
    created_at: date,
    trigger: z.object({ type: z.string().nullish() }).nullish(),
    vcs: z
      .object({
        branch: z.string().nullish(),
        tag: z.string().nullish(),
        revision: z.string().nullish(),
        commit: z
          .object({
            subject: z.string().nullish(),
            body: z.string().nullish(),
          })
          .nullish(),
      })
      .nullish(),
  }),
  job: z
    .object({
      id: circleciId,
      name: z.string(),
      number: z.number().int().min(0).max(2_147_483_647).nullish(),
      status: z.string(),
      started_at: date.nullish(),
      stopped_at: date.nullish(),
    })
    .nullish(),
});

/**
 * Turns one outbound webhook delivery into the write it makes:
 * `workflow-completed` writes the run (the workflow, attempt 1, as polling
 * does), `job-completed` writes one job of it. The delivery id is the
 * payload's `id` (the same on CircleCI's retries), prefixed `circleci:`, so
 * the store applies each once. The store keeps writes monotonic, so a job
 * arriving before its workflow, or a late delivery, never moves a run back.
 * Webhooks carry no actor login; polling fills it in.
 *
 * @public
 */
export async function parseCircleciDelivery(
  event: EventParams,
  lookup: CiSourceLookup,
  options: { host?: string; appBaseUrl?: string } = {},
): Promise<CiParsedDelivery> {
  const parsed = circleciWebhookSchema.safeParse(event.eventPayload);
  if (!parsed.success) {
    const rawId = (event.eventPayload as { id?: unknown } | undefined)?.id;
    return {
      ok: false,
      reason: 'malformed',
      message: `malformed CircleCI delivery: ${parsed.error.issues
        .slice(0, 5)
        .map(i => `${i.path.join('.') || '(payload)'}: ${i.message}`)
        .join('; ')}`,
      ...(typeof rawId === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(rawId)
        ? { deliveryId: `circleci:${rawId}` }
        : {}),
    };
  }
  const payload = parsed.data;
  const deliveryId = `circleci:${payload.id}`;
  const ref = parseCircleciProjectSlug(payload.project.slug);
  if (!ref) {
    return {
      ok: false,
      reason: 'malformed',
      message: `project.slug ${payload.project.slug.slice(
        0,
        100,
      )} is not a CircleCI project slug`,
      deliveryId,
    };
  }
  if (payload.type === 'job-completed' && !payload.job) {
    return {
      ok: false,
      reason: 'malformed',
      message: 'job-completed delivery without a job',
      deliveryId,
    };
  }
  const host = (options.host ?? 'circleci.com').toLowerCase();
  const sourceKey = circleciSourceKey(host, ref.slug);
  const source = await lookup(sourceKey);
  if (!source) {
    return {
      ok: false,
      reason: 'unclaimed',
      deliveryId,
      sourceKey,
      message: `Ignored CircleCI delivery ${deliveryId} for ${ref.slug} on ${host}: no entity claims it`,
    };
  }
  const links: CircleciLinks = {
    appBaseUrl: options.appBaseUrl ?? 'https://app.circleci.com',
    slug: ref.slug,
  };
  const runId = runIdOf(sourceKey, payload.workflow.id, 1);

  if (payload.type === 'job-completed') {
    const job = payload.job!;
    return {
      ok: true,
      deliveryId,
      sourceKey,
      source: source.source,
      changedAt: payload.happened_at,
      write: {
        deliveryId,
        event: payload.type,
        jobs: [
          {
            runId,
            job: toJob(
              {
                id: job.id,
                name: job.name,
                status: job.status,
                job_number: job.number,
                started_at: job.started_at,
                stopped_at: job.stopped_at,
              },
              links,
              payload.pipeline.number,
              payload.workflow.id,
            ),
          },
        ],
      },
    };
  }

  const { providerRunId, updatedAt, ...model } = toProviderRun(
    {
      id: payload.pipeline.id,
      number: payload.pipeline.number,
      created_at: payload.pipeline.created_at,
      trigger: payload.pipeline.trigger
        ? { type: payload.pipeline.trigger.type }
        : undefined,
      vcs: payload.pipeline.vcs,
    },
    {
      id: payload.workflow.id,
      name: payload.workflow.name,
      status: text(payload.workflow.status, 64),
      pipeline_id: payload.pipeline.id,
      created_at: payload.workflow.created_at,
      stopped_at: payload.workflow.stopped_at ?? payload.happened_at,
    },
    links,
    Date.parse(payload.happened_at),
  );
  const run: CiStoredRun = {
    ...model,
    id: runId,
    provider: CIRCLECI_PROVIDER_ID,
    source: source.source,
    sourceKey,
    providerRunId,
    providerUpdatedAt: updatedAt,
  };
  return {
    ok: true,
    deliveryId,
    sourceKey,
    source: source.source,
    changedAt: updatedAt,
    write: { deliveryId, event: payload.type, runs: [run] },
  };
}

/**
 * CircleCI's signature of a body: "v1=" and the hex HMAC-SHA256 of the body
 * with the webhook's secret.
 *
 * @public
 */
export function signCircleciBody(secret: string, body: string | Buffer) {
  return `v1=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * The HTTP ingress validator of the `circleci` topic: checks the
 * `circleci-signature` header (comma-separated `<version>=<value>` pairs; the
 * `v1` ones are hex HMAC-SHA256 of the raw body with
 * `ciExperience.providers.circleci.webhookSecret`), in constant time.
 * Missing: 401; wrong: 403. CircleCI signs no timestamp, so a captured
 * delivery can be replayed within the signature; a replay has the delivery
 * id of the original and is a duplicate to the store.
 * Backstage has no CircleCI events module to do this.
 *
 * @public
 */
export function createCircleciRequestValidator(
  webhookSecret: string,
): RequestValidator {
  if (!webhookSecret) {
    throw new Error('ciExperience.providers.circleci.webhookSecret is empty');
  }
  return async (
    request: RequestDetails,
    context: RequestValidationContext,
  ): Promise<void> => {
    const raw = request.headers[CIRCLECI_SIGNATURE_HEADER];
    const header = Array.isArray(raw) ? raw.join(',') : raw;
    if (!header) {
      context.reject({
        status: 401,
        payload: { message: 'Missing circleci-signature' },
      });
      return;
    }
    const expected = createHmac('sha256', webhookSecret)
      .update(request.raw.body)
      .digest();
    const matches = header.split(',').some(part => {
      const [version, value] = part.trim().split('=', 2);
      if (version !== 'v1' || !value || !/^[0-9a-fA-F]{64}$/.test(value)) {
        return false;
      }
      return timingSafeEqual(Buffer.from(value, 'hex'), expected);
    });
    if (!matches) {
      context.reject({
        status: 403,
        payload: { message: 'Invalid circleci-signature' },
      });
    }
  };
}
