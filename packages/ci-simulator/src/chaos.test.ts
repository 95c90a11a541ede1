import { getResponse } from 'msw';
import {
  ChaosSettingsError,
  DEFAULT_CHAOS,
  SimulatorChaos,
  parseChaosSettings,
} from './chaos';
import { SimulatorControl } from './control';
import { GithubSimulator } from './handlers';
import { DEMO_REPOS, SimulatedHistory } from './history';

const API = 'http://localhost:7008/api/v3';
const RUNS = `${API}/repos/demo-org/payments-service/actions/runs`;

function setup() {
  const clock = { now: Date.parse('2026-11-20T12:02:00Z') };
  const history = new SimulatedHistory(DEMO_REPOS, { now: () => clock.now });
  const simulator = new GithubSimulator(history, {
    apiBaseUrl: API,
    webBaseUrl: 'http://localhost:7008',
  });
  const control = new SimulatorControl(history, { chaos: simulator.chaos });
  const handlers = [...control.handlers(), ...simulator.handlers()];
  const call = async (
    method: string,
    url: string,
    body?: string,
  ): Promise<Response> => {
    const res = await getResponse(
      handlers,
      new Request(url, {
        method,
        headers: { authorization: 'token t' },
        body,
      }),
    );
    if (!res) {
      throw new Error(`no handler for ${method} ${url}`);
    }
    return res;
  };
  return { simulator, control, call };
}

function outcomes(chaos: SimulatorChaos, n: number) {
  return Array.from({ length: n }, () => chaos.decide());
}

describe('SimulatorChaos', () => {
  it('answers every request normally, uncounted, until set', () => {
    const chaos = new SimulatorChaos();
    expect(outcomes(chaos, 20).every(d => d.outcome === 'ok')).toBe(true);
    expect(chaos.state()).toEqual({
      enabled: false,
      counts: { ok: 0, error5xx: 0, slow: 0, tooMany: 0 },
    });
  });

  it('draws the same outcomes from the same seed, other ones from another', () => {
    const settings = {
      ...DEFAULT_CHAOS,
      error5xx: 0.3,
      slow: 0.2,
      tooMany: 0.2,
    };
    const a = new SimulatorChaos();
    const b = new SimulatorChaos();
    a.set({ ...settings, seed: 7 });
    b.set({ ...settings, seed: 7 });
    const first = outcomes(a, 200);
    expect(outcomes(b, 200)).toEqual(first);
    b.set({ ...settings, seed: 8 });
    expect(outcomes(b, 200)).not.toEqual(first);
    // Setting again restarts the sequence and the counts.
    a.set({ ...settings, seed: 7 });
    expect(outcomes(a, 200)).toEqual(first);
    expect(Object.values(a.state().counts).reduce((x, y) => x + y)).toBe(200);
  });

  it('answers about the configured shares, counted by outcome', () => {
    const chaos = new SimulatorChaos();
    chaos.set({
      ...DEFAULT_CHAOS,
      seed: 42,
      error5xx: 0.5,
      slow: 0.1,
      tooMany: 0.2,
    });
    const n = 4000;
    const drawn = outcomes(chaos, n);
    const { counts } = chaos.state();
    expect(counts.ok + counts.error5xx + counts.slow + counts.tooMany).toBe(n);
    expect(counts.error5xx / n).toBeCloseTo(0.5, 1);
    expect(counts.slow / n).toBeCloseTo(0.1, 1);
    expect(counts.tooMany / n).toBeCloseTo(0.2, 1);
    expect(counts.ok / n).toBeCloseTo(0.2, 1);
    const statuses = new Set(
      drawn.filter(d => d.outcome === 'error5xx').map(d => d.status),
    );
    expect([...statuses].sort()).toEqual([500, 502, 503]);
  });

  it('keeps its counts readable after it is cleared', () => {
    const chaos = new SimulatorChaos();
    chaos.set({ ...DEFAULT_CHAOS, error5xx: 1 });
    outcomes(chaos, 3);
    chaos.clear();
    expect(chaos.decide()).toEqual({ outcome: 'ok' });
    expect(chaos.state()).toEqual({
      enabled: false,
      counts: { ok: 0, error5xx: 3, slow: 0, tooMany: 0 },
    });
  });
});

