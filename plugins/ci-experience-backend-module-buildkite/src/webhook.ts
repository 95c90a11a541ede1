import {
  CiParsedDelivery,
  CiSourceLookup,
  CiStoredRun,
} from '@ci-experience/plugin-ci-experience-node';
import { Config } from '@backstage/config';
import {
  EventParams,
  RequestDetails,
  RequestValidationContext,
  RequestValidator,
} from '@backstage/plugin-events-node';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { runIdOf } from '@ci-experience/plugin-ci-experience-node';
import { BUILDKITE_PROVIDER_ID } from './BuildkiteApi';
import { buildkiteSourceKey } from './BuildkiteProvider';
import { readBuildkiteConfig } from './config';
import {
  buildkiteBuildSchema,
  buildkiteJobSchema,
  toJob,
  toProviderRun,
} from './mapping';

/**
 * The events backend's HTTP ingress topic: `/api/events/http/buildkite`.
 *
 * @public
 */
export const BUILDKITE_WEBHOOK_TOPIC = 'buildkite';

/** How far a signed delivery's timestamp may be from now; older ones are replays. */
const DEFAULT_TOLERANCE_S = 300;

const SLUG = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

/** The pipeline of a delivery: its API URL names organization and slug. */
const pipelineSchema = z.object({
  url: z.string().max(2048),
  slug: z.string().nullish(),
  name: z.string().nullish(),
});

const deliverySchema = z.object({
  event: z.string().max(64),
  build: z.record(z.unknown()),
  job: z.record(z.unknown()).nullish(),
  pipeline: pipelineSchema,
  sender: z.object({ name: z.string().nullish() }).passthrough().nullish(),
});

function header(
  headers: Record<string, unknown> | undefined,
  name: string,
): string | undefined {
  const raw = headers?.[name];
  const value: unknown = Array.isArray(raw) ? raw[0] : raw;
  return typeof value === 'string' ? value : undefined;
}

function issues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map(i => `${i.path.join('.') || '(payload)'}: ${i.message}`)
    .join('; ');
}

/**
 * The organization and pipeline of a delivery, from the pipeline's API URL
 * (`https://api.buildkite.com/v2/organizations/<org>/pipelines/<slug>`), and
 * the API host the source key names.
 */
function pipelineOf(
  url: string,
): { host: string; org: string; slug: string } | undefined {
  try {
    const parsed = new URL(url);
    const match = parsed.pathname.match(
      /\/organizations\/([^/]+)\/pipelines\/([^/]+)\/?$/,
    );
    if (!/^https?:$/.test(parsed.protocol) || !match) {
      return undefined;
    }
    const [org, slug] = [
      decodeURIComponent(match[1]),
      decodeURIComponent(match[2]),
    ];
    if (!SLUG.test(org) || !SLUG.test(slug)) {
      return undefined;
    }
    return { host: parsed.host.toLowerCase(), org, slug };
  } catch {
    return undefined;
  }
}

/**
 * The delivery id, derived from what the delivery says: build id, event, job
 * id, state and the newest time it reports. Buildkite documents no delivery
 * id header (its webhook headers are `X-Buildkite-Event` and
 * `X-Buildkite-Token` or `X-Buildkite-Signature`), and no header is read
 * here: a proxy's `X-Request-Id` is new on every retry (a retried delivery
 * would be applied twice) or, behind some proxies, one value for many
 * (distinct deliveries would collapse into one); the undocumented
 * `X-Buildkite-Request` names an HTTP request, not a delivery. The same
 * delivery retried gets the same id; a build that runs again after being
 * unblocked reports a newer time, so it is not taken for a duplicate.
 *
 * @public
 */
export function buildkiteDeliveryIdOf(parts: {
  buildId: string;
  kind: string;
  jobId?: string;
  state?: string;
  at?: string;
}): string {
  const digest = createHash('sha256')
    .update(
      [parts.buildId, parts.kind, parts.jobId ?? '-', parts.state, parts.at]
        .map(p => p ?? '')
        .join('\n'),
    )
    .digest('base64url')
    .slice(0, 32);
  return `buildkite:${digest}`;
}

