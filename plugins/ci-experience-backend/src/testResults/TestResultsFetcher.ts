import { LoggerService } from '@backstage/backend-plugin-api';
import {
  CiProvider,
  CiProviderTestResults,
  CiSource,
} from '@ci-experience/plugin-ci-experience-node';
import { CiStore } from '../database/CiStore';
import {
  boundCase,
  JunitError,
  JunitLimits,
  mergeAttempts,
  ParsedTestCase,
} from './junit';
import { readReports, ZipLimits } from './reports';
import { TestResultsStore } from './TestResultsStore';

/** Failed reads of one run after which it is left alone. */
export const MAX_READ_ATTEMPTS = 3;
/** Runs read per drain step. */
const BATCH = 20;

/** What {@link TestResultsFetcher.drain} did. */
export interface TestResultsDrain {
  /** Runs whose results were stored. */
  stored: number;
  /** Runs the provider had no results for. */
  none: number;
  /** Reads that failed (tried again later, up to a few times). */
  failed: number;
  /**
   * Reads put off because the provider's request budget is spent or it
   * asked to back off: not counted as failures, read on a later drain.
   */
  deferred: number;
}

/**
 * Reads each finished run attempt's test results from its provider, once
 * (docs/tests.md): after changes settle, the recent finished runs not read
 * yet, newest first, a few at a time, through the provider's own budgeted
 * client. What a provider answers is held to the upload's limits: reports
 * parsed by the same streaming parser, a test API's cases masked and
 * bounded. A run without results is marked read too; a failed read is
 * tried again on a later drain, at most {@link MAX_READ_ATTEMPTS} times.
 */
export class TestResultsFetcher {
  private running?: Promise<TestResultsDrain>;
  private again = false;
  private stopped = false;
  private readonly providers: Map<string, CiProvider>;

  constructor(
    private readonly options: {
      store: TestResultsStore;
      runs: Pick<CiStore, 'getRun' | 'getSources'>;
      providers: CiProvider[];
      logger: LoggerService;
      artifactGlobs: string[];
      /** A source's globs (its entities' `ci-experience.io/test-reports`); default `artifactGlobs`. */
      globsFor?: (sourceKey: string) => Promise<string[]>;
      maxBytes: number;
      lookbackMs: number;
      limits?: Partial<JunitLimits & ZipLimits>;
      now?: () => Date;
    },
  ) {
    this.providers = new Map(
      options.providers
        .filter(p => typeof p.getTestResults === 'function')
        .map(p => [p.id, p]),
    );
  }

  /** Whether any provider reads test results. */
  get active(): boolean {
    return this.providers.size > 0;
  }

  /** A drain soon; during one, one more after it. Never throws. */
  schedule(): void {
    if (!this.active || this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.drain().catch(error =>
      this.options.logger.error('Reading test results failed', error),
    );
  }

  /** For shutdown: the drain under way ends after its current run. */
  stop(): void {
    this.stopped = true;
  }

  /** Reads every pending run, batch after batch. */
  drain(): Promise<TestResultsDrain> {
    if (!this.running) {
      this.running = this.run().finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  private async run(): Promise<TestResultsDrain> {
    const total: TestResultsDrain = {
      stored: 0,
      none: 0,
      failed: 0,
      deferred: 0,
    };
    const tried = new Set<string>();
    // Providers whose budget is spent: the rest of this drain leaves them.
    const resting = new Set<string>();
    do {
      this.again = false;
      for (;;) {
        const now = (this.options.now ?? (() => new Date()))();
        const ids = (
          await this.options.store.pendingRuns({
            providers: [...this.providers.keys()],
            since: new Date(
              now.getTime() - this.options.lookbackMs,
            ).toISOString(),
            maxAttempts: MAX_READ_ATTEMPTS,
            limit: BATCH,
          })
        ).filter(id => !tried.has(id));
        if (ids.length === 0 || this.stopped) break;
        for (const id of ids) {
          if (this.stopped) break;
          tried.add(id);
          total[await this.readOne(id, now, resting)] += 1;
        }
      }
    } while (this.again && !this.stopped);
    return total;
  }

  private async readOne(
    id: string,
    now: Date,
    resting: Set<string>,
  ): Promise<keyof TestResultsDrain> {
    const { store, runs, logger } = this.options;
    const run = await runs.getRun(id);
    const provider = run && this.providers.get(run.provider);
    if (run && resting.has(run.provider)) {
      return 'deferred';
    }
    if (!run || !provider?.getTestResults) {
      await store.markRead(id, now.toISOString());
      return 'none';
    }
    const stored = (await runs.getSources([run.sourceKey])).get(run.sourceKey);
    const source: CiSource = {
      provider: run.provider,
      key: run.sourceKey,
      source: stored?.source ?? run.source,
      ...(stored?.host ? { host: stored.host } : {}),
    };
    const label = `${run.provider} ${source.source} run ${run.runNumber} attempt ${run.attempt}`;
    let cases: ParsedTestCase[] | undefined;
    try {
      const results = await provider.getTestResults(source, run, {
        jobs: run.jobs ?? [],
        artifactGlobs:
          (await this.options.globsFor?.(run.sourceKey)) ??
          this.options.artifactGlobs,
        maxBytes: this.options.maxBytes,
      });
      cases = results && (await this.casesOf(results));
    } catch (error) {
      // A spent budget or a provider's "back off" (the HTTP toolkit's
      // ServiceUnavailableError) says nothing of this run: leave the
      // provider for this drain, and the sync its requests.
      if ((error as Error)?.name === 'ServiceUnavailableError') {
        resting.add(run.provider);
        logger.info(
          `Reading test results of ${run.provider} paused: ${
            (error as Error).message
          }`,
        );
        return 'deferred';
      }
      const attempts = await store.markReadFailed(id);
      if (error instanceof JunitError) {
        // A malformed report will not get better: read no more.
        await store.markRead(id, now.toISOString());
        logger.warn(`Refused the test results of ${label}: ${error.message}`);
      } else {
        logger.warn(
          `Could not read the test results of ${label} (read ${attempts} of ${MAX_READ_ATTEMPTS}): ${
            (error as Error)?.message ?? error
          }`,
        );
      }
      return 'failed';
    }
    if (cases && cases.length > 0) {
      await store.putResults(
        { id: run.id, sourceKey: run.sourceKey, attempt: run.attempt },
        cases,
        now.toISOString(),
      );
    }
    await store.markRead(id, now.toISOString());
    return cases && cases.length > 0 ? 'stored' : 'none';
  }

  private async casesOf(
    results: CiProviderTestResults,
  ): Promise<ParsedTestCase[]> {
    const limits = this.options.limits;
    if ('cases' in results) {
      const max = limits?.maxCases ?? 100_000;
      if (results.cases.length > max) {
        throw new JunitError(
          `More than ${max} test cases in one run`,
          'too-large',
        );
      }
      return mergeAttempts(results.cases.map(c => boundCase(c, limits)));
    }
    const all: ParsedTestCase[] = [];
    for (const report of results.reports) {
      const cases = await readReports(
        Buffer.from(report.data),
        report.mediaType,
        { ...limits, maxCases: (limits?.maxCases ?? 100_000) - all.length },
      ).catch(error => {
        throw error instanceof JunitError
          ? new JunitError(`${report.name}: ${error.message}`, error.kind)
          : error;
      });
      all.push(...cases);
    }
    return mergeAttempts(all);
  }
}
