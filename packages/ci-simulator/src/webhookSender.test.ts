import { startReceiver, waitFor } from './__testUtils__/receiver';
import { DEMO_REPOS, SimRepoSpec, SimulatedHistory } from './history';
import { runChanges, runState, watchRuns } from './watchedRuns';
import { PollingWebhookSender, WebhookDelivery } from './webhookSender';

interface Item {
  state: string;
}

/** A sender over a map the test edits, delivering `<key>:<old>-><new>`. */
function setup(
  targetUrl: string,
  extra: Partial<ConstructorParameters<typeof PollingWebhookSender>[0]> = {},
) {
  const items = new Map<string, Item>();
  const calls: Array<[string | undefined, string]> = [];
  const lines: string[] = [];
  const sender = new PollingWebhookSender<Item>({
    name: 'test webhooks',
    targetUrl,
    log: line => lines.push(line),
    snapshot: () => new Map([...items].map(([k, v]) => [k, { ...v }])),
    deliveriesFor: (before, next): WebhookDelivery[] => {
      calls.push([before?.state, next.state]);
      return [
        {
          headers: { 'content-type': 'application/json', 'x-test': 'yes' },
          body: JSON.stringify({ from: before?.state ?? null, to: next.state }),
        },
      ];
    },
    ...extra,
  });
  return { items, calls, lines, sender };
}

describe('PollingWebhookSender', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  afterEach(() => receiver.close());

  it('takes a silent baseline, then delivers each changed or new item once', async () => {
    receiver = await startReceiver();
    const { items, calls, sender } = setup(`${receiver.origin}/hook`);
    items.set('a', { state: 'queued' });
    items.set('b', { state: 'queued' });
    expect(await sender.tick()).toEqual({ sent: 0, failed: 0 });
    expect(calls).toEqual([]);

    items.set('a', { state: 'running' });
    items.set('c', { state: 'queued' });
    expect(await sender.tick()).toEqual({ sent: 2, failed: 0 });
    expect(calls).toEqual([
      ['queued', 'running'],
      [undefined, 'queued'],
    ]);
    expect(receiver.received.map(d => d.body)).toEqual([
      { from: 'queued', to: 'running' },
      { from: null, to: 'queued' },
    ]);
    expect(receiver.received[0].headers['x-test']).toBe('yes');

    // A vanished item is not reported; an unchanged one neither.
    items.delete('b');
    expect(await sender.tick()).toEqual({ sent: 0, failed: 0 });
  });

  it('logs a failing look at the history instead of throwing, and goes on', async () => {
    receiver = await startReceiver();
    const lines: string[] = [];
    let fail = true;
    const sender = new PollingWebhookSender<Item>({
      name: 'test webhooks',
      targetUrl: `${receiver.origin}/hook`,
      log: line => lines.push(line),
      snapshot: () => {
        if (fail) {
          throw new Error('broken history');
        }
        return new Map();
      },
      deliveriesFor: () => [],
    });
    expect(await sender.tick()).toEqual({ sent: 0, failed: 0 });
    expect(lines).toEqual([
      'test webhooks: could not look at the history: broken history',
    ]);
    fail = false;
    expect(await sender.tick()).toEqual({ sent: 0, failed: 0 });
  });

  it('logs a repeated failure reason once within the quiet time, then says how many it left out', async () => {
    receiver = await startReceiver('fail');
    const now = jest.spyOn(Date, 'now');
    try {
      now.mockReturnValue(1_000_000);
      const { items, lines, sender } = setup(`${receiver.origin}/hook`, {
        quietMs: 60_000,
      });
      await sender.tick();
      for (let i = 0; i < 3; i++) {
        items.set('a', { state: `s${i}` });
        expect(await sender.tick()).toEqual({ sent: 0, failed: 1 });
      }
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('HTTP 500');
      now.mockReturnValue(1_000_000 + 61_000);
      items.set('a', { state: 'later' });
      await sender.tick();
      expect(lines).toHaveLength(2);
      expect(lines[1]).toContain('(2 similar failures not logged)');
    } finally {
      now.mockRestore();
    }
  });

  it('keeps looking on its timer, one look at a time, until stopped', async () => {
    receiver = await startReceiver();
    const { items, sender } = setup(`${receiver.origin}/hook`, {
      intervalMs: 5,
    });
    items.set('a', { state: '0' });
    await sender.tick();
    sender.start();
    sender.start(); // a second start changes nothing
    const { received } = receiver;
    try {
      for (let i = 1; i <= 3; i++) {
        items.set('a', { state: String(i) });
        const want = i;
        await waitFor(() => received.length >= want);
      }
    } finally {
      sender.stop();
    }
    const count = receiver.received.length;
    items.set('a', { state: 'after stop' });
    await new Promise(resolve => setTimeout(resolve, 50));
    expect(receiver.received).toHaveLength(count);
    expect(receiver.received.map(d => d.body.to)).toEqual(['1', '2', '3']);
  });
});

