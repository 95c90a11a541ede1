/**
 * The CI tab (a health header with trends, charts and rankings; runs, run
 * pages with jobs, logs, failure classes, rerun and cancel) and CI status
 * card of catalog entity pages, and the CI health roll-up card and tab of
 * Group and System pages.
 *
 * @packageDocumentation
 */

import { Entity } from '@backstage/catalog-model';
import { hasCiAnnotation } from '@ci-experience/plugin-ci-experience-common';

export {
  ciExperiencePlugin,
  CiOperationsPage,
  EntityCiContent,
  EntityCiRollupCard,
  EntityCiRollupContent,
  EntityCiStatusCard,
} from './plugin';
export { operationsRouteRef, rootRouteRef } from './routes';
export { ciExperienceApiRef, CiExperienceClient } from './api';
export type { CiExperienceApi, CiInsightsQuery } from './api';
export { ciOperatorApiRef, CiOperatorClient } from './api/CiOperatorApi';
export type { CiOperatorApi } from './api/CiOperatorApi';
export { CiAdminOnly } from './components/CiOperationsPage/CiAdminOnly';
export type {
  CiAlertChannels,
  CiAlertDelivery,
  CiAlertFiring,
  CiAlertFiringsResponse,
  CiAlertKind,
  CiAlertParams,
  CiAlertPreview,
  CiAlertRule,
  CiAlertRuleInput,
  CiAlertRulesResponse,
  CiAlertSeverity,
  CiAlertStateName,
  CiFailureCategory,
  CiFailureClass,
  CiFigure,
  CiHealthFigures,
  CiInsightsResponse,
  CiInsightsWindow,
  CiRankedItem,
  CiRollupItem,
  CiRollupResponse,
  CiTrendPoint,
  CiJob,
  CiJobLog,
  CiOperatorHost,
  CiOperatorSource,
  CiOperatorStatus,
  CiSyncMode,
  CiWebhookOutcomes,
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
 * Whether an entity gets the CI health roll-up card and tab: groups (the
 * components they own) and systems (the components they hold).
 *
 * @public
 */
export function isCiRollupAvailable(entity: Entity): boolean {
  const kind = entity.kind.toLocaleLowerCase('en-US');
  return kind === 'group' || kind === 'system';
}

/**
 * Whether an entity has CI to show; use it to decide whether to show the CI
 * tab and card, e.g. in an `EntitySwitch.Case`'s `if`.
 *
 * @public
 */
export function isCiExperienceAvailable(entity: Entity): boolean {
  return hasCiAnnotation(entity);
}

export { hasCiExperience } from './hooks/useHasCi';
