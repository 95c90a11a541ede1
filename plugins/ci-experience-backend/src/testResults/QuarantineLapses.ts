import { LoggerService } from '@backstage/backend-plugin-api';
import { NotificationService } from '@backstage/plugin-notifications-node';
import { ciTabLink } from '../alerts/channels';
import { QuarantineStore } from './QuarantineStore';

/** Lapsed quarantines noticed per pass. */
const BATCH = 100;

/**
 * Tells an entity's owners when a quarantine of one of its tests lapses
 * (docs/tests.md). Expired quarantines stop being served at once; this
 * notices each once (the store marks it lapsed in the same step, so that
 * two replicas never both tell) and notifies the entity's owners.
 */
export class QuarantineLapses {
  constructor(
    private readonly options: {
      store: Pick<QuarantineStore, 'lapse'>;
      notifications: Pick<NotificationService, 'send'>;
      logger: LoggerService;
      now?: () => Date;
    },
  ) {}

  /** Notices the lapsed quarantines; answers how many. */
  async run(): Promise<number> {
    const { store, notifications, logger } = this.options;
    const now = (this.options.now ?? (() => new Date()))().toISOString();
    let total = 0;
    for (;;) {
      const lapsed = await store.lapse(now, BATCH);
      for (const q of lapsed) {
        const test = q.classname ? `${q.classname}.${q.name}` : q.name;
        try {
          await notifications.send({
            recipients: { type: 'entity', entityRef: q.entityRef },
            payload: {
              title: `Quarantine lapsed: ${test}`,
              description: `The quarantine of ${test} expired on ${q.expiresAt}; CI runs it and counts its failures again. It was: ${q.reason}`,
              link: ciTabLink(q.entityRef),
              severity: 'normal',
              topic: 'CI tests',
              scope: `ci-experience:quarantine:${q.entityRef}:${q.testId}:${q.expiresAt}`,
            },
          });
        } catch (error) {
          logger.warn(
            `Could not tell the owners of ${q.entityRef} that the quarantine of ${test} lapsed: ${error}`,
          );
        }
      }
      total += lapsed.length;
      if (lapsed.length < BATCH) return total;
    }
  }
}
