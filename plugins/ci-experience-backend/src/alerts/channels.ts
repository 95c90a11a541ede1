import { LoggerService } from '@backstage/backend-plugin-api';
import { parseEntityRef } from '@backstage/catalog-model';
import { CiAlertFiring } from '@ci-experience/plugin-ci-experience-common';
import { NotificationService } from '@backstage/plugin-notifications-node';
import { AlertStore, ClaimedDelivery } from './AlertStore';

/** A failure that retrying cannot fix. */
export class PermanentError extends Error {}

/** Sends one notice of one firing; throws to have it retried. */
export interface AlertChannel {
  send(delivery: ClaimedDelivery): Promise<void>;
}

/** The CI tab of the firing's entity, relative to the app. */
export function ciTabLink(entityRef: string): string {
  const { kind, namespace, name } = parseEntityRef(entityRef);
  return `/catalog/${encodeURIComponent(namespace)}/${encodeURIComponent(
    kind.toLocaleLowerCase('en-US'),
  )}/${encodeURIComponent(name)}/ci`;
}

export function noticeTitle(f: CiAlertFiring, notice: 'fired' | 'resolved') {
  const { name } = parseEntityRef(f.entityRef);
  return notice === 'fired'
    ? `CI alert on ${name}: ${f.ruleName}`
    : `Resolved: CI alert on ${name}: ${f.ruleName}`;
}

/**
 * Plain text for a Slack message: `&`, `<` and `>` become the entities Slack
 * documents ("Escaping text" in its formatting reference,
 * https://api.slack.com/reference/surfaces/formatting#escaping), so that a
 * value from a provider, the catalog or a rule cannot mention
 * (`<!channel>`) or make a link (`<https://evil|click>`).
 */
export function escapeSlackText(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

const SEVERITY = {
  critical: 'critical',
  warning: 'high',
  info: 'normal',
} as const;

/**
 * Backstage notifications to the entity's owners: the notifications backend
 * resolves an entity recipient to its owner, and a group to its members.
 * The scope is the firing and notice, so that a retried send updates the
 * notification rather than adding a second one. Title and description go
 * unescaped: the notifications frontend renders them as React text (and the
 * browser's Notification API as plain text), so an entity would show
 * `&lt;` literally.
 */
export class NotificationsChannel implements AlertChannel {
  constructor(private readonly notifications: NotificationService) {}

  async send(d: ClaimedDelivery): Promise<void> {
    const f = d.firing;
    await this.notifications.send({
      recipients: { type: 'entity', entityRef: f.entityRef },
      payload: {
        title: noticeTitle(f, d.notice),
        description: d.notice === 'fired' ? f.detail : `Was: ${f.detail}`,
        link: ciTabLink(f.entityRef),
        severity: d.notice === 'fired' ? SEVERITY[f.severity] : 'low',
        topic: 'CI alerts',
        scope: `ci-experience:alert:${f.id}:${d.notice}`,
      },
    });
  }
}

/**
 * A Slack incoming webhook. The URL is a secret: it is never logged, and
 * errors keep only the HTTP status or the error's kind. Every value in the
 * message is escaped ({@link escapeSlackText}); the only link is the one
 * built here, to the entity's CI tab.
 */
export class SlackChannel implements AlertChannel {
  constructor(
    private readonly options: {
      appBaseUrl: string;
      timeoutMs?: number;
      fetch?: typeof fetch;
    },
  ) {}

  async send(d: ClaimedDelivery): Promise<void> {
    if (d.slackWebhookUrlError) {
      throw new PermanentError(d.slackWebhookUrlError);
    }
    if (!d.slackWebhookUrl) {
      throw new PermanentError(
        'no Slack webhook URL (rule changed or deleted)',
      );
    }
    const f = d.firing;
    const link = `${this.options.appBaseUrl.replace(/\/$/, '')}${ciTabLink(
      f.entityRef,
    )}`;
    let icon = f.severity === 'critical' ? ':red_circle:' : ':warning:';
    if (d.notice === 'resolved') {
      icon = ':white_check_mark:';
    }
    // The link's parts are URI-encoded (ciTabLink); `|` would end it early.
    const href = escapeSlackText(link).replace(/\|/g, '%7C');
    const text = [
      `${icon} ${escapeSlackText(noticeTitle(f, d.notice))}`,
      escapeSlackText(f.detail),
      `<${href}|Open CI>`,
    ].join('\n');
    let response: Response;
    try {
      response = await (this.options.fetch ?? fetch)(d.slackWebhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text }),
        redirect: 'error',
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      const name = (error as Error)?.name;
      throw new Error(
        name === 'TimeoutError' || name === 'AbortError'
          ? 'timed out'
          : `request failed (${name ?? 'error'})`,
      );
    }
    if (!response.ok) {
      // Slack answers 404/410 for a removed hook: retrying cannot help.
      const status = response.status;
      const message = `HTTP ${status}`;
      if (status === 404 || status === 410 || status === 403) {
        throw new PermanentError(message);
      }
      throw new Error(message);
    }
  }
}

