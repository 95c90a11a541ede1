import { CiOperatorSource } from '@ci-experience/plugin-ci-experience-common';
import { LoggerService } from '@backstage/backend-plugin-api';
import { Config, readDurationFromConfig } from '@backstage/config';
import { InputError } from '@backstage/errors';
import { durationToMilliseconds, HumanDuration } from '@backstage/types';
import { CiSource } from '@ci-experience/plugin-ci-experience-node';
import { CiStore, SourceSyncState } from '../database/CiStore';
import { SyncOptions, SyncResult } from './CiSyncService';

/**
 * How often each kind of source is polled (`ciExperience.sync.cadence`),
 * in milliseconds.
 */
export interface SyncCadence {
  /** A source with unfinished runs or activity within `activeWindow`. */
  active: number;
  /** A source with neither. */
  quiet: number;
  /** A source webhooks feed: polled only as a safety net. */
  webhookFed: number;
  /** How recent a run's activity makes a source active. */
  activeWindow: number;
  /** How recent a delivery makes a source webhook-fed. */
  webhookWindow: number;
  /**
   * A busy source stays active between its runs: one with at least
   * `busyRuns` runs (attempts) whose activity lies within `busyWindow`.
   */
  busyWindow: number;
  /** See `busyWindow`: a count of runs, not a duration. */
  busyRuns: number;
}

/** The durations of `ciExperience.sync.cadence`, with their documented defaults. */
export const DEFAULT_SYNC_CADENCE: Record<
  Exclude<keyof SyncCadence, 'busyRuns'>,
  HumanDuration
> = {
  active: { minutes: 1 },
  quiet: { minutes: 15 },
  webhookFed: { minutes: 30 },
  // Minutes, not hours: at 10,000 sources a 2-hour window made a third of
  // them active, more than GitHub's 900 list requests a minute allow. A
  // source that runs often stays active through `busyWindow` instead.
  activeWindow: { minutes: 15 },
  webhookWindow: { hours: 24 },
  busyWindow: { hours: 2 },
};

/** The documented default of `ciExperience.sync.cadence.busyRuns`. */
export const DEFAULT_BUSY_RUNS = 3;

/** How many syncs run at once (`ciExperience.sync.concurrency`). */
export interface SyncConcurrency {
  /** Per provider host (github.com, a GitHub Enterprise host, ...). Default 4. */
  perHost: number;
  /** Across all hosts. Default 16. */
  total: number;
}

export const DEFAULT_SYNC_CONCURRENCY: SyncConcurrency = {
  perHost: 4,
  total: 16,
};

/** Why a source is polled at its cadence. */
export type SyncMode = 'active' | 'quiet' | 'webhook';

const MODES: SyncMode[] = ['active', 'quiet', 'webhook'];

/**
 * Reads `ciExperience.sync.cadence` (each key a duration: `{ minutes: 1 }`
 * or an ISO 8601 duration such as `PT1M`) and `ciExperience.sync.concurrency`
 * (`perHost`, `total`: positive whole numbers). A bad value stops the start
 * with a message naming the key.
 */
