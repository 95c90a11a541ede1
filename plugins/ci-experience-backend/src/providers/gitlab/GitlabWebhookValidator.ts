import { Config } from '@backstage/config';
import {
  RequestDetails,
  RequestValidationContext,
  RequestValidator,
} from '@backstage/plugin-events-node';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** How far a signed delivery's timestamp may be from now; older ones are replays. */
const DEFAULT_TOLERANCE_S = 300;

export interface GitlabWebhookValidatorOptions {
  /**
   * The webhook's "Secret token": GitLab sends it as is in `X-Gitlab-Token`.
   */
  secretToken?: string;
  /**
   * The webhook's "Signing token" (`whsec_<base64>`): GitLab then signs each
   * delivery as the Standard Webhooks specification says, in
   * `webhook-signature` (`v1,<base64 HMAC-SHA256>` of
   * `<webhook-id>.<webhook-timestamp>.<body>`).
   */
  signingToken?: string;
  /** Allowed clock difference for signed deliveries, in seconds; default 300. */
  toleranceSeconds?: number;
  now?: () => number;
}

function header(request: RequestDetails, name: string): string | undefined {
  const raw = request.headers[name];
  return Array.isArray(raw) ? raw[0] : raw;
}

/** Compares two secrets in constant time, whatever their lengths. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The key of a `whsec_<base64>` signing token. */
function signingKey(token: string): Buffer {
  const key = Buffer.from(token.replace(/^whsec_/, ''), 'base64');
  if (key.length === 0) {
    throw new Error('The GitLab webhook signing token must be whsec_<base64>');
  }
  return key;
}

/** The Standard Webhooks signature GitLab sends for a body. */
export function signGitlabWebhook(
  signingToken: string,
  webhookId: string,
  timestampSeconds: number,
  body: string | Buffer,
): string {
  const mac = createHmac('sha256', signingKey(signingToken))
    .update(`${webhookId}.${timestampSeconds}.`)
    .update(body)
    .digest('base64');
  return `v1,${mac}`;
}

/**
 * A `RequestValidator` for the events backend's HTTP ingress of topic
 * `gitlab`: with a signing token it checks `webhook-signature` and refuses
 * deliveries whose `webhook-timestamp` is outside the tolerance (replays);
 * with a secret token it checks `X-Gitlab-Token` in constant time. A missing
 * header is refused with 401, a wrong one with 403; the rejection never says
 * what was expected. Returns undefined when neither is configured.
 *
 * `@backstage/plugin-events-backend-module-gitlab` (its
 * `eventsModuleGitlabWebhook`) checks `X-Gitlab-Token` too (403 for any
 * mismatch, plain string comparison); use this one where that module is not
 * installed or where signed deliveries are wanted.
 */
export function createGitlabWebhookValidator(
  options: GitlabWebhookValidatorOptions,
): RequestValidator | undefined {
  const { secretToken, signingToken } = options;
  if (!secretToken && !signingToken) {
    return undefined;
  }
  const key = signingToken ? signingKey(signingToken) : undefined;
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_S;
  const now = options.now ?? Date.now;
  return async (
    request: RequestDetails,
    context: RequestValidationContext,
  ): Promise<void> => {
    if (key) {
      const webhookId = header(request, 'webhook-id');
      const timestamp = header(request, 'webhook-timestamp');
      const signatures = header(request, 'webhook-signature');
      if (!webhookId || !timestamp || !signatures) {
        context.reject({
          status: 401,
          payload: { message: 'missing webhook signature' },
        });
        return;
      }
      const seconds = Number(timestamp);
      if (
        !/^\d{1,12}$/.test(timestamp) ||
        Math.abs(now() / 1000 - seconds) > tolerance
      ) {
        context.reject({
          status: 401,
          payload: { message: 'webhook timestamp outside the allowed window' },
        });
        return;
      }
      const expected = createHmac('sha256', key)
        .update(`${webhookId}.${timestamp}.`)
        .update(request.raw.body)
        .digest();
      const matches = signatures.split(' ').some(candidate => {
        const [version, value] = candidate.split(',');
        if (version !== 'v1' || !value) {
          return false;
        }
        const given = Buffer.from(value, 'base64');
        return (
          given.length === expected.length && timingSafeEqual(given, expected)
        );
      });
      if (!matches) {
        context.reject({
          status: 403,
          payload: { message: 'invalid webhook signature' },
        });
        return;
      }
    }
    if (secretToken) {
      const token = header(request, 'x-gitlab-token');
      if (!token) {
        context.reject({
          status: 401,
          payload: { message: 'missing X-Gitlab-Token' },
        });
        return;
      }
      if (!sameSecret(token, secretToken)) {
        context.reject({
          status: 403,
          payload: { message: 'invalid X-Gitlab-Token' },
        });
      }
    }
  };
}

/**
 * The validator from `ciExperience.providers.gitlab.webhookSecret` (falling
 * back to `events.modules.gitlab.webhookSecret`, the official module's key)
 * and `ciExperience.providers.gitlab.webhookSigningToken`.
 */
export function gitlabWebhookValidatorFromConfig(
  config: Config,
): RequestValidator | undefined {
  return createGitlabWebhookValidator({
    secretToken:
      config.getOptionalString('ciExperience.providers.gitlab.webhookSecret') ??
      config.getOptionalString('events.modules.gitlab.webhookSecret'),
    signingToken: config.getOptionalString(
      'ciExperience.providers.gitlab.webhookSigningToken',
    ),
  });
}