/**
 * Sends due deliveries: each claimed once (across replicas), all in
 * parallel so that a slow or failing channel never holds up another rule or
 * channel; a failure is retried with exponential backoff (base × 2^n) up to
 * `maxAttempts`, each attempt's error recorded on the firing.
 */
export class AlertDeliverer {
  private timer?: ReturnType<typeof setTimeout>;
  private running?: Promise<number>;
  private stopped = false;
  private again = false;

  constructor(
    private readonly options: {
      store: AlertStore;
      channels: Partial<Record<'notifications' | 'slack', AlertChannel>>;
      logger: LoggerService;
      backoffMs?: number;
      maxAttempts?: number;
      now?: () => Date;
    },
  ) {}

  private now() {
    return this.options.now?.() ?? new Date();
  }

  /** Sends what is due now; answers how many were sent. */
  async deliverDue(): Promise<number> {
    if (this.running) {
      // Joins the pass under way, which looks once more before it ends.
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      let sent = 0;
      do {
        this.again = false;
        sent += await this.pass();
      } while (this.again && !this.stopped);
      return sent;
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<number> {
    const { store, channels, logger } = this.options;
    const base = this.options.backoffMs ?? 5_000;
    const max = this.options.maxAttempts ?? 5;
    let sent = 0;
    for (;;) {
      const claimed = await store.claimDue(this.now(), 120_000);
      if (!claimed.length) break;
      const results = await Promise.all(
        claimed.map(async (d): Promise<boolean> => {
          const channel = channels[d.channel];
          try {
            if (!channel) {
              throw new PermanentError(`channel ${d.channel} is not set up`);
            }
            await channel.send(d);
            await store.markSent(d, this.now());
            logger.info(
              `CI alert ${d.notice} notice sent by ${d.channel} for rule "${d.firing.ruleName}" of ${d.firing.entityRef} (firing ${d.firingId}, attempt ${d.attempts})`,
            );
          } catch (error) {
            const message = (error as Error)?.message ?? String(error);
            const retry =
              !(error instanceof PermanentError) && d.attempts < max
                ? new Date(this.now().getTime() + base * 2 ** (d.attempts - 1))
                : undefined;
            await store.markFailed(d, message, retry);
            logger.warn(
              `CI alert ${d.notice} notice by ${d.channel} failed for rule "${
                d.firing.ruleName
              }" of ${d.firing.entityRef} (firing ${d.firingId}, attempt ${
                d.attempts
              }): ${message}; ${
                retry ? `retrying at ${retry.toISOString()}` : 'given up'
              }`,
            );
            return false;
          }
          return true;
        }),
      );
      sent += results.filter(Boolean).length;
      if (this.stopped) break;
    }
    this.armTimer();
    return sent;
  }

  /** Wakes up when the next retry is due. */
  private armTimer() {
    if (this.stopped) return;
    this.options.store
      .nextDue()
      .then(at => {
        if (!at || this.stopped) return;
        clearTimeout(this.timer);
        const wait = Math.max(50, at.getTime() - this.now().getTime());
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.deliverDue().catch(e =>
            this.options.logger.error('CI alert delivery failed', e),
          );
        }, Math.min(wait, 2 ** 31 - 1));
        this.timer.unref?.();
      })
      .catch(() => undefined);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  async idle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }
}
