import { Config } from '@backstage/config';
import { ScmIntegrations } from '@backstage/integration';
import { RequestValidator } from '@backstage/plugin-events-node';
import {
  CiProviderWebhook,
  createCiProviderModule,
} from '@ci-experience/plugin-ci-experience-node';
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  GITHUB_ACTIONS_PROVIDER_ID,
  GithubActionsProvider,
} from './GithubActionsProvider';
import { GITHUB_WEBHOOK_TOPICS, parseGithubDelivery } from './webhook';

/**
 * GitHub's `X-Hub-Signature-256` (HMAC-SHA256 of the raw body), checked in
 * constant time against `events.modules.github.webhookSecret` and each
 * GitHub App's `webhookSecret` under `integrations.github` — the secrets
 * Backstage's GitHub events module reads. Undefined when none is set.
 *
 * @public
 */
export function githubWebhookValidatorFromConfig(
  config: Config,
): RequestValidator | undefined {
  const secrets = [
    config.getOptionalString('events.modules.github.webhookSecret'),
    ...ScmIntegrations.fromConfig(config)
      .github.list()
      .flatMap(i => (i.config.apps ?? []).map(app => app.webhookSecret)),
  ].filter((secret): secret is string => Boolean(secret));
  if (secrets.length === 0) {
    return undefined;
  }
  return async (request, context) => {
    const header = request.headers['x-hub-signature-256'];
    const signature = Array.isArray(header) ? header[0] : header;
    const given = /^sha256=([0-9a-f]{64})$/i.exec(signature ?? '')?.[1];
    if (given) {
      const givenBytes = Buffer.from(given, 'hex');
      for (const secret of secrets) {
        const expected = createHmac('sha256', secret)
          .update(request.raw.body)
          .digest();
        if (timingSafeEqual(expected, givenBytes)) {
          return;
        }
      }
    }
    context.reject({ status: 403, payload: { message: 'invalid signature' } });
  };
}

/**
 * The GitHub webhook part: `workflow_run` and `workflow_job` deliveries, from
 * the events backend's GitHub module (`github.<event>` topics) or posted to
 * `/api/ci-experience/webhooks/github`, checked with
 * `githubWebhookValidatorFromConfig`.
 *
 * @public
 */
export function githubWebhook(config: Config): CiProviderWebhook {
  return {
    subscriber: 'github',
    label: 'GitHub',
    topics: GITHUB_WEBHOOK_TOPICS,
    parse: parseGithubDelivery,
    // As Backstage's GitHub router republishes `github`.
    topicOf: headers => {
      const event = headers['x-github-event'];
      return `github.${(Array.isArray(event) ? event[0] : event) ?? ''}`;
    },
    validator: githubWebhookValidatorFromConfig(config),
  };
}

/**
 * Adds GitHub Actions to the CI Experience backend, with credentials from
 * `integrations.github`; `ciExperience.providers.githubActions.enabled: false`
 * turns it off. Webhooks arrive through the events backend's GitHub module.
 *
 * @public
 */
export const ciExperienceModuleGithub = createCiProviderModule({
  moduleId: GITHUB_ACTIONS_PROVIDER_ID,
  create: ({ config, logger, cache, toolkit }) => {
    if (
      config.getOptionalBoolean(
        'ciExperience.providers.githubActions.enabled',
      ) === false
    ) {
      return undefined;
    }
    const provider = GithubActionsProvider.fromConfig(config, {
      logger,
      cache,
      metrics: toolkit.metrics,
      traffic: toolkit.traffic,
    });
    return Object.assign(provider, { webhook: githubWebhook(config) });
  },
});

/**
 * GitHub Actions for CI Experience: what `backend.add(import(...))` adds.
 *
 * @public
 */
export default ciExperienceModuleGithub;
