import { LoggerService } from '@backstage/backend-plugin-api';
import { Entity } from '@backstage/catalog-model';
import {
  CI_ANNOTATIONS,
  CiJob,
  CiSyncError,
} from '@ci-experience/plugin-ci-experience-common';
import {
  CiProvider,
  CiProviderRun,
  CiSource,
  runIdOf,
  boundJobToRun,
} from '@ci-experience/plugin-ci-experience-node';
import { randomUUID } from 'node:crypto';
import { CiStore, StoredRun, StoredRunVersion } from '../database/CiStore';
import { CiMetrics } from './metrics';
import { clampRun } from './clampRun';
import { SourcePolicy } from './SourcePolicy';

/** Bounds of one sync of one source. */
export interface SyncLimits {
  /** Pages of runs read at most per sync of one source. */
  maxPages: number;
  /**
   * How long a source's sync lease lasts unless renewed; a sync renews it
   * every third of that while it runs (on a timer, whatever a request
   * takes), so a replica that dies (SIGKILL, a lost node) holds its sources
   * this long at most. Default 30 s.
   */
  leaseMs?: number;
}

/** What one sync of one source did, for logs and tests. */
export interface SyncResult {
  pages: number;
  changedRuns: number;
  error?: CiSyncError;
  /** Another replica holds this source's sync lease: nothing was done. */
  skipped?: boolean;
  /**
   * The sync's signal aborted (the scheduled pass ended or the backend shuts
   * down): it stopped at a provider-request boundary, kept what it had read,
   * released its lease and left the source's state as it was (not failed),
   * so the source is still due.
   */
  stopped?: boolean;
}

/** How a sync may be stopped. */
export interface SyncOptions {
  /**
   * Checked before every provider request (each page of runs, each job
   * list, each single run): once aborted, the sync stops there.
   */
  signal?: AbortSignal;
  /**
   * Sync only if the source's last attempt is still this one (null: never
   * tried), as a sync pass read it: with several replicas running passes,
   * a source another replica synced since is skipped, not polled twice.
   */
  ifLastAttemptAt?: string | null;
}

const DEFAULT_LEASE_MS = 30_000;

/** Thrown inside a sync at the first request boundary after its signal aborted. */
class SyncStoppedError extends Error {
  name = 'SyncStoppedError';
  /** Runs stored before stopping, of the page being read. */
  stored = 0;
}

function checkSignal(signal: AbortSignal | undefined) {
  if (signal?.aborted) {
    throw new SyncStoppedError('sync stopped: its signal aborted');
  }
}

/**
 * Reads runs from providers into the store, incrementally: a sync reads pages
 * of runs newest first until a page brings nothing new and no stored run is
 * left unfinished, so a quiet source costs one request. Concurrent requests
 * to sync one source share one sync.
 */
export class CiSyncService {
  private readonly inFlight = new Map<string, Promise<SyncResult>>();
  private readonly stopping = new AbortController();
  private readonly providers: Map<string, CiProvider>;
  /** This replica, as the owner of sync leases. */
  private readonly owner = randomUUID();
  private readonly policy: SourcePolicy;

  static create(options: {
    providers: CiProvider[];
    store: CiStore;
    logger: LoggerService;
    limits: SyncLimits;
    metrics?: CiMetrics;
    /** Told whenever a source's runs or sync state change. */
    onSourceChanged?: (sourceKey: string) => void;
    /** Which sources entities may reach; default: their own repositories only. */
    policy?: SourcePolicy;
  }): CiSyncService {
    const ids = options.providers.map(p => p.id);
    const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
    if (duplicate) {
      throw new Error(`Two CI providers registered the id "${duplicate}"`);
    }
    return new CiSyncService(options);
  }

  private constructor(
    private readonly options: {
      providers: CiProvider[];
      store: CiStore;
      logger: LoggerService;
      limits: SyncLimits;
      metrics?: CiMetrics;
      onSourceChanged?: (sourceKey: string) => void;
      policy?: SourcePolicy;
    },
  ) {
    this.providers = new Map(options.providers.map(p => [p.id, p]));
    this.policy = options.policy ?? SourcePolicy.fromRules([]);
  }