describe('watchRuns and runChanges', () => {
  /** A run that failed and was re-run, and the moments around its attempts. */
  function rerun() {
    const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
    const history = new SimulatedHistory(DEMO_REPOS, {
      now: () => clock.now,
    });
    for (;;) {
      for (const spec of history.repos.filter(s => !s.forbidden)) {
        const run = history.listRuns(spec).find(r => r.attempt === 2);
        if (run) {
          const first = history.getRun(spec, run.id, 1)!;
          return { clock, history, spec, run, first };
        }
      }
      clock.now += 10 * 60_000;
    }
  }

  function atTime<T>(clock: { now: number }, t: number, f: () => T): T {
    const keep = clock.now;
    clock.now = t;
    try {
      return f();
    } finally {
      clock.now = keep;
    }
  }

  it('per attempt, keeps reporting an attempt a re-run hid until it ends', () => {
    const { clock, history, spec, run, first } = rerun();
    const key = (attempt: number) =>
      `${spec.owner}/${spec.repo}#${run.id}/${attempt}`;
    // While attempt 1 still runs.
    const during = first.jobs.find(j => j.startedAt)!.startedAt! + 1;
    const seen = atTime(clock, during, () =>
      watchRuns(history, 'per-attempt', 2 * 3600_000, undefined),
    );
    expect(seen.get(key(1))?.run.status).toBe('in_progress');
    expect(seen.has(key(2))).toBe(false);

    const after = atTime(clock, run.createdAt + 1, () =>
      watchRuns(history, 'per-attempt', 2 * 3600_000, seen),
    );
    expect(after.get(key(1))?.run.status).toBe('completed');
    expect(after.get(key(2))?.run.attempt).toBe(2);
  });

  it('latest, reports the end of the hidden attempt before the re-run', () => {
    const { clock, history, spec, run, first } = rerun();
    const key = `${spec.owner}/${spec.repo}#${run.id}`;
    const during = first.jobs.find(j => j.startedAt)!.startedAt! + 1;
    const seen = atTime(clock, during, () =>
      watchRuns(history, 'latest', 2 * 3600_000, undefined),
    );
    expect(seen.get(key)?.run.attempt).toBe(1);
    const changes = atTime(clock, run.createdAt + 1, () => {
      const now = watchRuns(history, 'latest', 2 * 3600_000, seen);
      expect(now.get(key)?.run.attempt).toBe(2);
      return runChanges(history, seen.get(key), now.get(key)!);
    });
    expect(changes.map(c => [c.before?.attempt, c.run.attempt])).toEqual([
      [1, 1],
      [undefined, 2],
    ]);
    expect(changes[0].run.status).toBe('completed');
    expect(changes[0].run.conclusion).toBe(first.conclusion);
    expect(runState(changes[0].before!)).not.toBe(runState(changes[0].run));
  });

  it('leaves out forbidden repositories and runs older than the window', () => {
    const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
    const history = new SimulatedHistory(DEMO_REPOS, {
      now: () => clock.now,
    });
    const watched = watchRuns(history, 'per-attempt', 30 * 60_000, undefined);
    const specs = new Set<SimRepoSpec>([...watched.values()].map(w => w.spec));
    expect([...specs].some(s => s.forbidden)).toBe(false);
    expect(specs.size).toBe(DEMO_REPOS.filter(s => !s.forbidden).length);
    for (const { run } of watched.values()) {
      expect(run.createdAt).toBeGreaterThanOrEqual(clock.now - 30 * 60_000);
    }
  });
});
