import { randomUUID } from 'node:crypto';

/**
 * The part of Backstage's `CacheService` a shared budget uses: plain reads
 * and writes, no atomic increment, no set-if-absent.
 *
 * @public
 */
export interface BudgetStore {
  /** Reads a value. */
  get(key: string): Promise<unknown>;
  /** Writes a value that lapses after `ttl` milliseconds. */
  set(key: string, value: string, options: { ttl: number }): Promise<void>;
}

/**
 * A chunk of the window's budget, claimed by one replica alone.
 *
 * @public
 */
export interface ClaimedChunk {
  /** Start of the window, epoch ms. */
  window: number;
  /** The index of the chunk in its window. */
  index: number;
}

/**
 * Length of a budget window: GitHub's limits are per hour.
 *
 * @public
 */
export const BUDGET_WINDOW_MS = 3600_000;

/**
 * One host's hourly request budget, shared by every replica through the
 * cache service (Redis in production), without atomic operations.
 *
 * The window's budget is cut into chunks (`chunkSize` requests each, about
 * 2 % of the budget), numbered 0, 1, 2, …; a replica spends requests only
 * from chunks it has claimed, so the chunks claimed in a window never sum
 * above the budget as long as no chunk is claimed twice. A chunk is claimed
 * with a *splitter* (Lamport's fast-mutex entry, as used by Moir and
 * Anderson), which needs nothing but reads and writes of two keys per chunk:
 *
 * ```
 * set(X, me)               // a fresh id per attempt
 * if get(Y) is set: lost   // someone got here first
 * set(Y, 1)
 * if get(X) == me: won     // else lost: someone wrote X after us
 * ```
 *
 * At most one attempt wins a chunk: if two won, take the one whose write of
 * X came last (q); the other (p) read X back before q's write, after p's own
 * write of Y, so q's read of Y came after that write and q lost. This holds
 * for any store whose reads and writes are linearizable, as a single Redis
 * (or the memory store of one backend) is. A loser moves on to the next
 * chunk; under contention a chunk may be won by nobody, which strands it
 * (spends less, never more). Keys carry the window's start and expire after
 * the window, so nothing needs cleaning up.
 *
 * A list of members with a reservation key per replica (write your
 * reservation, then read the others') is safe only if every replica is in
 * the list; with get/set alone, two replicas joining at once can overwrite
 * each other's entry, after which neither sees the other's reservation. The
 * splitter has no list to lose.
 *
 * @public
 */
export class SharedBudget {
  private readonly now: () => number;
  private readonly windowMs: number;
  private window = -1;
  private nextIndex = 0;

  constructor(
    private readonly options: {
      store: BudgetStore;
      /** Names the budget, e.g. `github-actions:github.com`. */
      key: string;
      /** This replica, in the values it writes (a fresh suffix per attempt). */
      replicaId: string;
      now?: () => number;
      windowMs?: number;
    },
  ) {
    this.now = options.now ?? Date.now;
    this.windowMs = options.windowMs ?? BUDGET_WINDOW_MS;
  }

  /** Start of the current window, the same on every replica. */
  windowStart(at = this.now()): number {
    return Math.floor(at / this.windowMs) * this.windowMs;
  }

  /**
   * Chunks of this window that some replica has claimed or tried (all below
   * the next one this replica would try): the window-wide use, rounded up to
   * chunks, as far as this replica has seen.
   */
  chunksSeen(): number {
    return this.window === this.windowStart() ? this.nextIndex : 0;
  }

  /**
   * Claims the next free chunk of `chunks` in this window; undefined when
   * every chunk is taken. Throws when the store fails.
   */
  async claim(chunks: number): Promise<ClaimedChunk | undefined> {
    const window = this.windowStart();
    if (window !== this.window) {
      this.window = window;
      this.nextIndex = 0;
    }
    const { store, key } = this.options;
    while (this.nextIndex < chunks) {
      const index = this.nextIndex;
      this.nextIndex += 1;
      // Past the window's end, so that a slow replica never finds it gone.
      const ttl = window + this.windowMs - this.now() + this.windowMs;
      const base = `budget:${key}:${window}:${index}`;
      const me = `${this.options.replicaId}:${randomUUID()}`;
      await store.set(`${base}:x`, me, { ttl });
      if (await store.get(`${base}:y`)) {
        continue;
      }
      await store.set(`${base}:y`, '1', { ttl });
      if ((await store.get(`${base}:x`)) === me) {
        return { window, index };
      }
    }
    return undefined;
  }
}
