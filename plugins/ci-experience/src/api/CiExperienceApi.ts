import { CompoundEntityRef } from '@backstage/catalog-model';
import { createApiRef } from '@backstage/core-plugin-api';
import {
  CiJobLog,
  CiRerunRequest,
  CiRunDetail,
  CiRunsQuery,
  CiRunsResponse,
} from '@ci-experience/plugin-ci-experience-common';

/**
 * Reads CI runs from the CI Experience backend, and asks it to rerun or
 * cancel them.
 *
 * @public
 */
export interface CiExperienceApi {
  /**
   * One page of an entity's runs, newest first, together with the state of
   * the sources they come from.
   */
  getRuns(
    entityRef: CompoundEntityRef,
    query: CiRunsQuery,
  ): Promise<CiRunsResponse>;

  /** One run, with its jobs and steps, its attempts and what can be done with it. */
  getRun(id: string): Promise<CiRunDetail>;

  /**
   * The tail of one job's log, read through the backend; plain text with
   * ANSI escapes, never markup.
   */
  getJobLog(runId: string, jobId: string): Promise<CiJobLog>;

  /**
   * Reruns a run of the entity (every job, or only the failed ones). The
   * backend checks `ci-experience.run.execute` on the entity.
   */
  rerunRun(
    entityRef: CompoundEntityRef,
    runId: string,
    request?: CiRerunRequest,
  ): Promise<void>;

  /**
   * Cancels a queued or running run of the entity. The backend checks
   * `ci-experience.run.execute` on the entity.
   */
  cancelRun(entityRef: CompoundEntityRef, runId: string): Promise<void>;
}

/**
 * The API reference of {@link CiExperienceApi}.
 *
 * @public
 */
export const ciExperienceApiRef = createApiRef<CiExperienceApi>({
  id: 'plugin.ci-experience.service',
});
