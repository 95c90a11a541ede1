import { LoggerService } from '@backstage/backend-plugin-api';
import { EventParams } from '@backstage/plugin-events-node';
import { CiStore, DeliveryWrite, StoredSource } from '../../database/CiStore';
import {
  CiDeliveryParser,
  CiDeliveryRefusal,
  CiParsedDelivery,
  CiSourceLookup,
  headerOf,
  OutOfRangeDateError,
} from '@ci-experience/plugin-ci-experience-node';
import { CiMetrics } from '../../service/metrics';
import { clampDelivery } from '../../service/clampRun';

/** Finds the claimed source for a key; undefined when no entity claims it. */
export type SourceLookup = CiSourceLookup;
/** Why a delivery is not applied. */
export type DeliveryRefusal = CiDeliveryRefusal;
/** What a provider's parser makes of one delivery. */
export type ParsedDelivery = CiParsedDelivery;
/** Turns one delivery into a write. */
export type DeliveryParser = CiDeliveryParser;

/** What became of one delivery. */
export type DeliveryOutcome =
  | 'accepted'
  | 'duplicate'
  | 'unclaimed'
  | 'rejected';

/** What became of one delivery, and why when it was refused. */
export interface DeliveryResult {
  outcome: DeliveryOutcome;
  reason?: DeliveryRefusal | 'store-failure';
  /** Why it was refused, for the sender (never a secret). */
  message?: string;
}

/** Deliveries written in one transaction at most. */
const MAX_BATCH = 200;
/**
 * Batches written at the same time: one. Measured with two (bench/run.cjs,
 * benchmark 2): batches of 5 instead of 9, each 25 ms instead of 16, and
 * deadlocks between them; deliveries for one run land in both.
 */
const MAX_WRITERS = 1;

export interface DeliveryIngestorOptions {
  /** The provider id, for logs and metrics (`github-actions`, `gitlab`…). */
  provider: string;
  /** The provider's name in log lines (`GitHub`, `GitLab`…). */
  label: string;
  parse: DeliveryParser;
  store: CiStore;
  logger: LoggerService;
  metrics?: CiMetrics;
  now?: () => number;
  /** How long a found source is remembered. Default 30 s. */
  sourceTtlMs?: number;
  /**
   * Asked when no entity is known to claim a source (it may be annotated
   * but not synced yet): reads the catalog and records the claims it finds,
   * so that a delivery that beats the first sync is stored.
   */
  resolveUnclaimed?: (sourceKey: string) => Promise<void>;
  /** Told when a delivery changed a source's runs. */
  onSourceChanged?: (sourceKey: string) => void;
  /** The event kind for logs and metrics; default: the topic after its first dot. */
  kindOf?: (event: EventParams) => string | undefined;
}

/**
 * Applies one provider's webhook deliveries to the store, the same way for
 * every provider: each delivery once (by its delivery id), never moving a
 * run or job back to an older state (the store's writes are monotonic), so
 * redeliveries, duplicates and out-of-order deliveries are harmless.
 * Deliveries for sources no entity claims are dropped (a source lookup is
 * remembered briefly, so a burst costs one query); malformed ones are logged
 * with their delivery id and dropped; a store failure is logged as an error
 * and never thrown back at the sender. Writes are group-committed: under a
 * burst, deliveries go to the database in batches of one transaction.
 */
export class DeliveryIngestor {
  private readonly pending: Array<{
    write: DeliveryWrite;
    resolve: (outcome: 'applied' | 'duplicate') => void;
    reject: (error: unknown) => void;
  }> = [];
  /** Batches being written now, each in its own transaction. */
  private writers = 0;
  /** Sources to stamp as webhook-fed, and the stamp under way. */
  private readonly stampKeys = new Set<string>();
  private stamping: Promise<void> | undefined;
  /** Deliveries being handled: parsed, looked up, or waiting to be written. */
  private inFlight = 0;
  private settled: Array<() => void> = [];
  private readonly sources = new Map<
    string,
    { at: number; source: Promise<StoredSource | undefined> }
  >();

  constructor(private readonly options: DeliveryIngestorOptions) {}

  private now() {
    return this.options.now?.() ?? Date.now();
  }

