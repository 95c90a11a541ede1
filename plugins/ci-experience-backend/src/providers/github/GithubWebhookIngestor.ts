import { LoggerService } from '@backstage/backend-plugin-api';
import { EventParams } from '@backstage/plugin-events-node';
import { z } from 'zod';
import {
  CiStore,
  DeliveryWrite,
  StoredRun,
  StoredSource,
} from '../../database/CiStore';
import { CiMetrics } from '../../service/metrics';
import { runIdOf } from '../../service/runIds';
import { GITHUB_ACTIONS_PROVIDER_ID } from './GithubActionsProvider';
import {
  githubJobSchema,
  githubRunSchema,
  toJob,
  toProviderRun,
} from './mapping';

/** The topics the GitHub event router of the events backend publishes to. */
export const GITHUB_WEBHOOK_TOPICS = [
  'github.workflow_run',
  'github.workflow_job',
];

const repositorySchema = z.object({
  full_name: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/),
  html_url: z.string().url(),
});

const workflowRunEvent = z.object({
  action: z.string(),
  workflow_run: githubRunSchema,
  repository: repositorySchema,
});

const workflowJobEvent = z.object({
  action: z.string(),
  workflow_job: githubJobSchema.extend({
    run_id: z.number().int(),
    run_attempt: z.number().int().positive().nullish(),
  }),
  repository: repositorySchema,
});

/** Deliveries written in one transaction at most. */
const MAX_BATCH = 200;

/** What became of one delivery. */
export type DeliveryOutcome =
  | 'accepted'
  | 'duplicate'
  | 'unclaimed'
  | 'rejected';

/**
 * Applies GitHub `workflow_run` and `workflow_job` deliveries to the store,
 * each exactly once (by `X-GitHub-Delivery`) and never moving a run or job
 * back to an older state, so redeliveries, duplicates and out-of-order
 * deliveries are harmless. Deliveries for repositories no entity claims are
 * dropped; malformed ones are logged with their delivery id and dropped.
 */
export class GithubWebhookIngestor {
  private readonly pending: Array<{
    write: DeliveryWrite;
    resolve: (outcome: 'applied' | 'duplicate') => void;
    reject: (error: unknown) => void;
  }> = [];
  private writing: Promise<void> = Promise.resolve();

  /** Claimed sources, briefly: a burst of deliveries costs one lookup. */
  private readonly sources = new Map<
    string,
    { at: number; source: StoredSource | undefined }
  >();

  constructor(
    private readonly options: {
      store: CiStore;
      logger: LoggerService;
      metrics?: CiMetrics;
      now?: () => number;
      /** How long a source lookup is remembered. Default 30 s. */
      sourceTtlMs?: number;
      /** Told when a delivery changed a source's runs. */
      onSourceChanged?: (sourceKey: string) => void;
    },
  ) {}

  /**
   * Group commit: deliveries that arrive while a write is under way go to
   * the database together, in one transaction, when it ends. One at a time
   * under light load; in batches, and many times faster, under a burst.
   */
  private enqueue(write: DeliveryWrite): Promise<'applied' | 'duplicate'> {
    return new Promise((resolve, reject) => {
      this.pending.push({ write, resolve, reject });
      if (this.pending.length === 1) {
        this.writing = this.writing.then(() => this.flush());
      }
    });
  }