  /**
   * The sources an entity's annotations name, across all providers, split
   * by the source policy into those the entity may reach and those it may
   * not (with the reason, for its viewers).
   */
  resolveSources(entity: Entity): {
    allowed: CiSource[];
    refused: Array<{ source: CiSource; error: CiSyncError }>;
  } {
    const seen = new Map<string, CiSource>();
    for (const provider of this.providers.values()) {
      for (const source of provider.getSources(entity)) {
        seen.set(source.key, source);
      }
    }
    const allowed: CiSource[] = [];
    const refused: Array<{ source: CiSource; error: CiSyncError }> = [];
    for (const source of seen.values()) {
      const verdict = this.policy.check(
        source,
        entity,
        this.providers.get(source.provider),
      );
      if (verdict.allowed) {
        allowed.push(source);
      } else {
        refused.push({ source, error: verdict.error });
      }
    }
    return { allowed, refused };
  }

  /**
   * The sources an entity may reach (see {@link CiSyncService.resolveSources}):
   * the only ones synced, served or acted on for it.
   */
  sourcesOf(entity: Entity): CiSource[] {
    return this.resolveSources(entity).allowed;
  }

  /**
   * Every annotation that names a CI source: the built-in providers' and
   * those the installed providers declare, each once, sorted.
   */
  annotations(): string[] {
    const all = new Set<string>(CI_ANNOTATIONS);
    for (const provider of this.providers.values()) {
      for (const name of provider.annotations ?? []) {
        all.add(name);
      }
    }
    return [...all].sort();
  }

  /** The ids of the providers installed. */
  providerIds(): string[] {
    return [...this.providers.keys()];
  }

