import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { eventsExtensionPoint } from '@backstage/plugin-events-node/alpha';
import {
  createJenkinsRequestValidator,
  JENKINS_WEBHOOK_TOPIC,
  readJenkinsConfig,
} from './providers/jenkins';
import {
  BUILDKITE_WEBHOOK_TOPIC,
  buildkiteWebhookValidatorFromConfig,
} from './providers/buildkite';
import {
  CIRCLECI_WEBHOOK_TOPIC,
  createCircleciRequestValidator,
  readCircleciConfig,
} from './providers/circleci';

/**
 * HTTP ingress routes of the events backend for CI systems that Backstage
 * has no events module for, so that all webhooks arrive the same way, at
 * `POST /api/events/http/<topic>`, each refused without its secret:
 * Jenkins (`ciExperience.providers.jenkins.webhookToken`), Buildkite
 * (`…buildkite.webhookSigningSecret` or `webhookToken`) and CircleCI
 * (`…circleci.webhookSecret`).
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
        const buildkite = buildkiteWebhookValidatorFromConfig(config);
        if (buildkite) {
          events.addHttpPostIngress({
            topic: BUILDKITE_WEBHOOK_TOPIC,
            validator: buildkite,
          });
        }
        const circleciSecret = readCircleciConfig(config)?.webhookSecret;
        if (circleciSecret) {
          events.addHttpPostIngress({
            topic: CIRCLECI_WEBHOOK_TOPIC,
            validator: createCircleciRequestValidator(circleciSecret),
          });
        }
        const token = readJenkinsConfig(config).webhookToken;
        if (token) {
          events.addHttpPostIngress({
            topic: JENKINS_WEBHOOK_TOPIC,
            validator: createJenkinsRequestValidator(token),
          });
          logger.info(
            `Jenkins notifications accepted at /api/events/http/${JENKINS_WEBHOOK_TOPIC}`,
          );
        }
      },
    });
  },
});
