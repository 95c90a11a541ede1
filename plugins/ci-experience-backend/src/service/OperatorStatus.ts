import {
  CiOperatorHost,
  CiOperatorSource,
  CiOperatorStatus,
} from '@ci-experience/plugin-ci-experience-common';
import { CiStore } from '../database/CiStore';
import { DEFAULT_TRIAGE_LIMITS } from '../triage/TriageService';
import { CiMetrics, CiQueueDepths } from './metrics';

/** Queue depths are counted up to this many items each. */
export const QUEUE_COUNT_CAP = 100_000;

/** Sources an answer lists unless asked for another number. */
export const DEFAULT_SOURCE_LIMIT = 200;
/** The most sources one answer lists. */
export const MAX_SOURCE_LIMIT = 1000;

/** How long counted queue depths are reused (scrapes and page views). */
const QUEUE_CACHE_MS = 10_000;

/** Where the operator's figures come from; the plugin wires them. */
export interface OperatorStatusOptions {
  /** Every provider host's budget and breaker, as this replica sees them. */
  hosts: () => CiOperatorHost[];
  /** Every source's sync state (cadence, last sync, error). */
  sources: () => Promise<CiOperatorSource[]> | CiOperatorSource[];
  /** The plugin's store, which counts the queue depths. */
  store: Pick<CiStore, 'countQueues'>;
  /** Webhook intake tallies; the gauges are fed from here too. */
  metrics: CiMetrics;
  now?: () => number;
  /** Log reads after which a failed job leaves the triage queue. Default 3. */
  triageMaxAttempts?: number;
}

/**
 * Gathers the operator's view of the suite (`GET /admin/status`): provider
 * hosts, sources worst first, webhook intake and queue depths. On creation
 * it also points the observable gauges of {@link CiMetrics} at the same
 * figures, so that the page and the metrics never disagree.
 *
 * Queue depths are counted from the database over the indexes the workers
 * themselves read (up to {@link QUEUE_COUNT_CAP} each) and reused for 10
 * seconds, so that scrapes and page views cost at most a few index scans
 * per 10 seconds per replica.
 */
export class OperatorStatus {
  private queueCache?: { at: number; depths: Promise<CiQueueDepths> };

  static create(options: OperatorStatusOptions): OperatorStatus {
    const status = new OperatorStatus(options);
    options.metrics.observe({
      hosts: options.hosts,
      sources: async () => status.sourcesWithLag(),
      queues: () => status.queueDepths(),
    });
    return status;
  }

  private constructor(private readonly options: OperatorStatusOptions) {}

  /** The figures, with the `limit` worst sources (see {@link sortWorstFirst}). */
  async status(options: { limit?: number } = {}): Promise<CiOperatorStatus> {
    const limit = Math.min(
      Math.max(1, options.limit ?? DEFAULT_SOURCE_LIMIT),
      MAX_SOURCE_LIMIT,
    );
    const [sources, queues] = await Promise.all([
      this.sourcesWithLag(),
      this.queueDepths(),
    ]);
    const tallies = this.options.metrics.webhookTallies();
    return {
      generatedAt: new Date(this.now()).toISOString(),
      hosts: this.options
        .hosts()
        .map(h => ({
          provider: h.provider,
          host: h.host,
          budget: {
            limit: h.budget.limit,
            used: h.budget.used,
            remaining: h.budget.remaining,
            resetAt: h.budget.resetAt,
            share: h.budget.share,
          },
          inFlight: h.inFlight,
          breaker: {
            state: h.breaker.state,
            ...(h.breaker.since ? { since: h.breaker.since } : {}),
            ...(h.breaker.lastError ? { lastError: h.breaker.lastError } : {}),
          },
        }))
        .sort(
          (a, b) =>
            a.provider.localeCompare(b.provider) ||
            a.host.localeCompare(b.host),
        ),
      sources: sortWorstFirst(sources).slice(0, limit),
      sourcesTotal: sources.length,
      webhooks: {
        byOutcome: tallies.byOutcome,
        ...(tallies.lagMs ? { lagMs: tallies.lagMs } : {}),
      },
      queues,
      queueCountCap: QUEUE_COUNT_CAP,
    };
  }

  /** Items waiting in each queue, counted at most every 10 seconds. */
  queueDepths(): Promise<CiQueueDepths> {
    const now = this.now();
    if (!this.queueCache || now - this.queueCache.at >= QUEUE_CACHE_MS) {
      const depths = this.countQueues();
      this.queueCache = { at: now, depths };
      // A failed count is not kept: the next call counts again.
      depths.catch(() => {
        if (this.queueCache?.depths === depths) {
          this.queueCache = undefined;
        }
      });
    }
    return this.queueCache.depths;
  }

  private async countQueues(): Promise<CiQueueDepths> {
    const { triage, runs, jobs, outbox } = await this.options.store.countQueues(
      {
        triageMaxAttempts:
          this.options.triageMaxAttempts ?? DEFAULT_TRIAGE_LIMITS.maxAttempts,
        cap: QUEUE_COUNT_CAP,
      },
    );
    return {
      triage,
      aggregation: Math.min(runs + jobs, QUEUE_COUNT_CAP),
      outbox,
    };
  }

  private async sourcesWithLag(): Promise<CiOperatorSource[]> {
    const now = this.now();
    return (await this.options.sources()).map(s => {
      if (s.lagMs !== undefined || !s.lastSyncedAt) {
        return s;
      }
      const at = Date.parse(s.lastSyncedAt);
      return Number.isNaN(at) ? s : { ...s, lagMs: Math.max(0, now - at) };
    });
  }

  private now() {
    return this.options.now?.() ?? Date.now();
  }
}

/**
 * Worst first: failing sources, then those never synced, then by lag
 * (largest first); ties by provider and source, so that pages are stable.
 */
export function sortWorstFirst(
  sources: CiOperatorSource[],
): CiOperatorSource[] {
  const lagOf = (s: CiOperatorSource) =>
    s.lagMs ?? (s.lastSyncedAt ? 0 : Infinity);
  return [...sources].sort(
    (a, b) =>
      Number(Boolean(b.error)) - Number(Boolean(a.error)) ||
      lagOf(b) - lagOf(a) ||
      a.provider.localeCompare(b.provider) ||
      a.source.localeCompare(b.source),
  );
}
