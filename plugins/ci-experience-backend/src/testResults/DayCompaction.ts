import { LoggerService } from '@backstage/backend-plugin-api';
import { TestResultsStore } from './TestResultsStore';

/** Days compacted per pass; the next pass goes on. */
const PER_PASS = 200;

/**
 * Keeps the per-day test counts up to date: every `intervalMs` (30 s by
 * default), and after a sync pass, it compacts the days whose results
 * changed (`TestResultsStore.compactDays`) and were first marked at least
 * `settleMs` ago (2 minutes by default: a day receiving runs all day long
 * is compacted every few minutes, not on every run). Views are exact in
 * between (they read those days' results), only slower. Replicas may run
 * it side by side: a day being compacted by one is skipped by the others.
 */
export class DayCompaction {
  private timer?: ReturnType<typeof setInterval>;
  private running?: Promise<number>;

  constructor(
    private readonly options: {
      store: Pick<TestResultsStore, 'compactDays'>;
      logger: LoggerService;
      intervalMs?: number;
      settleMs?: number;
      now?: () => number;
    },
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(
      () => void this.run(),
      this.options.intervalMs ?? 30_000,
    );
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Compacts every day marked now (one pass at a time); answers how many. */
  run(): Promise<number> {
    if (!this.running) {
      this.running = this.compactAll().finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  private async compactAll(): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        const now = this.options.now?.() ?? Date.now();
        const n = await this.options.store.compactDays({
          limit: PER_PASS,
          markedBefore: new Date(
            now - (this.options.settleMs ?? 120_000),
          ).toISOString(),
        });
        total += n;
        if (n < PER_PASS) break;
      }
    } catch (error) {
      this.options.logger.warn(
        `Could not compact the per-day test counts (views read the results meanwhile): ${error}`,
      );
    }
    return total;
  }
}
