import { LifecycleService, LoggerService } from '@backstage/backend-plugin-api';
import { EventsService } from '@backstage/plugin-events-node';
import { CiProvider } from '@ci-experience/plugin-ci-experience-node';
import { CiStore } from '../database/CiStore';
import { DeliveryIngestor } from '../providers/shared/DeliveryIngestor';
import { WebhookIngress } from '../routes/webhooks';
import { CiMetrics } from './metrics';
import { SourceClaims } from './SourceClaims';

/**
 * Every provider's webhook part, applied the same way: each delivery once,
 * group-committed, source lookups cached, a delivery that beats the first
 * sync claimed from the catalog. Deliveries arrive from the events service
 * (one subscriber id per provider: with several replicas, a delivery
 * reaches one) and straight at `POST /api/ci-experience/webhooks/<name>`
 * (`ingresses`, answered after the commit). On shutdown every delivery
 * taken is written, or its batch rolled back whole and retried one by one,
 * before the database closes.
 */
export class WebhookIntake {
  static async create(options: {
    providers: CiProvider[];
    store: CiStore;
    claims: SourceClaims;
    events: EventsService;
    logger: LoggerService;
    metrics: CiMetrics;
    lifecycle: LifecycleService;
    onSourceChanged: (sourceKey: string) => void;
  }): Promise<WebhookIntake> {
    const intake = new WebhookIntake();
    options.lifecycle.addShutdownHook(() => intake.drain());
    for (const provider of options.providers) {
      const part = provider.webhook;
      if (!part) {
        continue;
      }
      if (intake.ingresses.some(i => i.name === part.subscriber)) {
        throw new Error(
          `Two CI providers registered the webhook subscriber "${part.subscriber}"`,
        );
      }
      const ingestor = new DeliveryIngestor({
        provider: provider.id,
        label: part.label,
        parse: part.parse,
        kindOf: part.kindOf && (event => part.kindOf!(event)),
        store: options.store,
        logger: options.logger,
        metrics: options.metrics,
        onSourceChanged: options.onSourceChanged,
        resolveUnclaimed: async key => {
          await options.claims.claimFromCatalog(key);
        },
      });
      intake.ingestors.push(ingestor);
      intake.ingresses.push({
        name: part.subscriber,
        validator: part.validator,
        topicOf: (headers, body) =>
          part.topicOf?.(headers, body) ?? part.topics[0],
        handle: event => ingestor.handleDelivery(event),
      });
      await options.events.subscribe({
        id: `ci-experience-${part.subscriber}`,
        topics: part.topics,
        onEvent: async event => {
          await ingestor.handle(event);
        },
      });
    }
    return intake;
  }

  /** The routes of `POST /webhooks/<name>`, one per provider with webhooks. */
  readonly ingresses: WebhookIngress[] = [];
  private readonly ingestors: DeliveryIngestor[] = [];

  private constructor() {}

  private async drain(): Promise<void> {
    await Promise.all(this.ingestors.map(i => i.drain()));
  }
}