/**
 * Turns one Buildkite pipeline webhook delivery (topic
 * `BUILDKITE_WEBHOOK_TOPIC`, request headers as metadata, body
 * `{ event, build, job?, pipeline, sender }`) into the write that applies
 * it, or says why it is refused. `build.*` events write the build as a run
 * (with its embedded jobs when the body has them); `job.*` events write the
 * build and that one job. Pure but for `lookup`: it never writes. The
 * store's writes are monotonic, so an older state arriving late never
 * overrides a newer one.
 *
 * @public
 */
export async function parseBuildkiteDelivery(
  event: EventParams,
  lookup: CiSourceLookup,
): Promise<CiParsedDelivery> {
  const parsed = deliverySchema.safeParse(event.eventPayload);
  const kind =
    header(event.metadata, 'x-buildkite-event') ??
    (parsed.success ? parsed.data.event : 'unknown');
  if (!/^(build|job)\.[a-z_]{1,40}$/.test(kind)) {
    return {
      ok: false,
      reason: 'unsupported',
      message: `Buildkite ${kind.slice(0, 40)} deliveries are not read`,
    };
  }
  if (!parsed.success) {
    return {
      ok: false,
      reason: 'malformed',
      message: `Malformed Buildkite ${kind.slice(0, 40)} delivery: ${issues(
        parsed.error,
      )}`,
    };
  }
  const build = buildkiteBuildSchema.safeParse(parsed.data.build);
  const job =
    kind.startsWith('job.') && parsed.data.job
      ? buildkiteJobSchema.safeParse(parsed.data.job)
      : undefined;
  const pipeline = pipelineOf(parsed.data.pipeline.url);
  if (
    !build.success ||
    !pipeline ||
    (kind.startsWith('job.') && !job?.success)
  ) {
    let why = 'pipeline.url: not a Buildkite pipeline API URL';
    if (!build.success) {
      why = issues(build.error);
    } else if (job && !job.success) {
      why = issues(job.error);
    } else if (kind.startsWith('job.') && !job) {
      why = 'job: missing';
    }
    return {
      ok: false,
      reason: 'malformed',
      message: `Malformed Buildkite ${kind.slice(0, 40)} delivery: ${why}`,
    };
  }
  const source = `${pipeline.org}/${pipeline.slug}`;
  const sourceKey = buildkiteSourceKey(pipeline.host, source);
  const jobData = job?.success ? job.data : undefined;
  const buildJobs = (build.data.jobs ?? []).flatMap(raw => {
    const one = buildkiteJobSchema.safeParse(raw);
    return one.success ? [one.data] : [];
  });
  const run = toProviderRun(build.data, {
    workflow: parsed.data.pipeline.name || pipeline.slug,
    jobs: jobData ? [...buildJobs, jobData] : buildJobs,
  });
  const deliveryId = buildkiteDeliveryIdOf({
    buildId: build.data.id,
    kind,
    jobId: jobData?.id,
    state: jobData ? `${jobData.state}` : `${build.data.state}`,
    at: run.updatedAt,
  });
  const claimed = await lookup(sourceKey);
  if (!claimed) {
    return {
      ok: false,
      reason: 'unclaimed',
      deliveryId,
      message: `Buildkite ${kind} delivery ${deliveryId} for ${source} on ${pipeline.host}: no entity claims it`,
    };
  }
  const runId = runIdOf(sourceKey, run.providerRunId, 1);
  const { providerRunId, updatedAt, ...model } = run;
  // A job delivery carries its build too: writing both keeps a job that
  // arrives before its build's first delivery attached to a run.
  const stored: CiStoredRun = {
    ...model,
    id: runId,
    provider: BUILDKITE_PROVIDER_ID,
    source: claimed.source,
    sourceKey,
    providerRunId,
    providerUpdatedAt: updatedAt,
  };
  const jobs = (jobData ? [jobData] : buildJobs)
    .filter(j => j.type !== 'waiter')
    .map(j => ({ runId, job: toJob(j) }));
  return {
    ok: true,
    deliveryId,
    sourceKey,
    source: claimed.source,
    changedAt: updatedAt,
    write: {
      deliveryId,
      event: kind,
      runs: [stored],
      ...(jobs.length > 0 ? { jobs } : {}),
    },
  };
}

/**
 * Options of `createBuildkiteWebhookValidator`.
 *
 * @public
 */
