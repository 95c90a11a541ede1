import {
  LoggerService,
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import { Config, readDurationFromConfig } from '@backstage/config';
import { durationToMilliseconds } from '@backstage/types';
import { AlertLimits, readAlertLimits } from './alerts/limits';
import { readRetention, RetentionPolicy } from './service/Retention';
import { readSyncPlannerConfig } from './service/SyncPlanner';
import { DEFAULT_FLAKY_POLICY, FlakyPolicy } from './testResults/flaky';

/**
 * `ciExperience` as the plugin reads it, once, at start: every key with its
 * default applied (config.d.ts documents them). Parts with their own
 * readers (source policy, branch allow-lists, triage classes, alert
 * secrets, log cache) take the root config themselves.
 */
export interface CiExperienceConfig {
  /** `app.baseUrl`, for links in notices and agents' answers. */
  appBaseUrl: string;
  sync: {
    schedule: SchedulerServiceTaskScheduleDefinition;
    maxPages: number;
    leaseMs?: number;
    planner: ReturnType<typeof readSyncPlannerConfig>;
  };
  triage: { enabled: boolean };
  testResults: {
    /** Whether finished runs' results are read from their providers. */
    fromProviders: boolean;
    /** Globs of the artifacts that hold JUnit reports. */
    artifacts: string[];
    /** Bytes of reports read per run at most. */
    maxBytes: number;
    /** How far back finished runs are read (ms): older ones are skipped. */
    lookbackMs: number;
    /** How tests are judged flaky, broken or fixed. */
    flaky: FlakyPolicy;
  };
  insights: { minSample?: number };
  alerts: {
    enabled: boolean;
    schedule: SchedulerServiceTaskScheduleDefinition;
    slack: { timeoutMs?: number; allowedHosts: string[] };
    retry: { backoffMs?: number; maxAttempts?: number };
    limits: AlertLimits;
  };
  retention: {
    policy: RetentionPolicy;
    schedule: SchedulerServiceTaskScheduleDefinition;
  };
  actions: { allowedServices?: string[] };
  logs: { maxBytes?: number; maxLines?: number };
}

const SYNC_SCHEDULE: SchedulerServiceTaskScheduleDefinition = {
  // A pass every minute syncs only the sources whose cadence says they are
  // due (ciExperience.sync.cadence) and ends within its minute; the time-out
  // is how long a replica that died mid-pass holds the task.
  frequency: { minutes: 1 },
  timeout: { minutes: 2 },
  initialDelay: { seconds: 15 },
};
const RETENTION_SCHEDULE: SchedulerServiceTaskScheduleDefinition = {
  frequency: { hours: 1 },
  timeout: { minutes: 30 },
  initialDelay: { minutes: 5 },
};
const ALERTS_SCHEDULE: SchedulerServiceTaskScheduleDefinition = {
  frequency: { minutes: 1 },
  timeout: { minutes: 10 },
  initialDelay: { seconds: 30 },
};

/** Reads `ciExperience` into a {@link CiExperienceConfig}. */
export function readCiExperienceConfig(
  config: Config,
  logger: LoggerService,
): CiExperienceConfig {
  const section = config.getOptionalConfig('ciExperience');
  const schedule = (
    key: string,
    fallback: SchedulerServiceTaskScheduleDefinition,
  ) => {
    const sub = section?.getOptionalConfig(key);
    return sub
      ? readSchedulerServiceTaskScheduleDefinitionFromConfig(sub)
      : fallback;
  };
  return {
    appBaseUrl:
      config.getOptionalString('app.baseUrl') ?? 'http://localhost:3000',
    sync: {
      schedule: schedule('sync.schedule', SYNC_SCHEDULE),
      maxPages: section?.getOptionalNumber('sync.maxPages') ?? 5,
      leaseMs: section?.has('sync.leaseDuration')
        ? durationToMilliseconds(
            readDurationFromConfig(section, { key: 'sync.leaseDuration' }),
          )
        : undefined,
      planner: readSyncPlannerConfig(config),
    },
    triage: {
      enabled: section?.getOptionalBoolean('triage.enabled') !== false,
    },
    testResults: {
      fromProviders:
        section?.getOptionalBoolean('testResults.fromProviders') !== false,
      artifacts: section?.getOptionalStringArray('testResults.artifacts') ?? [
        '*test*',
        '*junit*',
      ],
      maxBytes:
        section?.getOptionalNumber('testResults.maxBytes') ?? 50 * 1024 * 1024,
      lookbackMs: section?.has('testResults.lookback')
        ? durationToMilliseconds(
            readDurationFromConfig(section, { key: 'testResults.lookback' }),
          )
        : 3 * 24 * 3600_000,
      flaky: {
        minRuns:
          section?.getOptionalNumber('testResults.flaky.minRuns') ??
          DEFAULT_FLAKY_POLICY.minRuns,
        threshold:
          section?.getOptionalNumber('testResults.flaky.threshold') ??
          DEFAULT_FLAKY_POLICY.threshold,
        fixedAfter:
          section?.getOptionalNumber('testResults.flaky.fixedAfter') ??
          DEFAULT_FLAKY_POLICY.fixedAfter,
      },
    },
    insights: { minSample: section?.getOptionalNumber('insights.minSample') },
    alerts: {
      enabled: section?.getOptionalBoolean('alerts.enabled') !== false,
      schedule: schedule('alerts.schedule', ALERTS_SCHEDULE),
      slack: {
        timeoutMs: section?.getOptionalNumber('alerts.slack.timeoutMs'),
        allowedHosts: section?.getOptionalStringArray(
          'alerts.slack.allowedHosts',
        ) ?? ['hooks.slack.com'],
      },
      retry: {
        backoffMs: section?.getOptionalNumber('alerts.retry.backoffMs'),
        maxAttempts: section?.getOptionalNumber('alerts.retry.maxAttempts'),
      },
      limits: readAlertLimits(config, logger),
    },
    retention: {
      policy: readRetention(config),
      schedule: schedule('retention.schedule', RETENTION_SCHEDULE),
    },
    actions: {
      allowedServices: section?.getOptionalStringArray(
        'actions.allowedServices',
      ),
    },
    logs: {
      maxBytes: section?.getOptionalNumber('logs.maxBytes'),
      maxLines: section?.getOptionalNumber('logs.maxLines'),
    },
  };
}
