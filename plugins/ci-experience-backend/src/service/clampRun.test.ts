import { clampRun } from './clampRun';

const NOW = Date.parse('2026-12-01T12:00:00.000Z');

describe('clampRun', () => {
  it('clamps a run and its jobs together', () => {
    const { run, changes } = clampRun(
      {
        id: 'r',
        provider: 'p',
        source: 's',
        sourceKey: 'p:s',
        providerRunId: '1',
        workflow: 'CI',
        runNumber: 1,
        attempt: 1,
        status: 'running',
        providerStatus: 'in_progress',
        url: 'https://ci.example.com/1',
        createdAt: '9999-01-01T00:00:00Z',
        jobs: [
          {
            id: 'j',
            name: 'build',
            status: 'running',
            providerStatus: 'in_progress',
            startedAt: '9999-01-01T00:00:00Z',
          },
        ],
      },
      NOW,
    );
    expect(run.createdAt).toBe('2026-12-01T12:00:00.000Z');
    expect(run.jobs?.[0].startedAt).toBe('2026-12-01T12:00:00.000Z');
    expect(changes).toEqual([
      'createdAt 9999-01-01T00:00:00.000Z in the future',
      'job j startedAt 9999-01-01T00:00:00.000Z in the future',
    ]);
  });
});
