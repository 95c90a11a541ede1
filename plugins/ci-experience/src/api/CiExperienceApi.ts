import { CompoundEntityRef } from '@backstage/catalog-model';
import { createApiRef } from '@backstage/core-plugin-api';
import {
  CiRun,
  CiRunsQuery,
  CiRunsResponse,
} from '@ci-experience/plugin-ci-experience-common';

/**
 * Reads CI runs from the CI Experience backend.
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

  /** One run, with its jobs and steps. */
  getRun(id: string): Promise<CiRun>;
}

/**
 * The API reference of {@link CiExperienceApi}.
 *
 * @public
 */
export const ciExperienceApiRef = createApiRef<CiExperienceApi>({
  id: 'plugin.ci-experience.service',
});
