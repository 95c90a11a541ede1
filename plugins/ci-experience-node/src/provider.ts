import { Entity } from '@backstage/catalog-model';
import type { CiProviderWebhook } from './webhook';
import {
  CiJob,
  CiTestStatus,
  CiRun,
  CiStep,
} from '@ci-experience/plugin-ci-experience-common';

/**
 * One home of pipelines at one provider, e.g. a GitHub repository.
 *
 * @public
 */
export interface CiSource {
  /** The id of the provider that serves it, e.g. `github-actions`. */
  provider: string;
  /**
   * Unique across all providers and hosts; runs are stored under it, e.g.
   * `github-actions:github.com/octo-org/octo-repo`.
   */
  key: string;
  /** What people call it, e.g. `octo-org/octo-repo`. */
  source: string;
  /** The provider host, e.g. `github.com` or a GitHub Enterprise host. */
  host?: string;
}

/**
 * A run as a provider reports it: a {@link @ci-experience/plugin-ci-experience-common#CiRun}
 * without the fields the backend assigns, plus the provider's own id of it.
 *
 * @public
 */
export type CiProviderRun = Omit<
  CiRun,
  'id' | 'provider' | 'source' | 'jobs'
> & {
  /** The provider's id of the run; attempts of one run share it. */
  providerRunId: string;
  /**
   * When the provider last changed the run (ISO 8601); a sync compares it to
   * decide whether the run changed.
   */
  updatedAt?: string;
};

/**
 * One page of runs, newest first.
 *
 * @public
 */
export interface CiRunPage {
  /** The runs of the page, newest first. */
  runs: CiProviderRun[];
  /** Pass back to get the next, older page; absent on the last page. */
  nextPage?: string;
}

/**
 * The repository a source builds, as a URL host and path, e.g.
 * `{ host: 'github.com', path: 'octo-org/octo-repo' }`.
 *
 * @public
 */
export interface CiSourceRepository {
  /** The repository host as it appears in URLs, with a port if any. */
  host: string;
  /** The repository's path below the host, without slashes around it. */
  path: string;
}

/**
 * What a source says about itself.
 *
 * @public
 */
export interface CiSourceInfo {
  /** The source's default branch, when the provider says. */
  defaultBranch?: string;
}

/**
 * A CI provider: finds the sources an entity names, and reads their runs.
 *
 * Errors should be those of `@backstage/errors`: `AuthenticationError` for
 * a refused credential (401), `NotAllowedError` for a refusal (403), `NotFoundError` for a source that does not exist,
 * `ServiceUnavailableError` for an outage or a rate limit; their messages are
 * shown to the entity's viewers and must never contain a secret.
 *
 * @public
 */
export interface CiProvider {
  /** Unique id, e.g. `github-actions`. */
  readonly id: string;

  /** The sources an entity's annotations name; empty when it names none. */
  getSources(entity: Entity): CiSource[];

  /**
   * The catalog annotations `getSources` reads, e.g.
   * `['my-ci.example.com/pipeline']`. The scheduled sync reads every entity
   * that carries one of them (besides the built-in providers' annotations),
   * and the backend serves them to the frontend (`GET /annotations`) for
   * its "has CI" check: without them a provider's sources are synced only
   * when someone opens the entity's CI tab.
   */
  readonly annotations?: readonly string[];

  /**
   * The repository the source builds, when the source's name says it (a
   * GitHub `owner/repo`, a GitLab project path, a CircleCI `gh/org/repo`).
   * The backend's source policy allows a source by default only when this
   * repository is the one the entity is defined in; a provider without it
   * (its sources name pipelines or jobs, not repositories) has its sources
   * allowed by `ciExperience.sources.allow` only.
   */
  repositoryOf?(source: CiSource): CiSourceRepository | undefined;

  /** What the source says about itself, such as its default branch. */
  getSourceInfo(source: CiSource): Promise<CiSourceInfo>;

  /** One page of the source's runs, newest first. */
  listRuns(source: CiSource, options: { page?: string }): Promise<CiRunPage>;

  /** One attempt of one run, or undefined when the provider no longer has it. */
  getRun(
    source: CiSource,
    providerRunId: string,
    attempt: number,
  ): Promise<CiProviderRun | undefined>;

  /** The jobs, with steps, of one attempt of one run. */
  listJobs(source: CiSource, run: CiProviderRun): Promise<CiJob[]>;

  /**
   * The log of one job, or undefined when the provider no longer has it.
   * Providers that cannot read logs leave it out. The backend keeps only
   * the tail it serves (see {@link CiJobLogText}).
   */
  getJobLog?(
    source: CiSource,
    run: CiRunRef,
    jobId: string,
  ): Promise<CiJobLogText | undefined>;

  /**
   * Starts the run again: every job, or with `failedOnly` only the failed
   * ones (providers that cannot should say so in {@link CiProvider.capabilities}).
   * Throws an `@backstage/errors` error when the provider refuses.
   */
  rerun?(
    source: CiSource,
    run: CiRunRef,
    options: { failedOnly: boolean },
  ): Promise<void>;

