import { ChangeFanOut } from './ChangeFanOut';

describe('ChangeFanOut', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  function setup() {
    const now: string[] = [];
    const settled: string[][] = [];
    const fanOut = ChangeFanOut.create({
      now: key => now.push(key),
      settled: keys => settled.push([...keys].sort()),
      clock: () => Date.now(),
    });
    return { fanOut, now, settled };
  }

  it('tells of a change at once, and once writes settle, 2 s after the last', () => {
    const { fanOut, now, settled } = setup();
    fanOut.changed('a');
    fanOut.changed('b');
    expect(now).toEqual(['a', 'b']);
    jest.advanceTimersByTime(1_999);
    expect(settled).toEqual([]);
    fanOut.changed('a');
    jest.advanceTimersByTime(1_999);
    expect(settled).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(settled).toEqual([['a', 'b']]);
    jest.advanceTimersByTime(60_000);
    expect(settled).toHaveLength(1);
  });

  it('under a stream of writes, settles every 10 s at least, each key in one call', () => {
    const { fanOut, settled } = setup();
    // A write every 500 ms for 30 s: never 2 s of quiet.
    for (let t = 0; t < 30_000; t += 500) {
      fanOut.changed(`s${(t / 500) % 3}`);
      jest.advanceTimersByTime(500);
    }
    expect(settled).toEqual([
      ['s0', 's1', 's2'],
      ['s0', 's1', 's2'],
      ['s0', 's1', 's2'],
    ]);
    // The last window ended with the stream: nothing is left to set off.
    jest.advanceTimersByTime(2_000);
    expect(settled).toHaveLength(3);
  });

  it('sets nothing off after stop, but still tells of changes at once', () => {
    const { fanOut, now, settled } = setup();
    fanOut.changed('a');
    fanOut.stop();
    fanOut.changed('b');
    jest.advanceTimersByTime(60_000);
    expect(settled).toEqual([]);
    expect(now).toEqual(['a', 'b']);
  });
});