  /**
   * For a graceful shutdown: every sync under way (scheduled or started by a
   * page view) stops at its next provider request and releases its lease;
   * resolves when all have. No sync starts after it.
   */
  async shutdown(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  isSyncing(key: string): boolean {
    return this.inFlight.has(key);
  }

  /**
   * Syncs a source, or joins the sync of it already under way (whose own
   * signal then applies). With `signal`, the sync stops at the next
   * provider request once it aborts (see {@link SyncResult.stopped}).
   */
  sync(
    source: CiSource,
    entityRef?: string,
    options: SyncOptions = {},
  ): Promise<SyncResult> {
    const running = this.inFlight.get(source.key);
    if (running) {
      return running;
    }
    if (options.signal?.aborted || this.stopping.signal.aborted) {
      return Promise.resolve({ pages: 0, changedRuns: 0, stopped: true });
    }
    const changed = () => this.options.onSourceChanged?.(source.key);
    const promise = this.run(source, entityRef, options).finally(() => {
      this.inFlight.delete(source.key);
      changed();
    });
    this.inFlight.set(source.key, promise);
    changed();
    return promise;
  }

  private async run(
    source: CiSource,
    entityRef: string | undefined,
    options: SyncOptions,
  ): Promise<SyncResult> {
    const { signal } = options;
    const { store } = this.options;
    const logger = this.options.logger.child({
      provider: source.provider,
      source: source.source,
      ...(source.host ? { host: source.host } : {}),
      ...(entityRef ? { entity: entityRef } : {}),
    });
    const provider = this.providers.get(source.provider);
    const started = Date.now();
    const result: SyncResult = { pages: 0, changedRuns: 0 };
    await store.upsertSource(source);
    // One replica syncs a source at a time; the others serve what it stores.
    const leaseMs = this.options.limits.leaseMs ?? DEFAULT_LEASE_MS;
    const leased = await store.tryLeaseSync(source.key, this.owner, leaseMs, {
      ifLastAttemptAt: options.ifLastAttemptAt,
    });
    if (!leased) {
      logger.debug(
        `Sync of ${source.source} skipped: another replica is syncing it, or synced it since the pass began`,
      );
      return { ...result, skipped: true };
    }
    // The lease is renewed while the sync runs; lost (the database said
    // another replica holds it), the sync stops at its next request.
    const lost = new AbortController();
    const renew = setInterval(() => {
      store.tryLeaseSync(source.key, this.owner, leaseMs).then(
        still => {
          if (!still) {
            lost.abort();
          }
        },
        error =>
          logger.warn(
            `Could not renew the sync lease of ${source.source}: ${error}`,
          ),
      );
    }, Math.max(1, Math.floor(leaseMs / 3)));
    renew.unref?.();
    const stop = AbortSignal.any([
      ...(signal ? [signal] : []),
      lost.signal,
      this.stopping.signal,
    ]);
    try {
      if (!provider) {
        throw new Error(`No CI provider "${source.provider}" is installed`);
      }
      const known = (await store.getSources([source.key])).get(source.key);
      if (!known?.defaultBranch) {
        checkSignal(stop);
        const info = await provider.getSourceInfo(source);
        const branch =
          info.defaultBranch ??
          (await this.siblingDefaultBranch(source, provider, logger));
        if (branch) {
          await store.setDefaultBranch(source.key, branch);
        }
      }

      const unfinished = await store.listUnfinishedRuns(source.key);
      const seen = new Set<string>();
      let page: string | undefined;
      do {
        checkSignal(stop);
        const listed = await provider.listRuns(source, { page });
        result.pages += 1;
        const { changed, unchanged } = await this.storeChanged(
          provider,
          source,
          listed.runs,
          seen,
          logger,
          stop,
        );
        result.changedRuns += changed;
        page = listed.nextPage;
        // Runs come newest first: once a page holds a run we have as it is,
        // older runs are as stored too, except unfinished ones, read below
        // one by one. So a source with one run in progress costs one page.
        if (unchanged > 0) {
          break;
        }
      } while (page && result.pages < this.options.limits.maxPages);

      // Runs that were unfinished and fell beyond the pages read: ask for them.
      for (const u of unfinished.filter(r => !seen.has(r.id))) {
        checkSignal(stop);
        const run = await provider.getRun(source, u.providerRunId, u.attempt);
        if (run) {
          const { changed } = await this.storeChanged(
            provider,
            source,
            [run],
            seen,
            logger,
            stop,
          );
          result.changedRuns += changed;
        }
      }

      await store.markSynced(source.key, new Date().toISOString());
      logger.info(
        `Synced ${source.source}: ${
          result.changedRuns
        } new or changed runs from ${result.pages} pages in ${
          Date.now() - started
        }ms`,
      );
    } catch (e) {
      if (e instanceof SyncStoppedError) {
        // Not a failure: the source keeps its state and stays due.
        result.stopped = true;
        result.changedRuns += e.stored;
        logger.info(
          `Sync of ${source.source} stopped after ${result.pages} pages and ${
            result.changedRuns
          } stored runs in ${
            Date.now() - started
          }ms: its pass ended or the backend is stopping`,
        );
      } else {
        const error = e as Error;
        result.error = { name: error.name || 'Error', message: error.message };
        await store.markFailed(
          source.key,
          new Date().toISOString(),
          result.error,
        );
        logger.warn(
          `Sync of ${source.source} failed after ${result.pages} pages and ${
            result.changedRuns
          } stored runs in ${Date.now() - started}ms: ${error.name}: ${
            error.message
          }`,
        );
      }
    } finally {
      clearInterval(renew);
      await store.releaseSync(source.key, this.owner);
    }
    let outcome = 'succeeded';
    if (result.error) {
      outcome = 'failed';
    } else if (result.stopped) {
      outcome = 'stopped';
    }
    this.options.metrics?.syncDuration.record(Date.now() - started, {
      provider: source.provider,
      outcome,
    });
    return result;
  }

  /** Stores the runs that are new or changed, with their jobs. */
  private async storeChanged(
    provider: CiProvider,
    source: CiSource,
    runs: CiProviderRun[],
    seen: Set<string>,
    logger: LoggerService,
    signal?: AbortSignal,
  ): Promise<{ changed: number; unchanged: number }> {
    const ids = runs.map(r => runIdOf(source.key, r.providerRunId, r.attempt));
    ids.forEach(id => seen.add(id));
    const versions = await this.options.store.getRunVersions(ids);
    const toStore: StoredRun[] = [];
    let unchanged = 0;
    try {
      await this.readChanged(
        provider,
        source,
        runs,
        ids,
        versions,
        seen,
        logger,
        signal,
        toStore,
        () => {
          unchanged += 1;
        },
      );
    } catch (e) {
      if (e instanceof SyncStoppedError) {
        // What was read before stopping is kept: the requests are spent.
        await this.options.store.upsertRuns(toStore);
        e.stored += toStore.length;
      }
      throw e;
    }
    await this.options.store.upsertRuns(toStore);
    return { changed: toStore.length, unchanged };
  }

  /** Reads the jobs of the runs that changed into `toStore`. */
  private async readChanged(
    provider: CiProvider,
    source: CiSource,
    runs: CiProviderRun[],
    ids: string[],
    versions: Map<string, StoredRunVersion>,
    seen: Set<string>,
    logger: LoggerService,
    signal: AbortSignal | undefined,
    toStore: StoredRun[],
    onUnchanged: () => void,
  ): Promise<void> {
    for (const [i, run] of runs.entries()) {
      const stored = versions.get(ids[i]);
      const changed =
        !stored ||
        !stored.hasJobs ||
        stored.status !== run.status ||
        stored.providerUpdatedAt !== run.updatedAt;
      if (!changed) {
        onUnchanged();
        continue;
      }
      toStore.push(
        this.toStored(
          source,
          run,
          await this.jobsOf(provider, source, run, logger, signal),
          logger,
        ),
      );
      // An earlier attempt we never saw (a re-run of a run older than our history).
      for (let attempt = 1; attempt < run.attempt; attempt++) {
        const earlierId = runIdOf(source.key, run.providerRunId, attempt);
        if (seen.has(earlierId)) {
          continue;
        }
        seen.add(earlierId);
        const had = await this.options.store.getRunVersions([earlierId]);
        if (had.has(earlierId)) {
          continue;
        }
        checkSignal(signal);
        const earlier = await provider.getRun(
          source,
          run.providerRunId,
          attempt,
        );
        if (earlier) {
          toStore.push(
            this.toStored(
              source,
              earlier,
              await this.jobsOf(provider, source, earlier, logger, signal),
              logger,
            ),
          );
        }
      }
    }
  }

  /**
   * The default branch of another source of the same entity on the same
   * repository, for a source whose provider does not say (a Jenkins job
   * that is not a multibranch project): without one, the source would
   * vanish from default-branch insights and alerts. A source whose provider
   * cannot name its repository is taken to build the repository of the
   * entity's other sources, when they agree on one default branch.
   */
  private async siblingDefaultBranch(
    source: CiSource,
    provider: CiProvider,
    logger: LoggerService,
  ): Promise<string | undefined> {
    const mine = provider.repositoryOf?.(source);
    const branches = new Set<string>();
    for (const sibling of await this.options.store.getSourcesClaimedWith(
      source.key,
    )) {
      const theirs = this.providers.get(sibling.provider)?.repositoryOf?.({
        provider: sibling.provider,
        key: sibling.key,
        source: sibling.source,
        ...(sibling.host ? { host: sibling.host } : {}),
      });
      if (
        sibling.defaultBranch &&
        theirs &&
        (!mine ||
          (mine.host.toLowerCase() === theirs.host.toLowerCase() &&
            mine.path.toLowerCase() === theirs.path.toLowerCase()))
      ) {
        branches.add(sibling.defaultBranch);
      }
    }
    if (branches.size > 1) {
      logger.info(
        `Default branch of ${
          source.source
        } unknown: the entity's other sources disagree (${[...branches].join(
          ', ',
        )}); set the annotation ci-experience.io/default-branch`,
      );
      return undefined;
    }
    const [branch] = branches;
    if (branch) {
      logger.debug(
        `Default branch of ${source.source} taken from another source of the same repository: ${branch}`,
      );
    }
    return branch;
  }

  /** Jobs of a run; a failure to read them keeps the run, without jobs, to retry later. */
  private async jobsOf(
    provider: CiProvider,
    source: CiSource,
    run: CiProviderRun,
    logger: LoggerService,
    signal: AbortSignal | undefined,
  ): Promise<CiJob[] | undefined> {
    checkSignal(signal);
    try {
      return await provider.listJobs(source, run);
    } catch (e) {
      logger.warn(
        `Could not read the jobs of run ${run.providerRunId} attempt ${
          run.attempt
        } of ${source.source}: ${(e as Error).message}`,
      );
      return undefined;
    }
  }

  /**
   * The run as stored, its times clamped (see `clampRun`): a time in the
   * future is brought back to now, with a warning.
   */
  private toStored(
    source: CiSource,
    run: CiProviderRun,
    jobs: CiJob[] | undefined,
    logger: LoggerService,
  ): StoredRun {
    const stored = storedRunOf(source, run, jobs, Date.now());
    if (stored.changes.length > 0) {
      logger.warn(
        `Clamped times of run ${run.providerRunId} attempt ${run.attempt} of ${
          source.source
        }: ${stored.changes.join('; ')}`,
      );
    }
    return stored.run;
  }
}

/**
 * A provider's run and jobs as they are stored, whatever the provider's
 * mapping did: times canonical, none in the future (`clampRun`); then no
 * queued or running job in a finished run, job and step times within the
 * run's, no negative duration (`boundJobToRun`); an attempt's queue time
 * from its jobs where the provider gives none. `changes` says what was
 * clamped, for a warning. Throws `OutOfRangeDateError` for a time that
 * does not parse or lies outside 1970-9999.
 */
export function storedRunOf(
  source: CiSource,
  run: CiProviderRun,
  jobs: CiJob[] | undefined,
  now: number,
): { run: StoredRun; changes: string[] } {
  const { providerRunId, updatedAt, ...model } = run;
  const clamped = clampRun(
    {
      ...model,
      id: runIdOf(source.key, providerRunId, run.attempt),
      provider: source.provider,
      source: source.source,
      sourceKey: source.key,
      providerRunId,
      providerUpdatedAt: updatedAt,
      jobs,
    },
    now,
  );
  const { jobs: clampedJobs, ...clampedRun } = clamped.run;
  const bounded = clampedJobs?.map(job => boundJobToRun(job, clampedRun));
  const queuedMs = clampedRun.queuedMs ?? attemptQueueMs(clampedRun, bounded);
  return {
    run: {
      ...clampedRun,
      ...(queuedMs !== undefined ? { queuedMs } : {}),
      ...(bounded ? { jobs: bounded } : {}),
    },
    changes: clamped.changes,
  };
}

/**
 * An attempt's queue time from its jobs, for providers that do not give a
 * run's: from the attempt's start (a GitHub re-run's `run_started_at`, else
 * its creation) to its first job's start. Undefined until a job started.
 */
export function attemptQueueMs(
  run: { createdAt: string; startedAt?: string },
  jobs: CiJob[] | undefined,
): number | undefined {
  const from = Date.parse(run.startedAt ?? run.createdAt);
  let first = Infinity;
  for (const job of jobs ?? []) {
    const at =
      job.startedAt && job.status !== 'queued'
        ? Date.parse(job.startedAt)
        : NaN;
    if (!Number.isNaN(at) && at < first) {
      first = at;
    }
  }
  if (!Number.isFinite(first) || Number.isNaN(from)) {
    return undefined;
  }
  return Math.max(0, first - from);
}
