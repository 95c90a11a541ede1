import { BackstageCredentials } from '@backstage/backend-plugin-api';
import {
  CompoundEntityRef,
  Entity,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { CatalogService } from '@backstage/plugin-catalog-node';

/** The entity fields the CI views need. */
const FIELDS = [
  'kind',
  'metadata.namespace',
  'metadata.name',
  'metadata.annotations',
];

/**
 * Looks entities up in the catalog for the CI views, remembering each answer
 * for a few seconds per caller, so that a page polled by many viewers does
 * not cost a catalog request per view. The catalog still decides what each
 * caller may see; a change there shows within the time to live.
 */
export class EntityResolver {
  private readonly cache = new Map<
    string,
    { at: number; entity: Entity | undefined }
  >();

  constructor(
    private readonly catalog: CatalogService,
    private readonly options: {
      ttlMs?: number;
      maxEntries?: number;
      now?: () => number;
    } = {},
  ) {}

  async get(
    ref: CompoundEntityRef,
    credentials: BackstageCredentials,
  ): Promise<Entity | undefined> {
    const [entity] = await this.getMany([stringifyEntityRef(ref)], credentials);
    return entity;
  }

  /**
   * Several entities at once, in the order asked (undefined where the
   * caller cannot see one, or it does not exist): one catalog request for
   * those not remembered.
   */
  async getMany(
    entityRefs: string[],
    credentials: BackstageCredentials,
  ): Promise<Array<Entity | undefined>> {
    const now = this.options.now?.() ?? Date.now();
    const ttl = this.options.ttlMs ?? 10_000;
    const caller = callerOf(credentials);
    const keyOf = (ref: string) => `${caller}\n${ref}`;
    const found = new Map<string, Entity | undefined>();
    const missing: string[] = [];
    for (const ref of new Set(entityRefs)) {
      const hit = this.cache.get(keyOf(ref));
      if (hit && now - hit.at < ttl) {
        found.set(ref, hit.entity);
      } else {
        missing.push(ref);
      }
    }
    if (missing.length > 0) {
      const { items } = await this.catalog.getEntitiesByRefs(
        { entityRefs: missing, fields: FIELDS },
        { credentials },
      );
      missing.forEach((ref, i) => {
        const entity = items[i] ?? undefined;
        found.set(ref, entity);
        this.cache.delete(keyOf(ref));
        this.cache.set(keyOf(ref), { at: now, entity });
      });
      // Oldest first in a Map: drop from the front past the bound.
      const max = this.options.maxEntries ?? 5000;
      for (const k of this.cache.keys()) {
        if (this.cache.size <= max) {
          break;
        }
        this.cache.delete(k);
      }
    }
    return entityRefs.map(ref => found.get(ref));
  }
}

function callerOf(credentials: BackstageCredentials): string {
  const p = credentials.principal as {
    type: string;
    userEntityRef?: string;
    subject?: string;
  };
  return `${p.type}:${p.userEntityRef ?? p.subject ?? ''}`;
}
