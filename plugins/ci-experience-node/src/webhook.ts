import {
  EventParams,
  RequestDetails,
  RequestValidator,
} from '@backstage/plugin-events-node';
import { CiJob, CiRun } from '@ci-experience/plugin-ci-experience-common';

/**
 * A run as the backend stores it: the model plus what a sync compares.
 *
 * @public
 */
export interface CiStoredRun extends CiRun {
  /** The key of the source the run belongs to (`CiSource.key`). */
  sourceKey: string;
  /** The provider's id of the run; attempts of one run share it. */
  providerRunId: string;
  /** When the provider last changed the run (ISO 8601). */
  providerUpdatedAt?: string;
  /**
   * A sync read the run's complete job list. False for a run a webhook
   * delivery brought (or finished) before any sync read its jobs: webhooks
   * bring jobs one by one, some providers' without steps. A parser that
   * delivers a run's complete job list with steps sets it.
   */
  jobsRead?: boolean;
}

/**
 * What one webhook delivery writes: runs and jobs, applied once by the
 * delivery id and never moving a run or job back to an earlier state.
 *
 * @public
 */
export interface CiDeliveryWrite {
  /** The provider's id of the delivery; a delivery applied before is a duplicate. */
  deliveryId: string;
  /** The event kind, for logs. */
  event: string;
  /**
   * The source the delivery is about, as its parser resolved it: stamped
   * with the delivery's time for the sync planner. Without it, only the
   * sources of the delivery's runs are stamped.
   */
  sourceKey?: string;
  /** Runs to write. */
  runs?: CiStoredRun[];
  /** Jobs to write, each with the id of its run (`runIdOf`). */
  jobs?: Array<{ runId: string; job: CiJob }>;
}

/**
 * Finds the claimed source for a key; undefined when no entity claims it.
 *
 * @public
 */
export type CiSourceLookup = (
  sourceKey: string,
) => Promise<{ source: string } | undefined>;

/**
 * Why a delivery is not applied.
 *
 * @public
 */
export type CiDeliveryRefusal =
  | 'no-delivery-id'
  | 'unsupported'
  | 'malformed'
  | 'unclaimed';

/**
 * What a provider's parser makes of one delivery: the write that applies it
 * (and when the provider says the change happened, for the lag metric), or
 * why it is refused.
 *
 * @public
 */
export type CiParsedDelivery =
  | {
      ok: true;
      deliveryId: string;
      sourceKey: string;
      write: CiDeliveryWrite;
      /** When the change happened at the provider, ISO 8601. */
      changedAt?: string;
      /** The entity-facing source name, for the lag metric. */
      source?: string;
    }
  | {
      ok: false;
      reason: CiDeliveryRefusal;
      deliveryId?: string;
      /** The source the delivery is about, when it got that far. */
      sourceKey?: string;
      message: string;
    };

/**
 * Turns one delivery, as the events backend hands it over (topic, payload,
 * request headers as metadata), into a write. Pure but for `lookup`.
 *
 * @public
 */
export type CiDeliveryParser = (
  event: EventParams,
  lookup: CiSourceLookup,
) => Promise<CiParsedDelivery>;

/**
 * The webhook part of a provider: where its deliveries arrive and how they
 * become runs. The backend applies them the same way for every provider
 * (each once, group-committed, unclaimed sources dropped), from the events
 * service's `topics` and from `POST /api/ci-experience/webhooks/<subscriber>`.
 *
 * @public
 */
export interface CiProviderWebhook {
  /**
   * The name of the delivery path (`/api/ci-experience/webhooks/<subscriber>`)
   * and of the events subscription (`ci-experience-<subscriber>`).
   */
  subscriber: string;
  /** The provider's name in log lines, e.g. `GitHub`. */
  label: string;
  /** The events service topics the deliveries are published under. */
  topics: string[];
  /** Makes a write of one delivery. */
  parse: CiDeliveryParser;
  /**
   * The topic a delivery posted straight to the plugin is parsed under;
   * default the first of `topics`.
   */
  topicOf?(headers: RequestDetails['headers'], body: unknown): string;
  /** The event kind for logs and metrics; default the topic after its first dot. */
  kindOf?(event: EventParams): string | undefined;
  /**
   * Checks a delivery's signature or token. Without one, deliveries posted
   * to the plugin are refused (401); the events service's own ingress checks
   * those it publishes.
   */
  validator?: RequestValidator;
}

/**
 * A request header from an event's metadata, first value when repeated.
 *
 * @public
 */
export function headerOf(event: EventParams, name: string): string | undefined {
  const raw = event.metadata?.[name];
  const value: unknown = Array.isArray(raw) ? raw[0] : raw;
  return typeof value === 'string' ? value : undefined;
}
