import { LifecycleService, LoggerService } from '@backstage/backend-plugin-api';
import { CiFailureClass } from '@ci-experience/plugin-ci-experience-common';
import {
  CiJobLogText,
  CiProvider,
  CiRunRef,
  CiSource,
} from '@ci-experience/plugin-ci-experience-node';
import { Attributes, Counter, metrics } from '@opentelemetry/api';
import { CiStore, StoredSource, TriageTask } from '../database/CiStore';
import { ADDING_RULES_GUIDE } from './defaultRules';
import { FailureClassifier, UNKNOWN_FAILURE } from './FailureClassifier';
import { CI_EXPERIENCE_METER_NAME } from '../service/metrics';

/**
 * The class of a failed job whose provider cannot serve logs: recorded so
 * that the job is not offered again.
 */
export const NO_LOG_FAILURE: CiFailureClass = Object.freeze({
  id: 'no-log',
  title: 'No log to classify',
  guide: ADDING_RULES_GUIDE,
});

/** Bounds of the triage work of one replica. */
export interface TriageLimits {
  /** Jobs claimed from the queue at a time. Default 10. */
  batchSize: number;
  /** Jobs handled at most by one drain. Default 50. */
  maxTasksPerDrain: number;
  /** Logs read at once. Default 2. */
  concurrency: number;
  /** How long a claim keeps other replicas off a job. Default 10 minutes. */
  leaseMs: number;
  /** Failed log reads after which a job is no longer offered. Default 3. */
  maxAttempts: number;
}

export const DEFAULT_TRIAGE_LIMITS: TriageLimits = {
  batchSize: 10,
  maxTasksPerDrain: 50,
  concurrency: 2,
  leaseMs: 10 * 60_000,
  maxAttempts: 3,
};

/** What one drain did. */
export interface TriageDrainResult {
  /** Jobs whose class was stored (including `unknown` and `no-log`). */
  classified: number;
  /** Jobs whose log could not be read (counted; offered again later up to `maxAttempts`). */
  failed: number;
}

export interface TriageServiceOptions {
  store: CiStore;
  /** The installed providers, by id or as a list. */
  providers: Map<string, CiProvider> | Iterable<CiProvider>;
  classifier: FailureClassifier;
  logger: LoggerService;
  /** The clock; default the system's. */
  now?: () => Date;
  limits?: Partial<TriageLimits>;
  /**
   * Counts triaged jobs by provider and outcome (`classified`, `unknown`,
   * `no-log`, `failed`). Default: `ci_experience.triage.jobs` on the global
   * MeterProvider (free when none is registered); `false` for none.
   */
  metric?: Counter<Attributes> | false;
}

type Outcome = 'classified' | 'failed';

/**
 * Classifies failed jobs, once each: drains the store's triage queue, reads
 * each job's log once through its provider and stores the class the
 * {@link FailureClassifier} gives it.
 *
 * - Across replicas, the store's claims keep two replicas from taking the
 *   same job; within one replica, concurrent `drain()` calls share one drain.
 * - A provider without logs (no `getJobLog`, or `capabilities.logs: false`)
 *   gets its jobs classed `no-log` at once, so they are never offered again.
 * - A log that cannot be read (the provider throws or no longer has it), or a
 *   provider that is not installed: the job's claim is released and counted;
 *   it is offered again by a later drain, and after `maxAttempts` no longer.
 *   A drain stops claiming after a batch with such a failure, so it never
 *   reads a job's log twice.
 * - Bounded: `concurrency` logs at once, `maxTasksPerDrain` jobs per drain;
 *   the rest waits for the next drain.
 *
 * Call `drain()` (awaitable) or `schedule()` (fire and forget, coalescing:
 * a call during a drain runs one more drain after it) after each sync, after
 * webhook deliveries, and on a schedule.
 */
export class TriageService {
  private readonly providers: Map<string, CiProvider>;
  private readonly limits: TriageLimits;
  private readonly now: () => Date;
  private readonly metric?: Counter<Attributes>;
  private running?: Promise<TriageDrainResult>;
  private again = false;
  private stopped = false;

