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
    const now = this.options.now?.() ?? Date.now();
    const ttl = this.options.ttlMs ?? 10_000;
    const entityRef = stringifyEntityRef(ref);
    const key = `${callerOf(credentials)}\n${entityRef}`;
    const hit = this.cache.get(key);
    if (hit && now - hit.at < ttl) {
      return hit.entity;
    }
    const { items } = await this.catalog.getEntitiesByRefs(
      { entityRefs: [entityRef], fields: FIELDS },
      { credentials },
    );
    const entity = items[0] ?? undefined;
    this.cache.delete(key);
    this.cache.set(key, { at: now, entity });
    // Oldest first in a Map: drop from the front past the bound.
    const max = this.options.maxEntries ?? 5000;
    for (const k of this.cache.keys()) {
      if (this.cache.size <= max) {
        break;
      }
      this.cache.delete(k);
    }
    return entity;
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
