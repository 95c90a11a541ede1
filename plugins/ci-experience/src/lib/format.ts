import { CiRun } from '@ci-experience/plugin-ci-experience-common';

// A tiny formatter instead of luxon or date-fns: the plugin needs only
// "x minutes ago" and "3m 12s", and neither library is a dependency here.
const relativeTimeFormat = new Intl.RelativeTimeFormat('en', {
  numeric: 'auto',
});

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];

/**
 * `2 minutes ago`, `in 3 hours`, `now`; undefined for a missing or invalid
 * time.
 */
export function formatRelativeTime(
  iso: string | undefined,
  now: number = Date.now(),
): string | undefined {
  const time = iso ? Date.parse(iso) : NaN;
  if (Number.isNaN(time)) {
    return undefined;
  }
  const seconds = Math.round((time - now) / 1000);
  for (const [unit, unitSeconds] of UNITS) {
    if (Math.abs(seconds) >= unitSeconds) {
      return relativeTimeFormat.format(Math.trunc(seconds / unitSeconds), unit);
    }
  }
  // Seconds are noise for data age and run starts.
  return 'just now';
}

/** `1h 2m`, `3m 12s`, `45s`. */
export function formatDuration(ms: number): string {
  const totalSeconds = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) {
    return `${hours}h ${minutes}m`;
  }
  if (minutes > 0) {
    return `${minutes}m ${seconds}s`;
  }
  return `${seconds}s`;
}

/**
 * How long a run took, or has been running so far; undefined when it has not
 * started.
 */
export function runDurationMs(
  run: Pick<CiRun, 'durationMs' | 'startedAt' | 'finishedAt' | 'status'>,
  now: number = Date.now(),
): number | undefined {
  if (run.durationMs !== undefined) {
    return run.durationMs;
  }
  const started = run.startedAt ? Date.parse(run.startedAt) : NaN;
  if (Number.isNaN(started)) {
    return undefined;
  }
  const finished = run.finishedAt ? Date.parse(run.finishedAt) : NaN;
  if (!Number.isNaN(finished)) {
    return finished - started;
  }
  return run.status === 'running' ? now - started : undefined;
}

/** `#562`, or `#562 · attempt 2` for a re-run. */
export function formatRunNumber(
  run: Pick<CiRun, 'runNumber' | 'attempt'>,
): string {
  return run.attempt > 1
    ? `#${run.runNumber} · attempt ${run.attempt}`
    : `#${run.runNumber}`;
}

const PROVIDER_LABELS: Record<string, string> = {
  'github-actions': 'GitHub Actions',
  gitlab: 'GitLab CI',
  jenkins: 'Jenkins',
  buildkite: 'Buildkite',
  circleci: 'CircleCI',
};

/**
 * The short name of a run's workflow, for people: the provider's own label
 * (`workflowLabel`, e.g. a Jenkins job's display name), or the last segment
 * of a path-like workflow (`team/payments/main` → `main`). A name with spaces
 * (`CI / build`) is a name, not a path, and stays whole.
 */
export function workflowName(
  run: Pick<CiRun, 'workflow' | 'workflowLabel'>,
): string {
  if (run.workflowLabel) {
    return run.workflowLabel;
  }
  const { workflow } = run;
  if (!workflow.includes('/') || /\s/.test(workflow)) {
    return workflow;
  }
  const segments = workflow.split('/').filter(Boolean);
  return segments[segments.length - 1] ?? workflow;
}

/** The display name of a provider id such as `github-actions`. */
export function providerLabel(provider: string): string {
  return Object.prototype.hasOwnProperty.call(PROVIDER_LABELS, provider)
    ? PROVIDER_LABELS[provider]
    : provider;
}

/** `900 B`, `12.5 KiB`, `3.2 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) {
    return `${bytes} B`;
  }
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${
    units[unit]
  }`;
}
