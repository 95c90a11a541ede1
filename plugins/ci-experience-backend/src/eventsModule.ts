import {
  coreServices,
  createBackendModule,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import { ScmIntegrations } from '@backstage/integration';
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  RequestValidator,
  RequestValidationContext,
} from '@backstage/plugin-events-node';
import { eventsExtensionPoint } from '@backstage/plugin-events-node/alpha';
import { readJenkinsConfig } from './providers/jenkins/config';
import {
  createJenkinsRequestValidator,
  JENKINS_WEBHOOK_TOPIC,
} from './providers/jenkins/webhook';
import {
  BUILDKITE_WEBHOOK_TOPIC,
  buildkiteWebhookValidatorFromConfig,
} from './providers/buildkite/webhook';
import {
  CIRCLECI_WEBHOOK_TOPIC,
  createCircleciRequestValidator,
} from './providers/circleci/webhook';
import { readCircleciConfig } from './providers/circleci/config';
import { gitlabWebhookValidatorFromConfig } from './providers/gitlab/GitlabWebhookValidator';
import { isGitlabEnabled } from './providers/gitlab/GitlabCiProvider';

/** The topic of GitLab's ingress, the one Backstage's GitLab router reads. */
export const GITLAB_WEBHOOK_INGRESS_TOPIC = 'gitlab';

/** Where each topic's secret is configured, for log lines. */
const SECRET_KEYS: Record<string, string> = {
  [GITLAB_WEBHOOK_INGRESS_TOPIC]:
    'ciExperience.providers.gitlab.webhookSecret or webhookSigningToken',
  [JENKINS_WEBHOOK_TOPIC]: 'ciExperience.providers.jenkins.webhookToken',
  [BUILDKITE_WEBHOOK_TOPIC]:
    'ciExperience.providers.buildkite.webhookSigningSecret or webhookToken',
  [CIRCLECI_WEBHOOK_TOPIC]: 'ciExperience.providers.circleci.webhookSecret',
};

/** Refuses every delivery: the topic is listed for ingress but has no secret. */
const refuseAll: RequestValidator = async (
  _request,
  context: RequestValidationContext,
) => {
  context.reject({
    status: 401,
    payload: { message: 'No webhook secret is configured for this topic' },
  });
};

function gitlabValidator(
  config: Config,
  logger: LoggerService,
): RequestValidator | undefined {
  if (config.has('events.modules.gitlab.webhookSecret')) {
    logger.warn(
      'events.modules.gitlab.webhookSecret is set: it switches on the plain-comparison ingress of @backstage/plugin-events-backend-module-gitlab for /api/events/http/gitlab, where only one ingress can serve. Set ciExperience.providers.gitlab.webhookSecret instead, remove that key, and install only that module’s router (docs/webhooks.md)',
    );
  }
  const validator = gitlabWebhookValidatorFromConfig(config);
  if (!validator && isGitlabEnabled(config)) {
    logger.warn(
      `GitLab webhooks are not accepted: set ${SECRET_KEYS.gitlab} to receive them at /api/events/http/gitlab`,
    );
  }
  return validator;
}

/**
 * GitHub's `X-Hub-Signature-256` (HMAC-SHA256 of the raw body), checked in
 * constant time against `events.modules.github.webhookSecret` and each
 * GitHub App's `webhookSecret` under `integrations.github` — the secrets
 * Backstage's GitHub events module reads. Undefined when none is set.
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
 * The request validators of the webhook topics this plugin reads (GitHub's
 * comes from Backstage's GitHub module, or {@link githubWebhookValidatorFromConfig}),
 * by topic; a topic whose secret is not configured has none.
 */
export function webhookValidatorsFromConfig(
  config: Config,
  logger: LoggerService,
): Record<string, RequestValidator | undefined> {
  const jenkins = readJenkinsConfig(config);
  const circleciSecret = readCircleciConfig(config)?.webhookSecret;
  return {
    [GITLAB_WEBHOOK_INGRESS_TOPIC]: gitlabValidator(config, logger),
    [JENKINS_WEBHOOK_TOPIC]: jenkins.webhookToken
      ? createJenkinsRequestValidator(jenkins.webhookToken, {
          allowTokenInQuery: config.getOptionalBoolean(
            'ciExperience.providers.jenkins.allowTokenInQuery',
          ),
          onQueryTokenRefused: () =>
            logger.warn(
              'Refused a Jenkins delivery with its token in the URL (?token=): URLs land in access logs. Put the token in the X-Jenkins-Token header, or as the password of the endpoint URL (https://jenkins:<token>@…), or set ciExperience.providers.jenkins.allowTokenInQuery (docs/providers/jenkins.md)',
            ),
        })
      : undefined,
    [BUILDKITE_WEBHOOK_TOPIC]: buildkiteWebhookValidatorFromConfig(config),
    [CIRCLECI_WEBHOOK_TOPIC]: circleciSecret
      ? createCircleciRequestValidator(circleciSecret)
      : undefined,
  };
}

/**
 * HTTP ingress routes of the events backend for the CI systems whose
 * deliveries CI Experience reads, so that all webhooks arrive the same way,
 * at `POST /api/events/http/<topic>`, each refused without its secret:
 * GitLab (`ciExperience.providers.gitlab.webhookSecret` and/or
 * `webhookSigningToken`: constant-time token, Standard Webhooks signatures),
 * Jenkins (`…jenkins.webhookToken`), Buildkite (`…buildkite.webhookSigningSecret`
 * or `webhookToken`) and CircleCI (`…circleci.webhookSecret`). A topic
 * without its secret gets no route, and one listed in `events.http.topics`
 * (which would otherwise take any delivery unchecked) gets one that refuses
 * everything: unsigned deliveries are never accepted.
 *
 * GitLab deliveries reach the plugin through a router that republishes
 * `gitlab` as `gitlab.<object_kind>`: the router of
 * `@backstage/plugin-events-backend-module-gitlab`, without that module's
 * own ingress (see docs/webhooks.md).
 *
 * @public
 */
export const ciExperienceEventsModule = createBackendModule({
  pluginId: 'events',
  moduleId: 'ci-experience-ingress',
  register(env) {
    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        events: eventsExtensionPoint,
        logger: coreServices.logger,
      },
      async init({ config, events, logger }) {
        const validators = webhookValidatorsFromConfig(config, logger);
        // The events backend takes any delivery, unchecked, on a topic listed
        // there; Backstage's GitLab module guards `gitlab` itself when its key is set.
        const listed = new Set(
          config.getOptionalStringArray('events.http.topics') ?? [],
        );
        for (const [topic, validator] of Object.entries(validators)) {
          if (validator) {
            events.addHttpPostIngress({ topic, validator });
            logger.info(`Webhooks accepted at /api/events/http/${topic}`);
          } else if (
            listed.has(topic) &&
            !(
              topic === GITLAB_WEBHOOK_INGRESS_TOPIC &&
              config.has('events.modules.gitlab.webhookSecret')
            )
          ) {
            events.addHttpPostIngress({ topic, validator: refuseAll });
            logger.warn(
              `events.http.topics lists ${topic} but ${SECRET_KEYS[topic]} is not set: every delivery to /api/events/http/${topic} is refused`,
            );
          }
        }
      },
    });
  },
});
