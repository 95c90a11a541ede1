import { LoggerService } from '@backstage/backend-plugin-api';
import { CiStore } from '../database/CiStore';

/**
 * Which entities claim which sources, kept in the store for all replicas:
 * a run is readable by those who may read a claiming entity, and a webhook
 * delivery for a source nobody claims is refused. Claims are what the
 * source policy allowed (never a refused source).
 *
 * A listing notes its entity's claims at once (a new entity's webhooks are
 * accepted before the next scheduled pass); each replica writes an
 * unchanged claim again only after `rememberMs`. The scheduled pass makes
 * the claims those of the whole catalog, so an entity that is gone, or no
 * longer names a source, stops claiming it.
 */
export class SourceClaims {
  private readonly noted = new Map<string, { keys: string; at: number }>();

  constructor(
    private readonly store: Pick<CiStore, 'recordClaims' | 'replaceClaims'>,
    private readonly logger: LoggerService,
    private readonly options: { rememberMs?: number; now?: () => number } = {},
  ) {}

  private now() {
    return this.options.now?.() ?? Date.now();
  }

  /** An entity just read from the catalog claims these sources. */
  async note(entityRef: string, sourceKeys: string[]): Promise<void> {
    const keys = [...sourceKeys].sort().join('\n');
    const now = this.now();
    const had = this.noted.get(entityRef);
    if (
      had &&
      had.keys === keys &&
      now - had.at < (this.options.rememberMs ?? 10 * 60_000)
    ) {
      return;
    }
    await this.store.recordClaims(
      entityRef,
      sourceKeys,
      new Date(now).toISOString(),
    );
    if (this.noted.size >= 10_000) {
      this.noted.clear();
    }
    this.noted.set(entityRef, { keys, at: now });
  }

  /**
   * A whole catalog pass found these claims, reading from `readStartedAt`:
   * they become the claims (those noted since then stay too).
   */
  async replaceAll(
    claims: Array<{ entityRef: string; sourceKey: string }>,
    readStartedAt: string,
  ): Promise<void> {
    const { added, removed } = await this.store.replaceClaims(
      claims,
      readStartedAt,
    );
    this.noted.clear();
    if (added || removed) {
      this.logger.info(
        `Source claims: ${added} added, ${removed} removed (${claims.length} in the catalog)`,
      );
    }
  }
}
