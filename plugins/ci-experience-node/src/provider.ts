import { Entity } from '@backstage/catalog-model';
import { CiJob, CiRun } from '@ci-experience/plugin-ci-experience-common';

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
  runs: CiProviderRun[];
  /** Pass back to get the next, older page; absent on the last page. */
  nextPage?: string;
}

/**
 * What a source says about itself.
 *
 * @public
 */
export interface CiSourceInfo {
  defaultBranch?: string;
}

/**
 * A CI provider: finds the sources an entity names, and reads their runs.
 *
 * Errors should be those of `@backstage/errors`: `NotAllowedError` for a
 * refusal (401/403), `NotFoundError` for a source that does not exist,
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
}
