import { CompoundEntityRef } from '@backstage/catalog-model';
import { createApiRef } from '@backstage/core-plugin-api';
import {
  CiAlertFiringsResponse,
  CiAlertPreview,
  CiAlertRule,
  CiAlertRuleInput,
  CiAlertRulesResponse,
  CiEntityTestsResponse,
  CiInsightsResponse,
  CiInsightsWindow,
  CiJobLog,
  CiRerunRequest,
  CiRollupResponse,
  CiRollupTestsResponse,
  CiRunDetail,
  CiRunTestsResponse,
  CiRunsQuery,
  CiRunsResponse,
  CiTestQuarantine,
  CiTestState,
} from '@ci-experience/plugin-ci-experience-common';

/**
 * What {@link CiExperienceApi.getInsights} computes over: a window back from
 * now (`7d`, `30d` or `90d`; the backend's default is `30d`) or a custom
 * range (`from` inclusive, `to` exclusive, ISO 8601), one workflow or all,
 * and a branch set (the default branch of each source when absent or empty).
 *
 * @public
 */
export interface CiInsightsQuery {
  /**
   * A window back from now; the backend's default is `30d`. Not sent when
   * `from` or `to` is set.
   */
  window?: CiInsightsWindow;
  /** Start of a custom range, ISO 8601, inclusive (rounded down to midnight UTC). */
  from?: string;
  /** End of a custom range, ISO 8601, exclusive (rounded up to midnight UTC). */
  to?: string;
  /** Only this workflow (by name); every workflow of the entity when absent. */
  workflow?: string;
  /** Branches to count; each source's default branch when absent or empty. */
  branches?: string[];
}

/**
 * Reads CI runs from the CI Experience backend, and asks it to rerun or
 * cancel them; reads and manages an entity's alert rules.
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
   * Every annotation that names a CI source, those of providers added by
   * backend modules included (`GET /annotations`). Optional for custom
   * implementations: without it, only the built-in providers' count.
   */
  getAnnotations?(): Promise<{ annotations: string[] }>;

  /**
   * The tail of one job's log, read through the backend; plain text with
   * ANSI escapes, never markup.
   */
  getJobLog(runId: string, jobId: string): Promise<CiJobLog>;

  /**
   * The tests of a run attempt, failed first (empty when no results were
   * sent or read for it).
   */
  getRunTests(runId: string): Promise<CiRunTestsResponse>;

  /**
   * An entity's tests over a window (default 30d), flaky first, each with
   * its state; `state` keeps one state.
   */
  getEntityTests(
    entityRef: CompoundEntityRef,
    query?: { window?: CiInsightsWindow; state?: CiTestState },
  ): Promise<CiEntityTestsResponse>;

  /** Quarantines a test of the entity (its owners only), until `expiresAt`. */
  quarantineTest(
    entityRef: CompoundEntityRef,
    testId: string,
    input: { reason: string; expiresAt: string },
  ): Promise<CiTestQuarantine>;

  /** Lifts a test's quarantine (its owners only). */
  unquarantineTest(entityRef: CompoundEntityRef, testId: string): Promise<void>;

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

  /**
   * An entity's CI health over a window, beside the previous window of the
   * same length, with trends, rankings and failures by class.
   */
  getInsights(
    entityRef: CompoundEntityRef,
    query?: CiInsightsQuery,
  ): Promise<CiInsightsResponse>;

  /** The CI health of the components a group owns, worst first. */
  getGroupInsights(
    groupRef: CompoundEntityRef,
    window?: CiInsightsWindow,
  ): Promise<CiRollupResponse>;

  /** The CI health of a system's components, worst first. */
  getSystemInsights(
    systemRef: CompoundEntityRef,
    window?: CiInsightsWindow,
  ): Promise<CiRollupResponse>;

  /** The flaky tests of the components a group owns, worst first. */
  getGroupFlakyTests(
    groupRef: CompoundEntityRef,
    window?: CiInsightsWindow,
  ): Promise<CiRollupTestsResponse>;

  /** The flaky tests of a system's components, worst first. */
  getSystemFlakyTests(
    systemRef: CompoundEntityRef,
    window?: CiInsightsWindow,
  ): Promise<CiRollupTestsResponse>;

  /** An entity's alert rules, with their state; never a Slack URL. */
  getAlertRules(entityRef: CompoundEntityRef): Promise<CiAlertRulesResponse>;

  /**
   * Creates an alert rule of the entity. The backend checks
   * `ci-experience.alert.manage` on the entity; a bad field is a 400 that
   * names it.
   */
  createAlertRule(
    entityRef: CompoundEntityRef,
    input: CiAlertRuleInput,
  ): Promise<CiAlertRule>;

  /**
   * How often a drafted rule would have fired over the entity's recent
   * history; saves nothing.
   */
  previewAlertRule(
    entityRef: CompoundEntityRef,
    input: CiAlertRuleInput,
  ): Promise<CiAlertPreview>;

  /** One alert rule. */
  getAlertRule(id: string): Promise<CiAlertRule>;

  /**
   * Replaces an alert rule. `input.slackWebhookUrl` absent keeps the stored
   * Slack webhook, `null` removes it.
   */
  updateAlertRule(id: string, input: CiAlertRuleInput): Promise<CiAlertRule>;

  /** Deletes an alert rule. */
  deleteAlertRule(id: string): Promise<void>;

  /** An entity's alert firings: open ones first, then past ones, newest first. */
  getAlertFirings(
    entityRef: CompoundEntityRef,
  ): Promise<CiAlertFiringsResponse>;
}

/**
 * The API reference of {@link CiExperienceApi}.
 *
 * @public
 */
export const ciExperienceApiRef = createApiRef<CiExperienceApi>({
  id: 'plugin.ci-experience.service',
});
