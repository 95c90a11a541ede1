import {
  BackendFeature,
  coreServices,
  createBackendModule,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import {
  RequestValidationContext,
  RequestValidator,
} from '@backstage/plugin-events-node';
import { eventsExtensionPoint } from '@backstage/plugin-events-node/alpha';

/**
 * What {@link createCiWebhookIngressModule} registers.
 *
 * @public
 */
export interface CiWebhookIngressOptions {
  /** The module's id under the events plugin, e.g. `ci-experience-jenkins`. */
  moduleId: string;
  /** The topic: deliveries arrive at `POST /api/events/http/<topic>`. */
  topic: string;
  /** Where the topic's secret is configured, for log lines. */
  secretKey: string;
  /** The topic's validator; undefined when its secret is not configured. */
  validatorFromConfig(
    config: Config,
    logger: LoggerService,
  ): RequestValidator | undefined;
  /**
   * Whether a topic listed in `events.http.topics` without a secret gets a
   * route that refuses every delivery. Default true; false where another
   * module guards it.
   */
  guardListedTopic?(config: Config): boolean;
}

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

/**
 * A module of the events backend serving one provider's webhooks at
 * `POST /api/events/http/<topic>`, each delivery checked by the provider's
 * validator. Without the topic's secret there is no route, and a topic
 * listed in `events.http.topics` (which would otherwise take any delivery
 * unchecked) gets one that refuses everything: unsigned deliveries are
 * never accepted. The CI Experience plugin reads the topic from the events
 * service. Without the events backend the module does nothing; deliveries
 * can go straight to `POST /api/ci-experience/webhooks/<subscriber>`.
 *
 * @public
 */
export function createCiWebhookIngressModule(
  options: CiWebhookIngressOptions,
): BackendFeature {
  return createBackendModule({
    pluginId: 'events',
    moduleId: options.moduleId,
    register(env) {
      env.registerInit({
        deps: {
          config: coreServices.rootConfig,
          events: eventsExtensionPoint,
          logger: coreServices.logger,
        },
        async init({ config, events, logger }) {
          const { topic } = options;
          const validator = options.validatorFromConfig(config, logger);
          const listed =
            config.getOptionalStringArray('events.http.topics') ?? [];
          if (validator) {
            events.addHttpPostIngress({ topic, validator });
            logger.info(`Webhooks accepted at /api/events/http/${topic}`);
          } else if (
            listed.includes(topic) &&
            (options.guardListedTopic?.(config) ?? true)
          ) {
            events.addHttpPostIngress({ topic, validator: refuseAll });
            logger.warn(
              `events.http.topics lists ${topic} but ${options.secretKey} is not set: every delivery to /api/events/http/${topic} is refused`,
            );
          }
        },
      });
    },
  });
}