export function readSyncPlannerConfig(config: Config | undefined): {
  cadence: SyncCadence;
  concurrency: SyncConcurrency;
} {
  const section = config?.getOptionalConfig('ciExperience.sync.cadence');
  const cadence = Object.fromEntries(
    Object.entries(DEFAULT_SYNC_CADENCE).map(([k, v]) => [
      k,
      durationToMilliseconds(v),
    ]),
  ) as unknown as SyncCadence;
  cadence.busyRuns = DEFAULT_BUSY_RUNS;
  for (const key of Object.keys(DEFAULT_SYNC_CADENCE) as Array<
    keyof typeof DEFAULT_SYNC_CADENCE
  >) {
    if (!section?.has(key)) {
      continue;
    }
    let ms: number;
    try {
      const duration =
        typeof section.get(key) === 'string'
          ? readDurationFromConfig(section, { key })
          : readDurationFromConfig(section.getConfig(key));
      ms = durationToMilliseconds(duration);
    } catch (error) {
      throw new InputError(
        `Invalid ciExperience.sync.cadence.${key}: ${(error as Error).message}`,
      );
    }
    if (!(ms >= 1000)) {
      throw new InputError(
        `Invalid ciExperience.sync.cadence.${key}: give a duration of at least a second`,
      );
    }
    cadence[key] = ms;
  }
  let busyRuns: number | undefined;
  try {
    busyRuns = section?.getOptionalNumber('busyRuns');
  } catch (error) {
    throw new InputError(
      `Invalid ciExperience.sync.cadence.busyRuns: ${(error as Error).message}`,
    );
  }
  if (busyRuns !== undefined) {
    if (!Number.isInteger(busyRuns) || busyRuns < 2 || busyRuns > 100) {
      throw new InputError(
        `Invalid ciExperience.sync.cadence.busyRuns: give a whole number from 2 to 100, not ${busyRuns}`,
      );
    }
    cadence.busyRuns = busyRuns;
  }

  const limits = config?.getOptionalConfig('ciExperience.sync.concurrency');
  const concurrency = { ...DEFAULT_SYNC_CONCURRENCY };
  for (const key of ['perHost', 'total'] as const) {
    let value: number | undefined;
    try {
      value = limits?.getOptionalNumber(key);
    } catch (error) {
      throw new InputError(
        `Invalid ciExperience.sync.concurrency.${key}: ${
          (error as Error).message
        }`,
      );
    }
    if (value === undefined) {
      continue;
    }
    if (!Number.isInteger(value) || value < 1 || value > 1000) {
      throw new InputError(
        `Invalid ciExperience.sync.concurrency.${key}: give a whole number from 1 to 1000, not ${value}`,
      );
    }
    concurrency[key] = value;
  }
  return { cadence, concurrency };
}

/** When a source is next polled, and why at that cadence. */
export interface SourceCadence {
  mode: SyncMode;
  /** ISO time of the next poll; now for a source never synced. */
  nextPollAt: string;
  /** Never synced (or never stored): due at once, before all others. */
  neverSynced: boolean;
}

/**
 * A source's cadence from its stored state, at `now` (pure: the operator
 * page shows its `nextPollAt`):
 *
 * - `webhook`: a delivery was applied for it within `webhookWindow`, no
 *   run of it is unfinished since longer than `webhookFed` (a run whose
 *   completion no delivery brought is polled for), and no run a delivery
 *   finished within `activeWindow` awaits its job list: polled every
 *   `webhookFed`, a safety net for deliveries that never arrive;
 * - `active`: a run is unfinished, a run's activity lies within
 *   `activeWindow`, the source is busy (its `busyRuns`-th latest run's
 *   activity lies within `busyWindow`: it stays active between runs), or
 *   (webhook-fed or not) a run a delivery finished within
 *   `activeWindow` awaits the job list and steps only a sync reads: polled
 *   every `active`;
 * - `quiet`: otherwise, polled every `quiet`.
 *
 * The interval counts from the last attempt (a failed sync counts, a
 * stopped one does not); a source never synced is due at once.
 */
export function sourceCadence(
  state: SourceSyncState | undefined,
  cadence: SyncCadence,
  now: number,
): SourceCadence {
  const at = (iso: string | undefined) => {
    const ms = iso === undefined ? NaN : Date.parse(iso);
    return Number.isNaN(ms) ? undefined : ms;
  };
  const delivery = at(state?.lastDeliveryAt);
  const oldestUnfinished = at(state?.oldestUnfinishedAt);
  const activity = at(state?.latestActivityAt);
  const busy = at(state?.busyActivityAt);
  const unfinished = Boolean(state?.hasUnfinished);
  const jobsPending = at(state?.jobsPendingAt);
  const awaitsJobs =
    jobsPending !== undefined && jobsPending >= now - cadence.activeWindow;
  let mode: SyncMode;
  if (
    !awaitsJobs &&
    delivery !== undefined &&
    delivery >= now - cadence.webhookWindow &&
    !(
      unfinished &&
      (oldestUnfinished === undefined ||
        oldestUnfinished < now - cadence.webhookFed)
    )
  ) {
    mode = 'webhook';
  } else if (
    unfinished ||
    awaitsJobs ||
    (activity !== undefined && activity >= now - cadence.activeWindow) ||
    (busy !== undefined && busy >= now - cadence.busyWindow)
  ) {
    mode = 'active';
  } else {
    mode = 'quiet';
  }
  const last = at(state?.lastAttemptAt);
  if (last === undefined) {
    return { mode, nextPollAt: new Date(now).toISOString(), neverSynced: true };
  }
  const intervals: Record<SyncMode, number> = {
    active: cadence.active,
    quiet: cadence.quiet,
    webhook: cadence.webhookFed,
  };
  let next = last + intervals[mode];
  // A lease never released: a sync is under way (due again when it lapses,
  // should its replica die), or its replica died mid-sync (it lapsed). The
  // source is then polled as soon as the lease allows, whatever its mode.
  const lease = at(state?.syncLeaseUntil);
  if (lease !== undefined) {
    next = Math.min(next, lease);
  }
  return {
    mode,
    nextPollAt: new Date(next).toISOString(),
    neverSynced: false,
  };
}

