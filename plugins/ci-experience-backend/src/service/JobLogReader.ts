import { CacheService, LoggerService } from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import { JsonValue } from '@backstage/types';

/** Which log: one job of one attempt. */
export interface JobLogKey {
  /** The portal's run id, which names one attempt of a run. */
  runId: string;
  /** The provider's job id. */
  jobId: string;
  /**
   * The job and its run are over: the log will not change any more, so
   * what was read of it may be kept. A running job's log is never kept.
   */
  finished: boolean;
}

/** Default time a finished job's log is kept: a day. */
export const DEFAULT_LOG_CACHE_TTL_SECONDS = 86400;
/** Default logs one replica keeps in the cache at most, in all: 64 MiB. */
export const DEFAULT_LOG_CACHE_MAX_BYTES = 64 * 1024 * 1024;
/** Default size of one kept log at most: twice the default served tail. */
export const DEFAULT_LOG_CACHE_MAX_ENTRY_BYTES = 2 * 1024 * 1024;

const KEY_PREFIX = 'job-log:v1:';

/** Options of {@link JobLogReader}. */
export interface JobLogReaderOptions {
  /** The plugin's CacheService: memory in one process, Redis across replicas. */
  cache: CacheService;
  logger: LoggerService;
  /** How long a finished job's log is kept; 0 keeps none. Default a day. */
  ttlSeconds?: number;
  /**
   * What this replica keeps in the cache at most, in all (JSON length of
   * the logs); its oldest are deleted beyond. 0 keeps none. Default 64 MiB.
   */
  maxBytes?: number;
  /** A log longer than this (JSON length) is served but not kept. Default 2 MiB. */
  maxEntryBytes?: number;
  /**
   * What the kept value depends on besides the job, e.g. the served tail's
   * limits: part of every key, so that a change of it is never answered
   * with what was kept before.
   */
  scope?: string;
  now?: () => number;
}

/**
 * Reads job logs from the provider at most once per finished job, and once
 * at a time per job: concurrent reads of one log share one request, and a
 * finished job's log (what the route serves: its tail) is kept in the
 * plugin's CacheService, where every replica finds it, for `ttlSeconds`.
 * A running job's log, a provider error and a missing log are never kept; a
 * cache that fails is passed by with a warning and the provider asked.
 *
 * Backstage's default cache store (`backend.cache.store: memory`) is a Map
 * per process that drops an expired entry only when it is read again and
 * has no size bound. So this reader bounds what it puts there itself: no
 * entry above `maxEntryBytes`, at most `maxBytes` in all per replica, and
 * its own expired or oldest entries deleted as new ones come in.
 */
export class JobLogReader<T> {
  private readonly inFlight = new Map<string, Promise<T | undefined>>();
  /** What this replica put in the cache, oldest first: key → size and time. */
  private readonly kept = new Map<string, { bytes: number; at: number }>();
  private keptBytes = 0;
  private readonly ttlMs: number;
  private readonly maxBytes: number;
  private readonly maxEntryBytes: number;
  private readonly now: () => number;

  /**
   * The reader as `ciExperience.logs` configures it: `cacheTtlSeconds`,
   * `cacheMaxBytes`, and the served tail (`maxBytes`, `maxLines`) as its
   * scope, with room for twice `maxBytes` in one entry. A cache key that is
   * not a whole number of at least 0 is logged and its default used, as the
   * route does with the tail's.
   */
  static fromConfig<T>(
    config: Config,
    options: { cache: CacheService; logger: LoggerService },
  ): JobLogReader<T> {
    const { logger } = options;
    const read = (key: string, fallback: number, min: number, warn = true) => {
      const value = config.getOptional(`ciExperience.logs.${key}`);
      if (value === undefined) {
        return fallback;
      }
      if (
        typeof value !== 'number' ||
        !Number.isInteger(value) ||
        value < min
      ) {
        if (!warn) {
          return fallback;
        }
        logger.warn(
          `Ignored ciExperience.logs.${key} ${JSON.stringify(
            value,
          )}: not a whole number of at least ${min}; using ${fallback}`,
        );
        return fallback;
      }
      return value;
    };
    // The route reads (and warns about) the tail's limits itself.
    const tailBytes = read('maxBytes', 1024 * 1024, 1, false);
    const tailLines = read('maxLines', 5000, 1, false);
    return new JobLogReader<T>({
      ...options,
      ttlSeconds: read('cacheTtlSeconds', DEFAULT_LOG_CACHE_TTL_SECONDS, 0),
      maxBytes: read('cacheMaxBytes', DEFAULT_LOG_CACHE_MAX_BYTES, 0),
      maxEntryBytes: 2 * tailBytes,
      scope: `${tailBytes}:${tailLines}`,
    });
  }

