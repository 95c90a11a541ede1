import { LifecycleService } from '@backstage/backend-plugin-api';
/** The documented defaults: work follows 2 s after the last write, 10 s at most. */
export const DEFAULT_SETTLE_MS = 2_000;
export const DEFAULT_MAX_WAIT_MS = 10_000;

/**
 * What a write to a source's runs sets off. At once: what must never be
 * stale (the listings kept for viewers). Once the writes settle: the work
 * that reads what they wrote (failure triage, insights aggregation, alert
 * evaluation), `settleMs` after the last write, and every `maxWaitMs` at
 * least while writes keep coming.
 *
 * Each of those passes claims what is pending and reads it in batches, so
 * one pass after a burst of 5,000 webhook deliveries does the work of the
 * five passes a fixed 2-second timer ran during it, for less, and without
 * holding the database while the deliveries are being written.
 */
export class ChangeFanOut {
  private pending = new Set<string>();
  private firstAt: number | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  static create(options: {
    /** Told of every changed source at once. */
    now?: (sourceKey: string) => void;
    /** Told of the sources changed since its last call, once writes settle. */
    settled: (sourceKeys: Set<string>) => void;
    settleMs?: number;
    maxWaitMs?: number;
    clock?: () => number;
    /** When given, the fan-out stops at shutdown. */
    lifecycle?: LifecycleService;
  }): ChangeFanOut {
    const fanOut = new ChangeFanOut(options);
    options.lifecycle?.addShutdownHook(() => fanOut.stop());
    return fanOut;
  }

  private constructor(
    private readonly options: Parameters<typeof ChangeFanOut.create>[0],
  ) {}

  private time() {
    return this.options.clock?.() ?? Date.now();
  }

  /** A write changed this source's runs or jobs. */
  changed(sourceKey: string): void {
    this.options.now?.(sourceKey);
    if (this.stopped) {
      return;
    }
    this.pending.add(sourceKey);
    const now = this.time();
    this.firstAt ??= now;
    const settle = this.options.settleMs ?? DEFAULT_SETTLE_MS;
    const latest =
      this.firstAt + (this.options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS);
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => this.fire(),
      Math.max(0, Math.min(settle, latest - now)),
    );
    this.timer.unref?.();
  }

  private fire() {
    this.timer = undefined;
    this.firstAt = undefined;
    const keys = this.pending;
    this.pending = new Set();
    if (keys.size > 0) {
      this.options.settled(keys);
    }
  }

  /** For shutdown: nothing more is set off (what is pending stays pending in the store). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