describe('parseChaosSettings', () => {
  it('fills what is left out with the defaults', () => {
    expect(parseChaosSettings({})).toEqual(DEFAULT_CHAOS);
    expect(parseChaosSettings({ seed: 3, slow: 0.25, slowMs: 40_000 })).toEqual(
      { ...DEFAULT_CHAOS, seed: 3, slow: 0.25, slowMs: 40_000 },
    );
  });

  it.each([
    [[1], 'expected a JSON object'],
    [{ errors: 0.5 }, 'unknown setting errors'],
    [{ error5xx: 1.5 }, 'error5xx must be a number from 0 to 1'],
    [{ error5xx: '0.5' }, 'error5xx must be a number from 0 to 1'],
    [{ slowMs: -1 }, 'slowMs must be an integer from 0 to 600000'],
    [{ seed: 1.5 }, 'seed must be an integer'],
    [{ error5xx: 0.6, tooMany: 0.5 }, 'must not exceed 1'],
  ])('refuses %j', (body, message) => {
    expect(() => parseChaosSettings(body)).toThrow(ChaosSettingsError);
    expect(() => parseChaosSettings(body)).toThrow(message);
  });
});

describe('GithubSimulator with chaos', () => {
  it('answers 429 with Retry-After and GitHub rate-limit headers', async () => {
    const { simulator, call } = setup();
    simulator.chaos.set({ ...DEFAULT_CHAOS, error5xx: 0, tooMany: 1 });
    const res = await call('GET', RUNS);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.headers.get('x-ratelimit-limit')).toBe('5000');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('5000');
    expect(res.headers.get('x-ratelimit-resource')).toBe('core');
    expect((await res.json()).message).toMatch(/secondary rate limit/);
  });

  it('answers server errors, and normally again once cleared', async () => {
    const { simulator, call } = setup();
    simulator.chaos.set({ ...DEFAULT_CHAOS, error5xx: 1 });
    for (let i = 0; i < 5; i++) {
      expect([500, 502, 503]).toContain((await call('GET', RUNS)).status);
    }
    simulator.chaos.clear();
    const res = await call('GET', RUNS);
    expect(res.status).toBe(200);
    expect((await res.json()).workflow_runs.length).toBeGreaterThan(0);
    expect(simulator.stats.requests).toHaveLength(6);
  });

  it('answers a slow request only after slowMs', async () => {
    jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick'] });
    try {
      const { simulator, call } = setup();
      simulator.chaos.set({
        ...DEFAULT_CHAOS,
        error5xx: 0,
        slow: 1,
        slowMs: 40_000,
      });
      let answered: Response | undefined;
      const pending = call('GET', RUNS).then(r => {
        answered = r;
      });
      await jest.advanceTimersByTimeAsync(39_000);
      expect(answered).toBeUndefined();
      await jest.advanceTimersByTimeAsync(1_000);
      await pending;
      expect(answered?.status).toBe(200);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('SimulatorControl chaos endpoints', () => {
  it('sets chaos, reports counts by outcome and clears it', async () => {
    const { call } = setup();
    const set = await call(
      'POST',
      'http://localhost:7008/_simulator/chaos',
      JSON.stringify({ seed: 5, error5xx: 0.5, tooMany: 0.5 }),
    );
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({
      enabled: true,
      settings: { ...DEFAULT_CHAOS, seed: 5, error5xx: 0.5, tooMany: 0.5 },
      counts: { ok: 0, error5xx: 0, slow: 0, tooMany: 0 },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      statuses.push((await call('GET', RUNS)).status);
    }
    const cleared = await call(
      'DELETE',
      'http://localhost:7008/_simulator/chaos',
    );
    const state = await cleared.json();
    expect(state.enabled).toBe(false);
    expect(state.counts.ok).toBe(0);
    expect(state.counts.tooMany).toBe(statuses.filter(s => s === 429).length);
    expect(state.counts.error5xx).toBe(statuses.filter(s => s >= 500).length);
    expect(state.counts.error5xx + state.counts.tooMany).toBe(10);
    expect((await call('GET', RUNS)).status).toBe(200);
    expect(
      await (
        await call('GET', 'http://localhost:7008/_simulator/chaos')
      ).json(),
    ).toEqual(state);
  });

  it('answers 400 to bad settings and leaves chaos off', async () => {
    const { simulator, call } = setup();
    for (const body of ['{"error5xx": 2}', 'not json', '{"nope": 1}']) {
      const res = await call(
        'POST',
        'http://localhost:7008/_simulator/chaos',
        body,
      );
      expect(res.status).toBe(400);
      expect((await res.json()).message).toMatch(/^Bad chaos settings: /);
    }
    expect(simulator.chaos.enabled).toBe(false);
  });

  it('answers 404 when no chaos mode is wired', async () => {
    const history = new SimulatedHistory(DEMO_REPOS);
    const control = new SimulatorControl(history);
    const res = await getResponse(
      control.handlers(),
      new Request('http://localhost:7008/_simulator/chaos'),
    );
    expect(res?.status).toBe(404);
  });
});
