import { describeAttempts } from './attempts';

describe('describeAttempts', () => {
  it('says how each attempt went, oldest first', () => {
    expect(
      describeAttempts([
        { attempt: 2, status: 'succeeded' },
        { attempt: 1, status: 'failed' },
      ]),
    ).toBe('Attempt 1 failed, attempt 2 passed');
    expect(
      describeAttempts([
        { attempt: 1, status: 'cancelled' },
        { attempt: 2, status: 'running' },
      ]),
    ).toBe('Attempt 1 was cancelled, attempt 2 is running');
  });
});
