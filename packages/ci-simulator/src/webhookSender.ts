/** One webhook request: the exact body and the headers that go with it. */
export interface WebhookDelivery {
  headers: Record<string, string>;
  body: string;
}

/** What a sender watches: anything with a state to compare between looks. */
export interface Watched {
  /** Compared with the previous look's; a change asks for deliveries. */
  state: string;
}

/** What every sender takes besides what it watches. */
export interface WebhookTargetOptions {
  /** Where deliveries are POSTed, e.g. the portal's `/api/events/http/github`. */
  targetUrl: string;
  /** Time between two looks; default 2 s. */
  intervalMs?: number;
  /** How long one delivery may take before it counts as failed; default 10 s. */
  timeoutMs?: number;
  /**
   * A failure reason already logged is not logged again within this time,
   * so an unreachable portal does not fill the log; default 60 s.
   */
  quietMs?: number;
  log?: (line: string) => void;
  fetchImpl?: typeof fetch;
}

export interface PollingWebhookSenderOptions<T extends Watched>
  extends WebhookTargetOptions {
  /** Names the sender in log lines, e.g. `gitlab webhooks`. */
  name: string;
  /**
   * Everything watched now, by a stable key; iteration order is delivery
   * order. Gets what the last look saw (undefined on the first look).
   */
  snapshot(previous: ReadonlyMap<string, T> | undefined): Map<string, T>;
  /**
   * The deliveries for one item whose state changed since the last look
   * (`previous` undefined: it is new since then).
   */
  deliveriesFor(previous: T | undefined, next: T): WebhookDelivery[];
}

/** What one look sent and failed to send. */
export interface TickResult {
  sent: number;
  failed: number;
}

/**
 * The part all simulated webhooks share: on a timer (chained timeouts that
 * never overlap and never keep the process alive) it takes a snapshot of
 * what it watches, compares each item's state with the previous snapshot's
 * and POSTs the deliveries the changes call for. The first look is a silent
 * baseline: no provider replays history. A failed delivery (refused, non-2xx,
 * timed out) is counted and logged, never retried and never thrown: the
 * portal's polling catches up with what it missed.
 */
export class PollingWebhookSender<T extends Watched> {
  private readonly options: PollingWebhookSenderOptions<T>;
  private readonly fetchImpl: typeof fetch;
  private seen?: Map<string, T>;
  private timer?: ReturnType<typeof setTimeout>;
  private lastLogged?: { reason: string; at: number; suppressed: number };

  constructor(options: PollingWebhookSenderOptions<T>) {
    this.options = options;
    this.fetchImpl = options.fetchImpl ?? ((...args) => fetch(...args));
  }

  get targetUrl(): string {
    return this.options.targetUrl;
  }

  start() {
    if (this.timer) {
      return;
    }
    // Chained timeouts, so a slow receiver never makes ticks overlap.
    const loop = () => {
      this.timer = setTimeout(() => {
        this.tick().finally(() => this.timer && loop());
      }, this.options.intervalMs ?? 2000);
      // The simulator's HTTP server keeps the process alive, not this.
      this.timer.unref?.();
    };
    loop();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Looks once and delivers what changed since last time; never throws. */
  async tick(): Promise<TickResult> {
    let deliveries: WebhookDelivery[];
    try {
      deliveries = this.changes();
    } catch (error: any) {
      this.report(`could not look at the history: ${error?.message ?? error}`);
      return { sent: 0, failed: 0 };
    }
    let sent = 0;
    const errors: string[] = [];
    for (const delivery of deliveries) {
      const error = await this.deliver(delivery);
      if (error) {
        errors.push(error);
      } else {
        sent += 1;
      }
    }
    if (errors.length > 0) {
      // No provider redelivers a failed delivery at once, and neither does
      // the simulator; the portal's polling catches up with the changes.
      this.report(
        `${errors.length} of ${deliveries.length} deliveries to ${this.options.targetUrl} failed (${errors[0]}); not redelivered, polling catches up`,
        errors[0],
      );
    }
    return { sent, failed: errors.length };
  }

  private changes(): WebhookDelivery[] {
    const previous = this.seen;
    const current = this.options.snapshot(previous);
    this.seen = current;
    if (!previous) {
      return [];
    }
    const out: WebhookDelivery[] = [];
    for (const [key, next] of current) {
      const before = previous.get(key);
      if (!before || before.state !== next.state) {
        out.push(...this.options.deliveriesFor(before, next));
      }
    }
    return out;
  }

  /** Logs a line, unless the same reason was logged within `quietMs`. */
  private report(line: string, reason = line) {
    const now = Date.now();
    const last = this.lastLogged;
    if (
      last &&
      last.reason === reason &&
      now - last.at < (this.options.quietMs ?? 60_000)
    ) {
      last.suppressed += 1;
      return;
    }
    const repeats =
      last && last.suppressed > 0
        ? ` (${last.suppressed} similar failures not logged)`
        : '';
    this.lastLogged = { reason, at: now, suppressed: 0 };
    this.options.log?.(`${this.options.name}: ${line}${repeats}`);
  }

  /** POSTs one delivery; answers why it failed, or undefined. */
  private async deliver(
    delivery: WebhookDelivery,
  ): Promise<string | undefined> {
    try {
      const res = await this.fetchImpl(this.options.targetUrl, {
        method: 'POST',
        headers: delivery.headers,
        body: delivery.body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      // Drain the answer so the connection is reused.
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? undefined : `HTTP ${res.status}`;
    } catch (error: any) {
      return error?.cause?.code ?? error?.message ?? String(error);
    }
  }
}