  /** Cancels a queued or running run. */
  cancel?(source: CiSource, run: CiRunRef): Promise<void>;

  /**
   * The test results of one finished attempt, where the provider keeps
   * them: a test API's cases, or JUnit reports (XML, or zips of them) the
   * backend parses with its limits. Undefined when the run has none. Read
   * once per finished attempt by the backend, not per view, within the
   * provider's request budget (see docs/tests.md).
   */
  getTestResults?(
    source: CiSource,
    run: CiRunRef,
    context: CiTestResultsContext,
  ): Promise<CiProviderTestResults | undefined>;

  /** What of the optional methods the provider supports; default: what it implements. */
  readonly capabilities?: CiProviderCapabilities;

  /**
   * Webhook deliveries the provider reads, when it has any: the backend
   * subscribes to their topics, serves `POST /api/ci-experience/webhooks/<subscriber>`
   * and applies each delivery once (see {@link CiProviderWebhook}).
   */
  readonly webhook?: CiProviderWebhook;

  /**
   * What can be done with one run, where it depends on the run or on the
   * server (e.g. whether Jenkins' Rebuild plugin answers for the job); merged
   * over `capabilities` for the run page. Default: `capabilities`.
   */
  runActions?(
    source: CiSource,
    run: CiRunRef,
  ): Promise<Partial<CiProviderCapabilities>>;
}

/**
 * One test case as a provider's test API gives it.
 *
 * @public
 */
export interface CiTestCaseResult {
  /** The suite around it ('' when none). */
  suite: string;
  /** The test case's name. */
  name: string;
  /** Its class, when given. */
  classname?: string;
  /** Its source file, when given. */
  file?: string;
  /** Its outcome: `flaky` when it failed, then passed on a retry. */
  status: CiTestStatus;
  /** How long it took. */
  durationMs?: number;
  /** Why it failed or was skipped. The backend masks secrets and bounds it. */
  message?: string;
  /** The failure's text (a stack, output). The backend masks and bounds it. */
  output?: string;
}

/**
 * A JUnit report a provider keeps for a run (a CI artifact).
 *
 * @public
 */
export interface CiTestReport {
  /** Its name at the provider (an artifact's path), for messages. */
  name: string;
  /** One JUnit XML file, or a zip of them. */
  mediaType: 'application/xml' | 'application/zip';
  /** The report's bytes, as downloaded. */
  data: Uint8Array;
}

/**
 * A run's test results from its provider: parsed cases, or reports the
 * backend parses.
 *
 * @public
 */
export type CiProviderTestResults =
  | { cases: CiTestCaseResult[] }
  | { reports: CiTestReport[] };

/**
 * What the backend tells a provider reading a run's test results.
 *
 * @public
 */
export interface CiTestResultsContext {
  /** The attempt's jobs as stored (ids as `listJobs` gave them). */
  jobs: CiJob[];
  /**
   * Globs of the artifacts that hold JUnit reports (config
   * `ciExperience.testResults.artifacts`, or the entity's
   * `ci-experience.io/test-reports`), for providers whose reports are
   * artifacts.
   */
  artifactGlobs: string[];
  /** The most bytes of reports to download for the run. */
  maxBytes: number;
}

/**
 * Names one attempt of one run at its provider, with what the store knows
 * of it.
 *
 * @public
 */
export interface CiRunRef {
  /** The provider's id of the run (attempts share it). */
  providerRunId: string;
  /** Which attempt, from 1. */
  attempt: number;
  /** The run's number as people see it (`#562`). */
  runNumber: number;
  /** The run's workflow (for providers that address runs through it). */
  workflow: string;
  /** The run's page at the provider. */
  url: string;
}

/**
 * A job's log as a provider hands it over.
 *
 * @public
 */
export interface CiJobLogText {
  /** The log, or its tail when the provider serves ranges. */
  text: string;
  /** `text` is already the tail of a longer log. */
  truncated?: boolean;
  /** The whole log's size in bytes, when known. */
  totalBytes?: number;
  /** The full log at the provider, for people. */
  url?: string;
  /**
   * The job's steps as the log shows them (e.g. GitLab's `section_start` /
   * `section_end` markers), when the provider reads steps from logs; the
   * backend stores them on the job.
   */
  steps?: CiStep[];
}

/**
 * What a provider can do beyond syncing.
 *
 * @public
 */
export interface CiProviderCapabilities {
  /** Job logs can be read (`getJobLog`). */
  logs?: boolean;
  /** Runs can be started again (`rerun`). */
  rerun?: boolean;
  /** Only the failed jobs of a run can be started again. */
  rerunFailed?: boolean;
  /** Queued or running runs can be cancelled (`cancel`). */
  cancel?: boolean;
  /** What a rerun does, for its button (see `CiRunActions.rerunLabel`). */
  rerunLabel?: string;
  /** What a rerun of the failed jobs does, for its button. */
  rerunFailedLabel?: string;
}
