import { ServiceUnavailableError } from '@backstage/errors';
import { CircuitBreaker } from './CircuitBreaker';

const START = Date.parse('2026-12-02T13:00:00Z');

function breaker(options: { failures?: number; probeIntervalMs?: number }) {
  const clock = { now: START };
  return {
    b: new CircuitBreaker('GitHub', { ...options, now: () => clock.now }),
    clock,
  };
}

describe('CircuitBreaker', () => {
  it('opens after N consecutive failures and then fails fast, naming when it began', () => {
    const { b, clock } = breaker({ failures: 3 });
    for (let i = 0; i < 3; i++) {
      expect(b.enter()).toBe(false);
      b.failure(`GitHub answered 502 (${i})`);
      clock.now += 10_000;
    }
    const error = (() => {
      try {
        b.enter();
        return undefined;
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error!.message).toBe(
      'GitHub unreachable since 2026-12-02T13:00:00.000Z',
    );
    expect(b.state()).toEqual({
      state: 'open',
      since: '2026-12-02T13:00:00.000Z',
      lastError: 'GitHub answered 502 (2)',
    });
  });

  it('does not open when a success breaks the streak', () => {
    const { b } = breaker({ failures: 3 });
    b.failure('timeout');
    b.failure('timeout');
    b.success();
    b.failure('timeout');
    b.failure('timeout');
    expect(b.enter()).toBe(false);
    expect(b.state().state).toBe('closed');
  });

  it('lets one probe through per interval; a failed probe keeps it open, a good one closes it', () => {
    const { b, clock } = breaker({ failures: 1, probeIntervalMs: 60_000 });
    b.failure('network error');
    expect(() => b.enter()).toThrow(/unreachable since/);
    clock.now += 60_000;
    expect(b.enter()).toBe(true);
    expect(b.state().state).toBe('half-open');
    // Only one probe at a time.
    expect(() => b.enter()).toThrow(/unreachable since 2026-12-02T13:00:00/);
    b.failure('still down');
    expect(b.state()).toMatchObject({ state: 'open', lastError: 'still down' });
    clock.now += 59_999;
    expect(() => b.enter()).toThrow(ServiceUnavailableError);
    clock.now += 1;
    expect(b.enter()).toBe(true);
    b.success();
    expect(b.state()).toEqual({ state: 'closed' });
    expect(b.enter()).toBe(false);
  });

  it('frees the probe when it was never sent', () => {
    const { b, clock } = breaker({ failures: 1, probeIntervalMs: 1000 });
    b.failure('down');
    clock.now += 1000;
    expect(b.enter()).toBe(true);
    b.abandon(true);
    expect(b.enter()).toBe(true);
  });
});