export interface BuildkiteWebhookValidatorOptions {
  /** The webhook's token when Buildkite sends it as is in `X-Buildkite-Token`. */
  token?: string;
  /** The webhook's token when Buildkite signs with it (`X-Buildkite-Signature`). */
  signingSecret?: string;
  /** Allowed clock difference for signed deliveries, in seconds; default 300. */
  toleranceSeconds?: number;
  /** The clock (tests replace it). */
  now?: () => number;
}

/** Compares two secrets in constant time, whatever their lengths. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The `X-Buildkite-Signature` Buildkite sends for a body.
 *
 * @public
 */
export function signBuildkiteWebhook(
  secret: string,
  timestampSeconds: number,
  body: string | Buffer,
): string {
  const mac = createHmac('sha256', secret)
    .update(`${timestampSeconds}.`)
    .update(body)
    .digest('hex');
  return `timestamp=${timestampSeconds},signature=${mac}`;
}

/**
 * A `RequestValidator` for the events backend's HTTP ingress of topic
 * `buildkite`. With a signing secret it checks `X-Buildkite-Signature`
 * (`timestamp=<t>,signature=<hex HMAC-SHA256 of "<t>.<body>">`) and refuses
 * timestamps outside the tolerance (replays); with a token it checks
 * `X-Buildkite-Token` in constant time. When both are configured a delivery
 * passes with either a valid signature or the token. A missing header is
 * refused with 401, a wrong one with 403; the rejection never says what was
 * expected. Returns undefined when neither is configured. Backstage has no
 * Buildkite events module to do this.
 *
 * @public
 */
export function createBuildkiteWebhookValidator(
  options: BuildkiteWebhookValidatorOptions,
): RequestValidator | undefined {
  const { token, signingSecret } = options;
  if (!token && !signingSecret) {
    return undefined;
  }
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_S;
  const now = options.now ?? Date.now;
  return async (
    request: RequestDetails,
    context: RequestValidationContext,
  ): Promise<void> => {
    const headers = request.headers as Record<string, unknown>;
    const signature = header(headers, 'x-buildkite-signature');
    if (signingSecret && (signature || !token)) {
      if (!signature) {
        context.reject({
          status: 401,
          payload: { message: 'missing X-Buildkite-Signature' },
        });
        return;
      }
      const fields = new Map(
        signature.split(',').map(part => {
          const at = part.indexOf('=');
          return [part.slice(0, at).trim(), part.slice(at + 1).trim()];
        }),
      );
      const timestamp = fields.get('timestamp') ?? '';
      const given = fields.get('signature') ?? '';
      if (!/^\d{1,12}$/.test(timestamp) || !/^[0-9a-f]{64}$/i.test(given)) {
        context.reject({
          status: 403,
          payload: { message: 'invalid X-Buildkite-Signature' },
        });
        return;
      }
      if (Math.abs(now() / 1000 - Number(timestamp)) > tolerance) {
        context.reject({
          status: 401,
          payload: { message: 'webhook timestamp outside the allowed window' },
        });
        return;
      }
      const expected = createHmac('sha256', signingSecret)
        .update(`${timestamp}.`)
        .update(request.raw.body)
        .digest();
      const givenBytes = Buffer.from(given, 'hex');
      if (
        givenBytes.length !== expected.length ||
        !timingSafeEqual(givenBytes, expected)
      ) {
        context.reject({
          status: 403,
          payload: { message: 'invalid X-Buildkite-Signature' },
        });
      }
      return;
    }
    const given = header(headers, 'x-buildkite-token');
    if (!given) {
      context.reject({
        status: 401,
        payload: { message: 'missing X-Buildkite-Token' },
      });
      return;
    }
    if (!sameSecret(given, token!)) {
      context.reject({
        status: 403,
        payload: { message: 'invalid X-Buildkite-Token' },
      });
    }
  };
}

/**
 * The validator from `ciExperience.providers.buildkite.webhookToken` and
 * `webhookSigningSecret`; undefined when neither (or no `apiToken`) is set.
 *
 * @public
 */
export function buildkiteWebhookValidatorFromConfig(
  config: Config,
): RequestValidator | undefined {
  const read = readBuildkiteConfig(config);
  return read
    ? createBuildkiteWebhookValidator({
        token: read.webhookToken,
        signingSecret: read.webhookSigningSecret,
      })
    : undefined;
}