  constructor(private readonly options: TriageServiceOptions) {
    this.providers =
      options.providers instanceof Map
        ? options.providers
        : new Map([...options.providers].map(p => [p.id, p]));
    this.limits = { ...DEFAULT_TRIAGE_LIMITS, ...options.limits };
    this.now = options.now ?? (() => new Date());
    if (options.metric !== false) {
      this.metric =
        options.metric ??
        metrics
          .getMeter(CI_EXPERIENCE_METER_NAME)
          .createCounter('ci_experience.triage.jobs', {
            description:
              'Failed jobs triaged, by provider and outcome (classified, unknown, no-log, failed)',
          });
    }
  }

  /** Drains the queue once, or joins the drain under way. */
  drain(): Promise<TriageDrainResult> {
    if (!this.running) {
      this.running = this.run().finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  /**
   * Starts a drain without waiting for it; during a drain, asks for one more
   * after it. Never throws: a failed drain is logged.
   */
  schedule(): void {
    if (this.stopped) {
      return;
    }
    if (this.running) {
      this.again = true;
      return;
    }
    this.drain()
      .catch(e =>
        this.options.logger.warn(
          `Failure triage failed: ${(e as Error).message}`,
        ),
      )
      .finally(() => {
        if (this.again) {
          this.again = false;
          this.schedule();
        }
      });
  }

  /**
   * For shutdown: no new drain starts, and the one under way claims nothing
   * more and ends once the logs in flight are read. Jobs it had claimed but
   * not started stay claimed until their lease ends, then another replica
   * (or the next start) takes them.
   */
  stop(): void {
    this.stopped = true;
    this.again = false;
  }

  /** Resolves when no drain is running (for shutdown and tests). */
  async idle(): Promise<void> {
    while (this.running || this.again) {
      await (this.running ?? Promise.resolve()).catch(() => undefined);
      await new Promise(resolve => setImmediate(resolve));
    }
  }

  private async run(): Promise<TriageDrainResult> {
    const { store } = this.options;
    const { batchSize, maxTasksPerDrain, leaseMs, maxAttempts } = this.limits;
    const result: TriageDrainResult = { classified: 0, failed: 0 };
    let handled = 0;
    let lookedAgain = false;
    while (handled < maxTasksPerDrain && !this.stopped) {
      const limit = Math.min(batchSize, maxTasksPerDrain - handled);
      const tasks = await store.claimTriage({
        limit,
        leaseMs,
        now: this.now().toISOString(),
        maxAttempts,
      });
      if (tasks.length === 0) {
        // Another replica may have just claimed the jobs this claim picked:
        // look once more before taking the queue for empty.
        if (lookedAgain) {
          break;
        }
        lookedAgain = true;
        continue;
      }
      handled += tasks.length;
      const sources = await store.getSources([
        ...new Set(tasks.map(t => t.sourceKey)),
      ]);
      const outcomes = await this.inParallel(tasks, task =>
        this.triage(task, sources.get(task.sourceKey)),
      );
      // Slots of tasks left when stopping stay empty.
      const done = outcomes.filter(o => o !== undefined);
      const failed = done.filter(o => o === 'failed').length;
      result.failed += failed;
      result.classified += done.length - failed;
      // A released job would be claimed again by the next batch: leave it
      // to the next drain.
      if (failed > 0) {
        break;
      }
    }
    if (result.classified + result.failed > 0) {
      this.options.logger.info(
        `Failure triage: ${result.classified} jobs classified, ${result.failed} logs could not be read`,
      );
    }
    return result;
  }

  private async inParallel<T>(
    items: T[],
    work: (item: T) => Promise<Outcome>,
  ): Promise<Outcome[]> {
    const outcomes: Outcome[] = new Array(items.length);
    let next = 0;
    const worker = async () => {
      while (next < items.length && !this.stopped) {
        const index = next;
        next += 1;
        outcomes[index] = await work(items[index]);
      }
    };
    await Promise.all(
      Array.from(
        {
          length: Math.max(1, Math.min(this.limits.concurrency, items.length)),
        },
        worker,
      ),
    );
    return outcomes;
  }

  private async triage(
    task: TriageTask,
    stored: StoredSource | undefined,
  ): Promise<Outcome> {
    const { classifier, logger } = this.options;
    const where = whereOf(task);
    const describe = `job ${task.jobId} ("${task.jobName}") of run ${task.providerRunId} attempt ${task.attempt} of ${task.source} (${task.provider})`;
    const provider = this.providers.get(task.provider);
    if (!provider) {
      return this.release(
        task,
        `Cannot classify ${describe}: no CI provider "${task.provider}" is installed`,
      );
    }
    if (!provider.getJobLog || provider.capabilities?.logs === false) {
      return this.record(task, { ...NO_LOG_FAILURE }, 'no-log');
    }

    const source: CiSource = {
      provider: task.provider,
      key: task.sourceKey,
      source: task.source,
      ...(stored?.host ? { host: stored.host } : {}),
    };
    const run: CiRunRef = {
      providerRunId: task.providerRunId,
      attempt: task.attempt,
      runNumber: task.runNumber,
      workflow: task.workflow,
      url: task.url,
    };
    let log: CiJobLogText | undefined;
    try {
      log = await provider.getJobLog(source, run, task.jobId);
    } catch (e) {
      const error = e as Error;
      return this.release(
        task,
        `Could not read the log of ${describe}: ${error.name || 'Error'}: ${
          error.message
        }`,
      );
    }
    if (!log) {
      return this.release(
        task,
        `Could not read the log of ${describe}: the provider no longer has it`,
      );
    }

    let failure: CiFailureClass;
    try {
      failure = classifier.classify(log.text ?? '', {
        failedStep: task.failedStep,
      });
    } catch (e) {
      logger.warn(
        `Could not classify ${describe}: ${(e as Error).message}`,
        where,
      );
      failure = { ...UNKNOWN_FAILURE };
    }
    return this.record(
      task,
      failure,
      failure.id === 'unknown' ? 'unknown' : 'classified',
    );
  }

  private async record(
    task: TriageTask,
    failure: CiFailureClass,
    outcome: string,
  ): Promise<Outcome> {
    try {
      await this.options.store.recordTriage(
        task,
        failure,
        this.now().toISOString(),
      );
    } catch (e) {
      // The claim runs out and the job is offered again.
      this.options.logger.warn(
        `Could not store the failure class of job ${task.jobId} of run ${
          task.providerRunId
        } of ${task.source}: ${(e as Error).message}`,
      );
      this.count(task, 'failed');
      return 'failed';
    }
    this.count(task, outcome);
    return 'classified';
  }

  private async release(task: TriageTask, message: string): Promise<Outcome> {
    const attempts = task.triageAttempts + 1;
    const last = attempts >= this.limits.maxAttempts;
    this.options.logger.warn(
      `${message} (attempt ${attempts} of ${this.limits.maxAttempts}${
        last ? '; giving up on it' : '; will retry'
      })`,
      whereOf(task),
    );
    try {
      await this.options.store.releaseTriage(task);
    } catch (e) {
      this.options.logger.warn(
        `Could not release the triage claim of job ${task.jobId}: ${
          (e as Error).message
        }`,
      );
    }
    this.count(task, 'failed');
    return 'failed';
  }

  private count(task: TriageTask, outcome: string) {
    this.metric?.add(1, { provider: task.provider, outcome });
  }
}

/** Log fields naming a job (never a credential). */
function whereOf(task: TriageTask) {
  return {
    provider: task.provider,
    source: task.source,
    run: task.providerRunId,
    attempt: task.attempt,
    job: task.jobId,
  };
}

/** Creates the triage service; see {@link TriageService}. */
export function createTriageService(
  options: TriageServiceOptions & {
    /** When given, the service stops and finishes its work at shutdown. */
    lifecycle?: LifecycleService;
  },
): TriageService {
  const { lifecycle, ...rest } = options;
  const service = new TriageService(rest);
  lifecycle?.addShutdownHook(async () => {
    service.stop();
    await service.idle();
  });
  return service;
}
