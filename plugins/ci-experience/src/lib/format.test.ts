import {
  formatBytes,
  formatDuration,
  formatRelativeTime,
  formatRunNumber,
  providerLabel,
  runDurationMs,
  workflowName,
} from './format';

describe('format', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');

  it('formats relative times', () => {
    expect(formatRelativeTime('2024-05-01T11:58:00Z', now)).toBe(
      '2 minutes ago',
    );
    expect(formatRelativeTime('2024-05-01T09:00:00Z', now)).toBe('3 hours ago');
    expect(formatRelativeTime('2024-04-30T12:00:00Z', now)).toBe('yesterday');
    expect(formatRelativeTime('2024-05-01T11:59:40Z', now)).toBe('just now');
    expect(formatRelativeTime(undefined, now)).toBeUndefined();
    expect(formatRelativeTime('not a date', now)).toBeUndefined();
  });

  it('formats durations', () => {
    expect(formatDuration(192_000)).toBe('3m 12s');
    expect(formatDuration(45_400)).toBe('45s');
    expect(formatDuration(3_720_000)).toBe('1h 2m');
  });

  it('derives durations of finished and running runs', () => {
    expect(runDurationMs({ durationMs: 5, status: 'succeeded' }, now)).toBe(5);
    expect(
      runDurationMs(
        {
          startedAt: '2024-05-01T11:00:00Z',
          finishedAt: '2024-05-01T11:01:00Z',
          status: 'failed',
        },
        now,
      ),
    ).toBe(60_000);
    expect(
      runDurationMs(
        { startedAt: '2024-05-01T11:59:00Z', status: 'running' },
        now,
      ),
    ).toBe(60_000);
    expect(runDurationMs({ status: 'queued' }, now)).toBeUndefined();
  });

  it('shows the attempt only for re-runs', () => {
    expect(formatRunNumber({ runNumber: 562, attempt: 1 })).toBe('#562');
    expect(formatRunNumber({ runNumber: 562, attempt: 2 })).toBe(
      '#562 · attempt 2',
    );
  });

  it('names providers', () => {
    expect(providerLabel('github-actions')).toBe('GitHub Actions');
    expect(providerLabel('something-new')).toBe('something-new');
  });

  it('formats byte counts', () => {
    expect(formatBytes(900)).toBe('900 B');
    expect(formatBytes(12_800)).toBe('12.5 KiB');
    expect(formatBytes(1024 * 1024)).toBe('1.0 MiB');
    expect(formatBytes(300 * 1024 * 1024)).toBe('300 MiB');
  });

  it('shortens path-like workflow names, and prefers the provider label', () => {
    expect(workflowName({ workflow: 'demo-org/payments-service/main' })).toBe(
      'main',
    );
    expect(
      workflowName({
        workflow: 'demo-org/payments-service/main',
        workflowLabel: 'Payments (main)',
      }),
    ).toBe('Payments (main)');
    expect(workflowName({ workflow: '.github/workflows/ci.yml' })).toBe(
      'ci.yml',
    );
    // Names, not paths: kept whole.
    expect(workflowName({ workflow: 'CI / build' })).toBe('CI / build');
    expect(workflowName({ workflow: 'Deploy' })).toBe('Deploy');
    expect(workflowName({ workflow: 'folder/' })).toBe('folder');
  });
});