/** Provider hosts of sources that name none. */
const DEFAULT_HOSTS: Record<string, string> = {
  'github-actions': 'github.com',
  gitlab: 'gitlab.com',
  circleci: 'circleci.com',
  buildkite: 'buildkite.com',
};

/** A source to sync, with the entity that claims it (for logs). */
export interface PlannedSource {
  source: CiSource;
  entityRef?: string;
}

/** Counts of one pass, for one mode or all. */
export interface SyncPassCounts {
  /** Due at this pass. */
  due: number;
  synced: number;
  failed: number;
  /** Stopped at a request boundary when the pass ended: still due. */
  stopped: number;
  /** Another replica held the source's lease. */
  leased: number;
  /** Due, but the pass ended before their turn: still due. */
  notReached: number;
  /** Not due at this pass. */
  notDue: number;
}

/** What one pass did. */
export interface SyncPassResult extends SyncPassCounts {
  sources: number;
  byMode: Record<SyncMode, SyncPassCounts>;
  /** Why the pass ended early, if it did. */
  stoppedBy?: 'signal' | 'deadline';
}

/** A timer the planner's deadline uses; returns its cancel. */
export type SetTimer = (fn: () => void, ms: number) => () => void;

const realTimer: SetTimer = (fn, ms) => {
  const handle = setTimeout(fn, ms);
  handle.unref?.();
  return () => clearTimeout(handle);
};

function emptyCounts(): SyncPassCounts {
  return {
    due: 0,
    synced: 0,
    failed: 0,
    stopped: 0,
    leased: 0,
    notReached: 0,
    notDue: 0,
  };
}

interface DueSource extends PlannedSource {
  host: string;
  mode: SyncMode;
  /**
   * The last attempt as this pass read it (null: never tried); the sync
   * goes ahead only if it still is. Undefined without a store: no check.
   */
  lastAttemptAt?: string | null;
  /**
   * How late it is, as a share of its mode's interval (a minute late is 1
   * for an active source polled each minute, 1/15 for a quiet one): when
   * more sources are due than a pass can sync, the active ones stay fresh
   * and the quiet ones wait a little longer. Never-synced sources first.
   */
  lateness: number;
}

/**
 * Plans and runs one pass of the scheduled sync: reads every source's state
 * in one query, picks the sources due at their cadence (see
 * {@link sourceCadence}), and syncs them with bounded concurrency, per host
 * and in total, serving hosts round-robin (a host with 9,000 due sources
 * does not starve one with 10) and, within a host, the latest for its
 * cadence first (a minute late is more for an active source, polled every
 * minute, than for a quiet one, polled every 15).
 * On abort of the pass's signal or at its deadline, no new sync starts and
 * those under way stop at their next provider request; the sources not
 * reached stay due and are the latest at the next pass.
 */
export class SyncPlanner {
  static create(options: {
    /** Source states; without it every source is due (tests, first pass). */
    store?: Pick<CiStore, 'getSyncStates'>;
    sync: {
      sync(
        source: CiSource,
        entityRef?: string,
        options?: SyncOptions,
      ): Promise<SyncResult>;
    };
    logger: LoggerService;
    cadence?: Partial<SyncCadence>;
    concurrency?: Partial<SyncConcurrency>;
    /** Hosts of providers whose sources name none, by provider id. */
    defaultHosts?: Record<string, string>;
    /**
     * A source is due when its next poll falls within this much after the
     * pass starts, so that a source polled late in one pass is not put off
     * to the one after. Default: half the pass's deadline, else 10 s.
     */
    dueSlackMs?: number;
    now?: () => number;
    setTimer?: SetTimer;
  }): SyncPlanner {
    return new SyncPlanner(options);
  }

  private readonly cadence: SyncCadence;
  private readonly concurrency: SyncConcurrency;

  private constructor(
    private readonly options: Parameters<typeof SyncPlanner.create>[0],
  ) {
    const defaults = readSyncPlannerConfig(undefined);
    this.cadence = { ...defaults.cadence, ...options.cadence };
    this.concurrency = { ...defaults.concurrency, ...options.concurrency };
  }

