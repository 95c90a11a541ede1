import { Config } from '@backstage/config';
import {
  RequestDetails,
  RequestRejectionDetails,
  RequestValidationContext,
  RequestValidator,
} from '@backstage/plugin-events-node';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** How far a signed delivery's timestamp may be from now; older ones are replays. */
const DEFAULT_TOLERANCE_S = 300;

/**
 * The secrets of GitLab's webhooks (either or both).
 *
 * @public
 */
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
  /** The clock (tests replace it). */
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

/**
 * The Standard Webhooks signature GitLab sends for a body.
 *
 * @public
 */
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
 * `gitlab`. A delivery that carries `webhook-signature` is checked against
 * the signing token (and refused when its `webhook-timestamp` is outside the
 * tolerance: a replay); one without a signature is checked by its
 * `X-Gitlab-Token`, in constant time. With both configured, a delivery
 * passes with either a valid signature or the right token (so hooks can
 * move to signing one at a time), and a token it carries must be right too;
 * configure only the signing token to refuse unsigned deliveries. A missing
 * header is refused with 401, a wrong one with 403; the rejection never says
 * what was expected. Returns undefined when neither is configured.
 *
 * `@backstage/plugin-events-backend-module-gitlab`'s own ingress (its
 * `eventsModuleGitlabWebhook`, on `events.modules.gitlab.webhookSecret`)
 * compares the token as a plain string and knows no signatures: install
 * only that module's router beside this one (see docs/webhooks.md).
 *
 * @public
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

  /** The refusal of a signed delivery, or undefined when its signature holds. */
  const signatureRefusal = (
    request: RequestDetails,
    signingKeyBytes: Buffer,
  ): RequestRejectionDetails | undefined => {
    const webhookId = header(request, 'webhook-id');
    const timestamp = header(request, 'webhook-timestamp');
    const signatures = header(request, 'webhook-signature');
    if (!webhookId || !timestamp || !signatures) {
      return { status: 401, payload: { message: 'missing webhook signature' } };
    }
    if (
      !/^\d{1,12}$/.test(timestamp) ||
      Math.abs(now() / 1000 - Number(timestamp)) > tolerance
    ) {
      return {
        status: 401,
        payload: { message: 'webhook timestamp outside the allowed window' },
      };
    }
    const expected = createHmac('sha256', signingKeyBytes)
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
    return matches
      ? undefined
      : { status: 403, payload: { message: 'invalid webhook signature' } };
  };

  /** The refusal of a token, or undefined when it is the right one. */
  const tokenRefusal = (
    token: string | undefined,
    expected: string,
  ): RequestRejectionDetails | undefined => {
    if (!token) {
      return { status: 401, payload: { message: 'missing X-Gitlab-Token' } };
    }
    return sameSecret(token, expected)
      ? undefined
      : { status: 403, payload: { message: 'invalid X-Gitlab-Token' } };
  };

  return async (
    request: RequestDetails,
    context: RequestValidationContext,
  ): Promise<void> => {
    const token = header(request, 'x-gitlab-token');
    const signed = header(request, 'webhook-signature') !== undefined;
    let refusal: RequestRejectionDetails | undefined;
    if (key && (signed || !secretToken)) {
      refusal =
        signatureRefusal(request, key) ??
        (secretToken && token !== undefined
          ? tokenRefusal(token, secretToken)
          : undefined);
    } else {
      refusal = tokenRefusal(token, secretToken!);
    }
    if (refusal) {
      context.reject(refusal);
    }
  };
}

/**
 * The validator from `ciExperience.providers.gitlab.webhookSecret` and
 * `ciExperience.providers.gitlab.webhookSigningToken`. The official module's
 * `events.modules.gitlab.webhookSecret` is not read: that key switches on
 * the module's own, plain-comparison ingress for the same topic, and only
 * one ingress can serve a topic.
 *
 * @public
 */
export function gitlabWebhookValidatorFromConfig(
  config: Config,
): RequestValidator | undefined {
  return createGitlabWebhookValidator({
    secretToken: config.getOptionalString(
      'ciExperience.providers.gitlab.webhookSecret',
    ),
    signingToken: config.getOptionalString(
      'ciExperience.providers.gitlab.webhookSigningToken',
    ),
  });
}
