import { http, HttpHandler } from 'msw';
import { SimulatedHistory } from './history';

/**
 * A fault a simulated provider answers with instead of the real answer:
 * the next `times` requests (all, until cleared, without it).
 */
export interface SimFault {
  status: number;
  message: string;
  /** How many requests get it; unset means until cleared. */
  times?: number;
  /** Extra response headers, e.g. `retry-after`. */
  headers?: Record<string, string>;
}

/**
 * What the five provider simulators share: the history they serve, a
 * fault a test sets, per-key rate windows, the request stats a test
 * resets, and their msw handlers. Each subclass answers in its provider's
 * own shapes.
 */
export abstract class SimulatedProvider<F extends SimFault = SimFault> {
  /** The runs it serves. */
  readonly history: SimulatedHistory;
  private fault?: F;
  private readonly windows = new Map<
    string,
    { used: number; resetAt: number }
  >();

  protected constructor(history: SimulatedHistory) {
    this.history = history;
  }

  /** Makes the next requests fail, or clears the fault with undefined. */
  setFault(fault: F | undefined) {
    this.fault = fault ? { ...fault } : undefined;
  }

  /** The requests it answered, for tests to look at; emptied here. */
  abstract resetStats(): void;

  /** Its API, as msw request handlers. */
  abstract handlers(): HttpHandler[];

  /** A fault is set: the chaos of slow or failed answers stays off. */
  protected get faulty(): boolean {
    return this.fault !== undefined;
  }

  /** The fault to answer this request with, counted down; none when unset. */
  protected takeFault(): F | undefined {
    const fault = this.fault;
    if (fault && fault.times !== undefined && --fault.times <= 0) {
      this.fault = undefined;
    }
    return fault;
  }

  /** The request count of a key's rate window, a new one every `windowMs`. */
  protected rate(key: string, windowMs: number) {
    const now = Date.now();
    let entry = this.windows.get(key);
    if (!entry || entry.resetAt <= now) {
      entry = { used: 0, resetAt: now + windowMs };
      this.windows.set(key, entry);
    }
    return entry;
  }

  /**
   * A handler, placed first, that answers every request under `baseUrl`
   * with the fault while one is set (in the provider's error shape), and
   * otherwise lets the request through to the real handlers.
   */
  protected faultHandler(
    baseUrl: string,
    respond: (fault: F) => Response,
  ): HttpHandler {
    return http.all(`${baseUrl}/*`, () => {
      const fault = this.takeFault();
      return fault ? respond(fault) : undefined;
    });
  }
}
