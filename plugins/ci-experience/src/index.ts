/**
 * The CI tab (runs, run pages with jobs, logs, failure classes, rerun and
 * cancel) and CI status card of catalog entity pages.
 *
 * @packageDocumentation
 */

import { Entity } from '@backstage/catalog-model';
import { hasCiAnnotation } from '@ci-experience/plugin-ci-experience-common';

export {
  ciExperiencePlugin,
  EntityCiContent,
  EntityCiStatusCard,
} from './plugin';
export { rootRouteRef } from './routes';
export { ciExperienceApiRef, CiExperienceClient } from './api';
export type { CiExperienceApi } from './api';
export type {
  CiFailureCategory,
  CiFailureClass,
  CiJob,
  CiJobLog,
  CiRerunRequest,
  CiRun,
  CiRunActions,
  CiRunAttempt,
  CiRunDetail,
  CiRunStatus,
  CiRunsQuery,
  CiRunsResponse,
  CiSourceState,
  CiStep,
  CiSyncError,
} from '@ci-experience/plugin-ci-experience-common';

/**
 * Whether an entity has CI to show; use it to decide whether to show the CI
 * tab and card, e.g. in an `EntitySwitch.Case`'s `if`.
 *
 * @public
 */
export function isCiExperienceAvailable(entity: Entity): boolean {
  return hasCiAnnotation(entity);
}
