import { daysSinceLongRed } from './ciFactRetriever';

const DAY = 24 * 3600_000;
const NOW = Date.parse('2026-12-03T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();

describe('daysSinceLongRed', () => {
  const run = (
    workflow: string,
    status: 'succeeded' | 'failed' | 'running',
    createdAgo: number,
  ) => ({ workflow, status, createdAt: ago(createdAgo) });

  it('measures from the end of the last red stretch over a day, per workflow', () => {
    expect(
      daysSinceLongRed(
        [
          run('CI', 'succeeded', 20 * DAY),
          run('CI', 'failed', 10 * DAY), // red for 2 days...
          run('CI', 'failed', 9 * DAY),
          run('CI', 'succeeded', 8 * DAY), // ...until here
          run('CI', 'failed', 3 * DAY), // red for 12 hours only
          run('CI', 'succeeded', 2.5 * DAY),
          run('Deploy', 'succeeded', 1 * DAY),
        ],
        NOW,
      ),
    ).toBe(8);
  });

  it('is 0 while a stretch over a day is open, and absent when there was none', () => {
    expect(
      daysSinceLongRed(
        [run('CI', 'succeeded', 5 * DAY), run('CI', 'failed', 2 * DAY)],
        NOW,
      ),
    ).toBe(0);
    // Red for 12 hours so far, and a running run: not yet a day.
    expect(
      daysSinceLongRed(
        [
          run('CI', 'succeeded', 5 * DAY),
          run('CI', 'failed', 0.5 * DAY),
          run('CI', 'running', 0.1 * DAY),
        ],
        NOW,
      ),
    ).toBeUndefined();
    expect(daysSinceLongRed([], NOW)).toBeUndefined();
  });

  it('does not join one workflow red with another one green', () => {
    expect(
      daysSinceLongRed(
        [
          run('CI', 'failed', 6 * DAY),
          run('Deploy', 'succeeded', 5 * DAY),
          run('CI', 'succeeded', 4 * DAY),
        ],
        NOW,
      ),
    ).toBe(4);
  });
});
