import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import { CiStore, StoredRun } from '../database/CiStore';
import { CiSyncService } from './CiSyncService';
import { EntityResolver } from './EntityResolver';

/**
 * Looked up in the catalog when a run is unknown, so that an unknown run
 * costs the same catalog read as a hidden one. No entity claims a source
 * under this name.
 */
const NO_ENTITY = 'component:default/ci-experience-unknown-run';

/**
 * Decides whether a caller may read a run (and its jobs and logs): only
 * when the catalog, asked with the caller's own credentials, shows them an
 * entity that claims the run's source, and the source policy still allows
 * that entity the source. Run ids are opaque but are no secret: they are in
 * links, logs and browser histories.
 *
 * A run the caller may not read is answered exactly as one that does not
 * exist: the same error and message, after the same work (a run lookup, a
 * claims lookup and one catalog read), so neither the answer nor its
 * timing tells whether the run exists.
 */
export class RunAccess {
  constructor(
    private readonly options: {
      store: CiStore;
      sync: Pick<CiSyncService, 'sourcesOf'>;
      entities: EntityResolver;
    },
  ) {}

  /** The run with its jobs; a `NotFoundError` when unknown or not visible. */
  async visibleRun(
    id: string,
    credentials: BackstageCredentials,
  ): Promise<StoredRun> {
    const { store, sync, entities } = this.options;
    const sourceKey = await store.getRunSourceKey(id);
    const claims = await store.getClaims(sourceKey ?? '');
    const seen = await entities.getMany(
      sourceKey && claims.length > 0 ? claims : [NO_ENTITY],
      credentials,
    );
    const visible =
      sourceKey !== undefined &&
      seen.some(
        entity =>
          entity !== undefined &&
          sync.sourcesOf(entity).some(s => s.key === sourceKey),
      );
    const run = visible ? await store.getRun(id) : undefined;
    if (!run) {
      throw new NotFoundError(`No run ${id}`);
    }
    return run;
  }
}