  /**
   * In-flight lookups are shared too: a burst's first deliveries wait on one
   * query. Only a found source is remembered: a miss is asked of the store
   * again each time (a sync on any replica may have claimed the source since),
   * then of the catalog through `resolveUnclaimed`.
   */
  private readonly lookup: SourceLookup = key => {
    const now = this.now();
    const hit = this.sources.get(key);
    if (hit && now - hit.at < (this.options.sourceTtlMs ?? 30_000)) {
      return hit.source;
    }
    if (this.sources.size > 10_000) {
      this.sources.clear();
    }
    const source = this.findClaimed(key);
    this.sources.set(key, { at: now, source });
    const forget = () => {
      if (this.sources.get(key)?.source === source) {
        this.sources.delete(key);
      }
    };
    // A miss or a failed lookup is not remembered.
    source.then(found => (found ? undefined : forget()), forget);
    return source;
  };

  /**
   * Only a source some entity claims (as the source policy allowed it); a
   * delivery for any other is refused as unclaimed.
   */
  private async findClaimed(key: string): Promise<StoredSource | undefined> {
    const { store, resolveUnclaimed, logger, label } = this.options;
    const claimed = await store.getClaimedSource(key);
    if (claimed || !resolveUnclaimed) {
      return claimed;
    }
    try {
      await resolveUnclaimed(key);
    } catch (error) {
      logger.warn(
        `Could not ask the catalog who claims ${label} source ${key}: ${error}`,
      );
      return undefined;
    }
    return await store.getClaimedSource(key);
  }

  /**
   * Group commit: deliveries that arrive while the writers are busy go to
   * the database together, in one transaction, when one of them is free. One
   * at a time under light load; in batches, and many times faster, under a
   * burst.
   */
  private enqueue(write: DeliveryWrite): Promise<'applied' | 'duplicate'> {
    return new Promise((resolve, reject) => {
      this.pending.push({ write, resolve, reject });
      this.pump();
    });
  }

  private pump() {
    while (this.writers < MAX_WRITERS && this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      this.writers += 1;
      void this.flush(batch).finally(() => {
        this.writers -= 1;
        this.pump();
      });
    }
  }

  /**
   * For a graceful shutdown: resolves once every delivery taken so far is
   * written (each batch commits or rolls back whole, and a rolled-back one is
   * written again one by one). Deliveries that arrive meanwhile are written
   * too: the events service stops handing them over before the database
   * closes.
   */
  async drain(): Promise<void> {
    while (this.inFlight > 0 || this.stamping) {
      if (this.inFlight > 0) {
        await new Promise<void>(resolve => this.settled.push(resolve));
      } else {
        await this.stamping;
      }
    }
  }

  private async flush(batch: typeof this.pending) {
    try {
      const results = await this.options.store.applyDeliveries(
        batch.map(b => b.write),
      );
      batch.forEach((b, i) => b.resolve(results[i]));
      this.stamp(batch.filter((_, i) => results[i] === 'applied'));
    } catch (error) {
      if (batch.length === 1) {
        batch[0].reject(error);
        return;
      }
      // One bad delivery must not cost the others: write them one by one.
      for (const b of batch) {
        try {
          const [result] = await this.options.store.applyDeliveries([b.write]);
          b.resolve(result);
          if (result === 'applied') {
            this.stamp([b]);
          }
        } catch (single) {
          b.reject(single);
        }
      }
    }
  }

  /**
   * Records on the sources that deliveries fed that they are webhook-fed
   * (for the sync planner), after the deliveries' commit and outside their
   * transaction: one write at a time, taking every source stamped while the
   * last one ran. A stamp lost (the database failing, the process dying) only
   * means the source is polled at its usual cadence.
   */
  private stamp(applied: Array<{ write: DeliveryWrite }>) {
    for (const { write } of applied) {
      if (write.sourceKey) {
        this.stampKeys.add(write.sourceKey);
      }
      write.runs?.forEach(r => this.stampKeys.add(r.sourceKey));
    }
    if (this.stamping || this.stampKeys.size === 0) {
      return;
    }
    const keys = [...this.stampKeys];
    this.stampKeys.clear();
    const at = new Date(this.now()).toISOString();
    this.stamping = Promise.resolve()
      .then(() => this.options.store.stampDeliveries(keys, at))
      .catch(error =>
        this.options.logger.warn(
          `Could not record webhook deliveries on ${keys.length} ${this.options.label} sources: ${error}; they are polled at their usual cadence`,
        ),
      )
      .finally(() => {
        this.stamping = undefined;
        this.stamp([]);
      });
  }