  private async flush() {
    const batch = this.pending.splice(0, MAX_BATCH);
    if (this.pending.length > 0) {
      // More than one batch waits: the next one follows this one.
      this.writing = this.writing.then(() => this.flush());
    }
    if (batch.length === 0) {
      return;
    }
    try {
      const results = await this.options.store.applyDeliveries(
        batch.map(b => b.write),
      );
      batch.forEach((b, i) => b.resolve(results[i]));
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
        } catch (single) {
          b.reject(single);
        }
      }
    }
  }

  private async claimedSource(key: string): Promise<StoredSource | undefined> {
    const now = this.options.now?.() ?? Date.now();
    const hit = this.sources.get(key);
    if (hit && now - hit.at < (this.options.sourceTtlMs ?? 30_000)) {
      return hit.source;
    }
    const source = (await this.options.store.getSources([key])).get(key);
    if (this.sources.size > 10_000) {
      this.sources.clear();
    }
    this.sources.set(key, { at: now, source });
    return source;
  }

  async handle(event: EventParams): Promise<DeliveryOutcome> {
    const name = event.topic.replace(/^github\./, '');
    const outcome = await this.apply(name, event).catch(error => {
      // A store failure is not the sender's fault: log it loudly, GitHub's
      // redelivery or the next poll brings the state again.
      this.options.logger.error(
        `Could not apply GitHub ${name} delivery ${
          deliveryIdOf(event) ?? '(no id)'
        }: ${error}`,
      );
      return 'rejected' as const;
    });
    this.options.metrics?.deliveries.add(1, {
      provider: GITHUB_ACTIONS_PROVIDER_ID,
      event: name,
      outcome,
    });
    return outcome;
  }

  private async apply(
    name: string,
    event: EventParams,
  ): Promise<DeliveryOutcome> {
    const { logger } = this.options;
    const deliveryId = deliveryIdOf(event);
    if (!deliveryId) {
      logger.warn(
        `Dropped a GitHub ${name} delivery without an X-GitHub-Delivery id`,
      );
      return 'rejected';
    }
    const parsed =
      name === 'workflow_run'
        ? workflowRunEvent.safeParse(event.eventPayload)
        : workflowJobEvent.safeParse(event.eventPayload);
    if (!parsed.success) {
      logger.warn(
        `Dropped malformed GitHub ${name} delivery ${deliveryId}: ${parsed.error.issues
          .slice(0, 5)
          .map(i => `${i.path.join('.') || '(payload)'}: ${i.message}`)
          .join('; ')}`,
      );
      return 'rejected';
    }
    const { repository } = parsed.data;
    const host = new URL(repository.html_url).host;
    const sourceKey =
      `${GITHUB_ACTIONS_PROVIDER_ID}:${host}/${repository.full_name}`.toLowerCase();
    const source = await this.claimedSource(sourceKey);
    if (!source) {
      logger.debug(
        `Ignored GitHub ${name} delivery ${deliveryId} for ${repository.full_name}: no entity claims it`,
      );
      return 'unclaimed';
    }

    let write: DeliveryWrite;
    let changedAt: string | undefined;
    if ('workflow_run' in parsed.data) {
      const run = toProviderRun(parsed.data.workflow_run);
      const { providerRunId, updatedAt, ...model } = run;
      const stored: StoredRun = {
        ...model,
        id: runIdOf(sourceKey, providerRunId, run.attempt),
        provider: GITHUB_ACTIONS_PROVIDER_ID,
        source: source.source,
        sourceKey,
        providerRunId,
        providerUpdatedAt: updatedAt,
      };
      write = { deliveryId, event: name, runs: [stored] };
      changedAt = updatedAt;
    } else {
      const raw = (parsed.data as z.infer<typeof workflowJobEvent>)
        .workflow_job;
      const job = toJob(raw);
      const runId = runIdOf(
        sourceKey,
        String(raw.run_id),
        raw.run_attempt ?? 1,
      );
      write = { deliveryId, event: name, jobs: [{ runId, job }] };
      changedAt = job.finishedAt ?? job.startedAt;
    }
    const result = await this.enqueue(write);
    if (result === 'applied') {
      this.options.onSourceChanged?.(sourceKey);
    }
    if (result === 'duplicate') {
      logger.debug(
        `Ignored GitHub ${name} delivery ${deliveryId}: already applied`,
      );
      return 'duplicate';
    }
    if (changedAt) {
      const now = this.options.now?.() ?? Date.now();
      this.options.metrics?.syncLag.record(
        Math.max(0, now - Date.parse(changedAt)),
        {
          provider: GITHUB_ACTIONS_PROVIDER_ID,
          source: source.source,
        },
      );
    }
    logger.debug(
      `Applied GitHub ${name} delivery ${deliveryId} for ${repository.full_name}`,
    );
    return 'accepted';
  }
}

function deliveryIdOf(event: EventParams): string | undefined {
  const raw = event.metadata?.['x-github-delivery'];
  const id: unknown = Array.isArray(raw) ? raw[0] : raw;
  return typeof id === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(id)
    ? id
    : undefined;
}
