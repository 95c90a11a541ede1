import {
  barPosition,
  criticalPath,
  graphCriticalPath,
  intervalOf,
  runCriticalPath,
  timelineBounds,
  TimedItem,
} from './timeline';

const T0 = Date.parse('2024-05-01T10:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

/** A finished job from minute `from` to minute `to`. */
function job(
  id: string,
  from: number,
  to: number,
  extra: Partial<TimedItem> = {},
): TimedItem & { id: string } {
  return {
    id,
    status: 'succeeded',
    startedAt: at(from),
    finishedAt: at(to),
    ...extra,
  };
}

describe('criticalPath', () => {
  it('follows a chain of jobs that wait for each other', () => {
    const path = criticalPath([
      job('lint', 0, 1),
      job('build', 0, 4),
      job('test', 4, 9),
      job('deploy', 9, 11),
    ]);
    expect(path.jobIds).toEqual(['build', 'test', 'deploy']);
    expect(path.durationMs).toBe(11 * 60_000);
  });

  it('takes the longer of two parallel branches, whatever the listing order', () => {
    const jobs = [
      job('setup', 0, 2),
      // Two branches after setup: unit then coverage (4 min), or integration (8 min).
      job('unit', 2, 5),
      job('coverage', 5, 6),
      job('integration', 2, 10),
      job('publish', 10, 11),
    ];
    const expected = ['setup', 'integration', 'publish'];
    expect(criticalPath(jobs).jobIds).toEqual(expected);
    expect(criticalPath([...jobs].reverse()).jobIds).toEqual(expected);
    expect(criticalPath(jobs).durationMs).toBe(11 * 60_000);
  });

  it('does not chain jobs that overlap in time', () => {
    const path = criticalPath([job('a', 0, 5), job('b', 4, 8)]);
    // b started before a finished: not a chain, so the longer one alone.
    expect(path.jobIds).toEqual(['a']);
    expect(path.durationMs).toBe(5 * 60_000);
  });

  it('prefers the sum of a chain over the single longest job', () => {
    const path = criticalPath([
      job('long', 0, 6),
      job('first', 0, 4),
      job('second', 4, 8),
    ]);
    expect(path.jobIds).toEqual(['first', 'second']);
    expect(path.durationMs).toBe(8 * 60_000);
  });

  it('counts a running job until now and leaves out jobs that have not run', () => {
    const now = T0 + 20 * 60_000;
    const path = criticalPath(
      [
        job('build', 0, 5),
        {
          id: 'test',
          status: 'running',
          startedAt: at(5),
        },
        { id: 'deploy', status: 'queued' },
        // Finished but with no finish time: cannot be placed.
        { id: 'odd', status: 'succeeded', startedAt: at(0) },
      ],
      now,
    );
    expect(path.jobIds).toEqual(['build', 'test']);
    expect(path.durationMs).toBe(20 * 60_000);
  });

  it('is empty when no job has run', () => {
    expect(criticalPath([])).toEqual({ jobIds: [], durationMs: 0 });
    expect(
      criticalPath([
        { id: 'a', status: 'queued' },
        { id: 'b', status: 'skipped' },
      ]),
    ).toEqual({ jobIds: [], durationMs: 0 });
  });

  it('breaks ties by the chain that ends first', () => {
    const path = criticalPath([job('late', 5, 8), job('early', 0, 3)]);
    expect(path.jobIds).toEqual(['early', 'late']);
    // Two unrelated jobs of the same length overlapping: the first to end.
    expect(criticalPath([job('y', 1, 4), job('x', 0, 3)]).jobIds).toEqual([
      'x',
    ]);
  });
});

/** A finished job of a job graph, waiting for `needs`. */
function node(id: string, from: number, to: number, needs: string[] = []) {
  return { ...job(id, from, to), needs };
}

describe('graphCriticalPath', () => {
  // docs runs on its own; package waits for build (and sat in the queue a
  // minute after build ended). Times alone would chain docs → package.
  const jobs = [
    node('build', 0, 3),
    node('docs', 0, 6),
    node('package', 7, 11, ['build']),
  ];

  it("follows the provider's needs, not what merely ran one after the other", () => {
    expect(graphCriticalPath(jobs)).toEqual({
      jobIds: ['build', 'package'],
      durationMs: 7 * 60_000,
    });
    // The estimate from times tells a different story, hence its label.
    expect(criticalPath(jobs).jobIds).toEqual(['docs', 'package']);
  });

  it('takes the heavier of two needs, whatever the listing order', () => {
    const dag = [
      node('setup', 0, 2),
      node('unit', 2, 5, ['setup']),
      node('integration', 2, 10, ['setup']),
      node('e2e', 2, 4),
      node('publish', 10, 11, ['unit', 'integration', 'e2e']),
    ];
    const expected = ['setup', 'integration', 'publish'];
    expect(graphCriticalPath(dag).jobIds).toEqual(expected);
    expect(graphCriticalPath([...dag].reverse()).jobIds).toEqual(expected);
    expect(graphCriticalPath(dag).durationMs).toBe(11 * 60_000);
  });

  it('leaves out jobs that have not run, unknown ids and cycles, without hanging', () => {
    const now = T0 + 20 * 60_000;
    const path = graphCriticalPath(
      [
        node('build', 0, 5, ['not-in-this-run']),
        { id: 'test', status: 'running', startedAt: at(5), needs: ['build'] },
        { id: 'deploy', status: 'queued', needs: ['test'] },
        // Bad data: a cycle. It must neither loop nor win.
        node('a', 0, 1, ['b']),
        node('b', 1, 2, ['a']),
      ],
      now,
    );
    expect(path).toEqual({
      jobIds: ['build', 'test'],
      durationMs: 20 * 60_000,
    });
    expect(graphCriticalPath([])).toEqual({ jobIds: [], durationMs: 0 });
  });
});

describe('runCriticalPath', () => {
  it('uses the job graph when the jobs carry needs', () => {
    const path = runCriticalPath([
      node('build', 0, 3),
      node('docs', 0, 6),
      node('package', 7, 11, ['build']),
    ]);
    expect(path).toEqual({
      jobIds: ['build', 'package'],
      durationMs: 7 * 60_000,
      basis: 'graph',
    });
  });

  it('estimates from times when the provider gives no graph', () => {
    const path = runCriticalPath([
      job('build', 0, 3),
      job('docs', 0, 6),
      job('package', 7, 11),
    ]);
    expect(path).toEqual({
      jobIds: ['docs', 'package'],
      durationMs: 10 * 60_000,
      basis: 'estimated',
    });
  });
});

describe('intervalOf and timelineBounds', () => {
  it('places finished and running items, and skips what cannot be placed', () => {
    const now = T0 + 10 * 60_000;
    expect(intervalOf(job('a', 1, 3))).toEqual({
      start: T0 + 60_000,
      end: T0 + 180_000,
    });
    expect(intervalOf({ status: 'running', startedAt: at(2) }, now)).toEqual({
      start: T0 + 120_000,
      end: now,
    });
    expect(intervalOf({ status: 'queued' })).toBeUndefined();
    expect(
      intervalOf({ status: 'failed', startedAt: at(5), finishedAt: at(1) }),
    ).toBeUndefined();
    expect(
      intervalOf({ status: 'failed', startedAt: 'yesterday' }),
    ).toBeUndefined();

    expect(
      timelineBounds([job('a', 3, 4), job('b', 1, 2), { status: 'queued' }]),
    ).toEqual({ start: T0 + 60_000, end: T0 + 240_000 });
    expect(timelineBounds([{ status: 'queued' }])).toBeUndefined();
  });
});

describe('barPosition', () => {
  const bounds = { start: 0, end: 1000 };

  it('places a bar in percent of the axis', () => {
    expect(barPosition({ start: 250, end: 750 }, bounds)).toEqual({
      leftPct: 25,
      widthPct: 50,
    });
  });

  it('keeps very short bars visible and inside the axis', () => {
    expect(barPosition({ start: 1000, end: 1000 }, bounds, 1)).toEqual({
      leftPct: 99,
      widthPct: 1,
    });
    expect(barPosition({ start: 0, end: 0 }, { start: 0, end: 0 })).toEqual({
      leftPct: 0,
      widthPct: 100,
    });
  });
});