  /**
   * The provider's parse, with the times it brings canonical and clamped: a
   * time that does not parse or lies outside 1970–9999 makes the delivery
   * malformed; one in the future is brought back to now, with a warning.
   */
  private async parse(event: EventParams): Promise<ParsedDelivery> {
    const { label, logger } = this.options;
    try {
      const result = await this.options.parse(event, this.lookup);
      if (!result.ok) {
        return result;
      }
      const clamped = clampDelivery(result.write, this.now());
      if (clamped.changes.length > 0) {
        logger.warn(
          `Clamped times of ${label} delivery ${
            result.deliveryId
          }: ${clamped.changes.join('; ')}`,
        );
      }
      return { ...result, write: clamped.write };
    } catch (error) {
      if (error instanceof OutOfRangeDateError) {
        return {
          ok: false,
          reason: 'malformed',
          message: error.message,
        };
      }
      throw error;
    }
  }

  /** Applies one delivery; never throws. */
  async handle(event: EventParams): Promise<DeliveryOutcome> {
    return (await this.handleDelivery(event)).outcome;
  }

  /**
   * Applies one delivery and says why one was refused, for an HTTP ingress
   * that answers the sender: a refusal's reason, or `store-failure` when the
   * database could not take it (the sender should deliver it again).
   */
  async handleDelivery(event: EventParams): Promise<DeliveryResult> {
    this.inFlight += 1;
    try {
      return await this.apply(event);
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) {
        this.settled.splice(0).forEach(resolve => resolve());
      }
    }
  }

  private async apply(event: EventParams): Promise<DeliveryResult> {
    const { provider, label, logger } = this.options;
    const kind = (this.options.kindOf?.(event) ?? eventKind(event)).slice(
      0,
      64,
    );
    let deliveryId: string | undefined;
    let outcome: DeliveryOutcome;
    let reason: DeliveryRefusal | 'store-failure' | undefined;
    let message: string | undefined;
    try {
      const result = await this.parse(event);
      deliveryId = result.deliveryId;
      if (!result.ok) {
        reason = result.reason;
        message = result.message;
        if (result.reason === 'unclaimed') {
          logger.info(
            `Refused ${label} ${kind} delivery ${
              result.deliveryId ?? '(no id)'
            }: ${result.message}`,
          );
          outcome = 'unclaimed';
        } else if (result.reason === 'unsupported') {
          // Events the provider sends that runs are not made of (pings…).
          logger.debug(result.message);
          outcome = 'rejected';
        } else {
          logger.warn(`Dropped ${label} delivery: ${result.message}`);
          outcome = 'rejected';
        }
      } else if (
        (await this.enqueue({
          ...result.write,
          sourceKey: result.sourceKey,
        })) === 'applied'
      ) {
        this.options.onSourceChanged?.(result.sourceKey);
        if (result.changedAt) {
          this.options.metrics?.syncLag.record(
            Math.max(0, this.now() - Date.parse(result.changedAt)),
            { provider, source: result.source ?? result.sourceKey },
          );
        }
        logger.debug(
          `Applied ${label} ${kind} delivery ${result.deliveryId} to ${result.sourceKey}`,
        );
        outcome = 'accepted';
      } else {
        logger.debug(
          `Ignored ${label} ${kind} delivery ${result.deliveryId}: already applied`,
        );
        outcome = 'duplicate';
      }
    } catch (error) {
      // A store failure is not the sender's fault: log it loudly; the
      // provider's redelivery or the next poll brings the state again.
      logger.error(
        `Could not apply ${label} ${kind} delivery ${
          deliveryId ?? '(no id)'
        }: ${error}`,
      );
      outcome = 'rejected';
      reason = 'store-failure';
    }
    this.options.metrics?.deliveries.add(1, {
      provider,
      event: kind,
      outcome,
      ...(reason ? { reason } : {}),
    });
    return {
      outcome,
      ...(reason ? { reason } : {}),
      ...(message ? { message } : {}),
    };
  }
}

/** The event's kind for logs and metrics: the topic after its provider. */
function eventKind(event: EventParams): string {
  const dot = event.topic.indexOf('.');
  return (dot >= 0 ? event.topic.slice(dot + 1) : event.topic).slice(0, 64);
}

export { headerOf };
