import { LoggerService } from '@backstage/backend-plugin-api';
import { AlertSecrets, ENCRYPTION_KEYS_CONFIG } from './AlertSecrets';
import { AlertStore, SecretsReport } from './AlertStore';

const urls = (n: number) => `${n} Slack webhook URL${n === 1 ? '' : 's'}`;

/**
 * The pass that keeps stored Slack URLs under the current key (at start-up
 * and on the alerts schedule): moves values under older keys and plain text
 * to it, and says what it moved and what is left. What is left is logged
 * again only when it changes, so that a schedule of one minute does not
 * repeat the same warning all day.
 */
export class SecretsRotation {
  private lastLogged?: string;

  constructor(
    private readonly options: {
      store: AlertStore;
      secrets: AlertSecrets;
      logger: LoggerService;
    },
  ) {}

  async run(): Promise<SecretsReport> {
    const report = await this.options.store.reencryptSlackUrls();
    const { logger } = this.options;
    const left = Object.entries(report.byOtherKey);
    const remaining =
      report.plain +
      report.unreadable +
      left.reduce((sum, [, n]) => sum + n, 0);
    const signature = JSON.stringify([
      report.currentKeyId,
      report.plain,
      report.byOtherKey,
      report.unreadable,
    ]);
    if (!report.moved && signature === this.lastLogged) return report;
    this.lastLogged = signature;

    const current = report.currentKeyId;
    if (current && (report.moved || remaining)) {
      const older = this.options.secrets.keyIds.filter(id => id !== current);
      logger.info(
        `CI alerts: re-encrypted ${urls(
          report.moved,
        )} under key "${current}"; ${
          remaining
            ? `${remaining} left under other keys or in plain text`
            : `none left under older keys or in plain text${
                older.length
                  ? `: ${older
                      .map(id => `"${id}"`)
                      .join(
                        ', ',
                      )} can now be removed from ${ENCRYPTION_KEYS_CONFIG}`
                  : ''
              }`
        }`,
      );
    }
    if (!current && report.plain) {
      logger.warn(
        `CI alerts: ${urls(
          report.plain,
        )} stored in plain text; set ${ENCRYPTION_KEYS_CONFIG} to encrypt them at rest. They are still delivered, but no rule can be given a new Slack URL until a key is set`,
      );
    }
    for (const [keyId, n] of left) {
      logger.warn(
        `CI alerts: ${urls(
          n,
        )} encrypted under key "${keyId}", which is not in ${ENCRYPTION_KEYS_CONFIG}: their Slack notices fail until that key is configured again (or the rules get a new URL)`,
      );
    }
    if (report.unreadable) {
      logger.warn(
        `CI alerts: ${urls(
          report.unreadable,
        )} did not decrypt with their key (altered, or the key's secret changed): their Slack notices fail until the rules get a new URL`,
      );
    }
    return report;
  }
}
