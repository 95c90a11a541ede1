import { LoggerService } from '@backstage/backend-plugin-api';
import { CiSource } from '@ci-experience/plugin-ci-experience-node';
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
  private catalogRead:
    | {
        at: number;
        claims: Promise<
          Map<string, { source: CiSource; entities: Map<string, string[]> }>
        >;
      }
    | undefined;

  constructor(
    private readonly store: Pick<
      CiStore,
      'recordClaims' | 'replaceClaims' | 'upsertSource'
    >,
    private readonly logger: LoggerService,
    private readonly options: {
      rememberMs?: number;
      now?: () => number;
      /**
       * Reads every claim the catalog makes (see `readCatalogClaims`), for
       * {@link SourceClaims.claimFromCatalog}.
       */
      readCatalog?: () => Promise<
        Array<{ entityRef: string; source: CiSource }>
      >;
      /** How long one catalog read answers for every source. Default 30 s. */
      catalogReadMs?: number;
    } = {},
  ) {}

  /**
   * A delivery came for a source no entity is known to claim: it may be
   * annotated on an entity that no listing or scheduled pass has seen yet.
   * Reads the catalog (one read at a time, reused for `catalogReadMs`, so a
   * burst of deliveries for unknown sources costs one read) and records the
   * claims of the entities that name this source.
   */
  async claimFromCatalog(sourceKey: string): Promise<boolean> {
    const { readCatalog } = this.options;
    if (!readCatalog) {
      return false;
    }
    const now = this.now();
    if (
      !this.catalogRead ||
      now - this.catalogRead.at >= (this.options.catalogReadMs ?? 30_000)
    ) {
      const claims = readCatalog().then(found => {
        // entity -> every source key it claims
        const byEntity = new Map<string, string[]>();
        for (const f of found) {
          byEntity.set(f.entityRef, [
            ...(byEntity.get(f.entityRef) ?? []),
            f.source.key,
          ]);
        }
        const bySource = new Map<
          string,
          { source: CiSource; entities: Map<string, string[]> }
        >();
        for (const f of found) {
          const entry = bySource.get(f.source.key) ?? {
            source: f.source,
            entities: new Map(),
          };
          entry.entities.set(f.entityRef, byEntity.get(f.entityRef)!);
          bySource.set(f.source.key, entry);
        }
        return bySource;
      });
      const read = { at: now, claims };
      this.catalogRead = read;
      // A failed read is not reused.
      claims.catch(() => {
        if (this.catalogRead === read) {
          this.catalogRead = undefined;
        }
      });
    }
    const found = (await this.catalogRead.claims).get(sourceKey);
    if (!found) {
      return false;
    }
    const { source, entities } = found;
    // Known from now on, though not synced yet: the next listing syncs it.
    await this.store.upsertSource(source);
    for (const [entityRef, keys] of entities) {
      await this.note(entityRef, keys);
    }
    this.logger.info(
      `Source ${sourceKey} claimed by ${[...entities.keys()].join(
        ', ',
      )}, found in the catalog for a webhook delivery`,
    );
    return true;
  }

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