  constructor(private readonly options: JobLogReaderOptions) {
    this.ttlMs = (options.ttlSeconds ?? DEFAULT_LOG_CACHE_TTL_SECONDS) * 1000;
    this.maxBytes = options.maxBytes ?? DEFAULT_LOG_CACHE_MAX_BYTES;
    this.maxEntryBytes =
      options.maxEntryBytes ?? DEFAULT_LOG_CACHE_MAX_ENTRY_BYTES;
    this.now = options.now ?? Date.now;
  }

  /**
   * The log of a job: kept, being read already, or read now with `fetch`
   * (which reads the provider and makes what the route serves). Undefined
   * when `fetch` finds none. `T` must survive JSON (the cache stores JSON);
   * concurrent callers get the same object, so none may change it.
   */
  read(
    key: JobLogKey,
    fetch: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const cacheKey = `${KEY_PREFIX}${JSON.stringify([
      this.options.scope ?? '',
      key.runId,
      key.jobId,
    ])}`;
    const pending = this.inFlight.get(cacheKey);
    if (pending) {
      return pending;
    }
    const keep = key.finished && this.ttlMs > 0 && this.maxBytes > 0;
    const promise = this.load(cacheKey, keep, fetch).finally(() =>
      this.inFlight.delete(cacheKey),
    );
    this.inFlight.set(cacheKey, promise);
    return promise;
  }

  private async load(
    cacheKey: string,
    keep: boolean,
    fetch: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    if (keep) {
      try {
        const cached = await this.options.cache.get(cacheKey);
        if (cached !== undefined) {
          return cached as T;
        }
      } catch (error) {
        this.options.logger.warn(
          `Job log cache read failed, reading the log from the provider: ${error}`,
        );
      }
    }
    const value = await fetch();
    if (keep && value !== undefined) {
      await this.write(cacheKey, value);
    }
    return value;
  }

  private async write(cacheKey: string, value: T) {
    const bytes = (JSON.stringify(value) ?? '').length + cacheKey.length;
    if (bytes > this.maxEntryBytes || bytes > this.maxBytes) {
      this.options.logger.debug(
        `Job log of ${bytes} bytes not kept: above ${Math.min(
          this.maxEntryBytes,
          this.maxBytes,
        )}`,
      );
      return;
    }
    try {
      await this.options.cache.set(cacheKey, value as unknown as JsonValue, {
        ttl: this.ttlMs,
      });
    } catch (error) {
      this.options.logger.warn(
        `Job log cache write failed, the next read asks the provider again: ${error}`,
      );
      return;
    }
    this.forget(cacheKey);
    this.kept.set(cacheKey, { bytes, at: this.now() });
    this.keptBytes += bytes;
    this.sweep();
  }

  /** Deletes this replica's expired entries, then its oldest beyond `maxBytes`. */
  private sweep() {
    const now = this.now();
    for (const [key, entry] of this.kept) {
      if (now - entry.at < this.ttlMs && this.keptBytes <= this.maxBytes) {
        break;
      }
      this.forget(key);
      this.options.cache
        .delete(key)
        .catch(error =>
          this.options.logger.warn(
            `Job log cache delete failed; the entry expires by itself: ${error}`,
          ),
        );
    }
  }

  private forget(key: string) {
    const entry = this.kept.get(key);
    if (entry) {
      this.keptBytes -= entry.bytes;
      this.kept.delete(key);
    }
  }
}