  now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** The cadence of a stored source at `now`, as the planner sees it. */
  cadenceOf(state: SourceSyncState | undefined, now = this.now()) {
    return sourceCadence(state, this.cadence, now);
  }

  /**
   * Every stored source as an operator sees it: its mode, last sync, lag,
   * error, whether webhooks feed it and when it is polled next (one query).
   */
  async operatorSources(): Promise<CiOperatorSource[]> {
    const { store } = this.options;
    if (!store) {
      return [];
    }
    const now = this.now();
    const states = await store.getSyncStates(undefined, {
      busyRuns: this.cadence.busyRuns,
    });
    return [...states.values()].map(state => {
      const { mode, nextPollAt } = this.cadenceOf(state, now);
      const fresh = [state.lastSyncedAt, state.lastDeliveryAt]
        .map(iso => (iso ? Date.parse(iso) : NaN))
        .filter(ms => !Number.isNaN(ms));
      return {
        provider: state.provider,
        source: state.source,
        host: this.hostOf(state),
        mode,
        ...(state.lastSyncedAt ? { lastSyncedAt: state.lastSyncedAt } : {}),
        ...(state.lastAttemptAt ? { lastAttemptAt: state.lastAttemptAt } : {}),
        ...(fresh.length > 0
          ? { lagMs: Math.max(0, now - Math.max(...fresh)) }
          : {}),
        ...(state.error
          ? { error: `${state.error.name}: ${state.error.message}` }
          : {}),
        webhookFed: mode === 'webhook',
        nextPollAt,
      };
    });
  }

  /** The host whose concurrency a source's syncs count against. */
  hostOf(source: Pick<CiSource, 'host' | 'provider'>): string {
    return (
      source.host ??
      this.options.defaultHosts?.[source.provider] ??
      DEFAULT_HOSTS[source.provider] ??
      source.provider
    ).toLowerCase();
  }

