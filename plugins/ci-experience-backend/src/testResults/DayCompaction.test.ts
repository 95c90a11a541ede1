import { mockServices } from '@backstage/backend-test-utils';
import { DayCompaction } from './DayCompaction';

describe('DayCompaction', () => {
  it('compacts pass after pass until fewer days than a pass remain', async () => {
    const left = [200, 200, 13];
    const store = { compactDays: jest.fn(async () => left.shift() ?? 0) };
    const compaction = new DayCompaction({
      store,
      logger: mockServices.logger.mock(),
      now: () => Date.parse('2026-12-03T12:00:00.000Z'),
    });
    expect(await compaction.run()).toBe(413);
    expect(store.compactDays).toHaveBeenCalledTimes(3);
    // Days first marked two minutes ago or more.
    expect(store.compactDays).toHaveBeenCalledWith({
      limit: 200,
      markedBefore: '2026-12-03T11:58:00.000Z',
    });
  });

  it('runs one pass at a time: a second call joins the running one', async () => {
    let release: (n: number) => void = () => {};
    const store = {
      compactDays: jest.fn(
        () =>
          new Promise<number>(resolve => {
            release = resolve;
          }),
      ),
    };
    const compaction = new DayCompaction({
      store,
      logger: mockServices.logger.mock(),
    });
    const first = compaction.run();
    const second = compaction.run();
    release(3);
    expect(await first).toBe(3);
    expect(await second).toBe(3);
    expect(store.compactDays).toHaveBeenCalledTimes(1);
  });

  it('logs a failure as a warning and tries again on the next tick', async () => {
    jest.useFakeTimers();
    try {
      const logger = mockServices.logger.mock();
      const store = {
        compactDays: jest
          .fn()
          .mockRejectedValueOnce(new Error('database is locked'))
          .mockResolvedValue(0),
      };
      const compaction = new DayCompaction({ store, logger, intervalMs: 1000 });
      compaction.start();
      await jest.advanceTimersByTimeAsync(1000);
      expect(logger.warn).toHaveBeenCalledWith(
        expect.stringContaining('database is locked'),
      );
      await jest.advanceTimersByTimeAsync(1000);
      expect(store.compactDays).toHaveBeenCalledTimes(2);
      await compaction.stop();
      await jest.advanceTimersByTimeAsync(5000);
      expect(store.compactDays).toHaveBeenCalledTimes(2);
    } finally {
      jest.useRealTimers();
    }
  });
});