  /**
   * One pass over these sources. `deadlineAt` (epoch ms) ends it like an
   * abort of `signal` does.
   */
  async runPass(
    sources: PlannedSource[],
    options: { signal?: AbortSignal; deadlineAt?: number; label?: string } = {},
  ): Promise<SyncPassResult> {
    const startedAt = this.now();
    const result: SyncPassResult = {
      ...emptyCounts(),
      sources: sources.length,
      byMode: {
        active: emptyCounts(),
        quiet: emptyCounts(),
        webhook: emptyCounts(),
      },
    };
    const count = (mode: SyncMode, key: keyof SyncPassCounts) => {
      result[key] += 1;
      result.byMode[mode][key] += 1;
    };

    // The pass's own stop: the scheduler's signal, or the deadline.
    const stop = new AbortController();
    // Wakes the loop below when a sync ends or the pass is stopped.
    const waker = { woken: false, wake: () => {} };
    const notify = () => {
      waker.woken = true;
      waker.wake();
    };
    const nextEvent = async () => {
      if (!waker.woken) {
        await new Promise<void>(resolve => {
          waker.wake = resolve;
        });
      }
      waker.woken = false;
    };
    const onAbort = () => {
      result.stoppedBy ??= 'signal';
      stop.abort();
      notify();
    };
    if (options.signal?.aborted) {
      onAbort();
    } else {
      options.signal?.addEventListener('abort', onAbort, { once: true });
    }
    let cancelTimer = () => {};
    if (options.deadlineAt !== undefined && !stop.signal.aborted) {
      cancelTimer = (this.options.setTimer ?? realTimer)(() => {
        result.stoppedBy ??= 'deadline';
        stop.abort();
        notify();
      }, Math.max(0, options.deadlineAt - startedAt));
    }

    try {
      const states = this.options.store
        ? await this.options.store.getSyncStates(undefined, {
            busyRuns: this.cadence.busyRuns,
          })
        : new Map<string, SourceSyncState>();
      const slack =
        this.options.dueSlackMs ??
        (options.deadlineAt !== undefined
          ? Math.max(0, (options.deadlineAt - startedAt) / 2)
          : 10_000);
      const queues = new Map<string, DueSource[]>();
      for (const planned of sources) {
        const cadence = sourceCadence(
          states.get(planned.source.key),
          this.cadence,
          startedAt,
        );
        const nextPollAt = Date.parse(cadence.nextPollAt);
        if (!cadence.neverSynced && nextPollAt > startedAt + slack) {
          count(cadence.mode, 'notDue');
          continue;
        }
        count(cadence.mode, 'due');
        const host = this.hostOf(planned.source);
        const queue = queues.get(host) ?? [];
        queue.push({
          ...planned,
          host,
          mode: cadence.mode,
          lastAttemptAt: this.options.store
            ? states.get(planned.source.key)?.lastAttemptAt ?? null
            : undefined,
          lateness: cadence.neverSynced
            ? Infinity
            : (startedAt - nextPollAt) / this.intervalOf(cadence.mode),
        });
        queues.set(host, queue);
      }
      for (const queue of queues.values()) {
        queue.sort(
          (a, b) =>
            b.lateness - a.lateness || a.source.key.localeCompare(b.source.key),
        );
      }

      const hosts = [...queues.keys()].sort();
      const running = new Map<string, number>();
      let inFlight = 0;
      let cursor = 0;
      const pending = new Set<Promise<void>>();
      // Round-robin: the next host after the last one served that has a
      // source waiting and a free slot.
      const nextHost = () => {
        for (let k = 0; k < hosts.length; k++) {
          const host = hosts[(cursor + k) % hosts.length];
          if (
            queues.get(host)!.length > 0 &&
            (running.get(host) ?? 0) < this.concurrency.perHost
          ) {
            cursor = (cursor + k + 1) % hosts.length;
            return host;
          }
        }
        return undefined;
      };
      const start = (item: DueSource) => {
        running.set(item.host, (running.get(item.host) ?? 0) + 1);
        inFlight += 1;
        const done = this.syncOne(item, stop.signal)
          .then(outcome => count(item.mode, outcome))
          .finally(() => {
            running.set(item.host, running.get(item.host)! - 1);
            inFlight -= 1;
            pending.delete(done);
            notify();
          });
        pending.add(done);
      };
      for (;;) {
        while (!stop.signal.aborted && inFlight < this.concurrency.total) {
          const host = nextHost();
          if (!host) {
            break;
          }
          start(queues.get(host)!.shift()!);
        }
        if (inFlight === 0) {
          break; // nothing left to start, or stopped with nothing running
        }
        await nextEvent();
      }
      await Promise.all(pending);
      for (const queue of queues.values()) {
        for (const item of queue) {
          count(item.mode, 'notReached');
        }
      }
    } finally {
      cancelTimer();
      options.signal?.removeEventListener('abort', onAbort);
    }
    this.options.logger.info(
      `${options.label ?? 'Sync pass'}: ${describePass(result)} in ${
        this.now() - startedAt
      }ms`,
    );
    return result;
  }

  private intervalOf(mode: SyncMode): number {
    const interval = {
      active: this.cadence.active,
      quiet: this.cadence.quiet,
      webhook: this.cadence.webhookFed,
    }[mode];
    return Math.max(1, interval);
  }

  private async syncOne(
    item: DueSource,
    signal: AbortSignal,
  ): Promise<'synced' | 'failed' | 'stopped' | 'leased'> {
    try {
      const r = await this.options.sync.sync(item.source, item.entityRef, {
        signal,
        ifLastAttemptAt: item.lastAttemptAt,
      });
      if (r.error) {
        return 'failed';
      }
      if (r.stopped) {
        return 'stopped';
      }
      return r.skipped ? 'leased' : 'synced';
    } catch (e) {
      this.options.logger.warn(
        `Sync of ${item.source.source} failed: ${(e as Error).message}`,
      );
      return 'failed';
    }
  }
}

/** One line: what a pass did, by mode. */
export function describePass(result: SyncPassResult): string {
  const part = (label: string, key: keyof SyncPassCounts) => {
    const modes = MODES.filter(m => result.byMode[m][key] > 0).map(
      m => `${m} ${result.byMode[m][key]}`,
    );
    return `${label} ${result[key]}${
      modes.length > 0 ? ` (${modes.join(', ')})` : ''
    }`;
  };
  const parts = [
    `${result.sources} sources`,
    part('due', 'due'),
    part('synced', 'synced'),
    part('failed', 'failed'),
    part('stopped', 'stopped'),
    part('not reached', 'notReached'),
    part('held by another replica', 'leased'),
    part('skipped not due', 'notDue'),
  ];
  if (result.stoppedBy) {
    parts.push(
      `ended early by ${
        result.stoppedBy === 'signal' ? 'abort' : 'its deadline'
      }`,
    );
  }
  return parts.join('; ');
}
