import { mockServices } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { ConfigReader } from '@backstage/config';
import { EventParams } from '@backstage/plugin-events-node';
import {
  createMemoryCache,
  describeCiProviderContract,
} from '@ci-experience/plugin-ci-experience-node/testUtils';
import { CiEventsProvider } from './CiEventsProvider';

const TOKEN = 'ci-events-test-token-0123456789';
const OTHER_TOKEN = 'ci-events-other-team-token-0123';

const entity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'payments-nightly',
    annotations: {
      'ci-experience.io/ci-events-source': 'acme/payments-nightly',
    },
  },
};

/** A run as a CI posts it (docs/providers/ci-events.md). */
function post(run: Record<string, unknown> = {}, extra = {}) {
  return {
    deliveryId: `d-${Math.random().toString(36).slice(2)}`,
    source: 'acme/payments-nightly',
    run: {
      id: '4711',
      number: 12,
      workflow: 'nightly',
      status: 'failed',
      url: 'https://ci.example.com/acme/payments-nightly/4711',
      branch: 'main',
      commitSha: 'a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0',
      createdAt: '2026-12-01T02:00:00Z',
      startedAt: '2026-12-01T02:00:05Z',
      finishedAt: '2026-12-01T02:09:00Z',
      jobs: [
        {
          id: 'build',
          name: 'Build',
          status: 'succeeded',
          startedAt: '2026-12-01T02:00:05Z',
          finishedAt: '2026-12-01T02:04:00Z',
          steps: [{ name: 'compile', status: 'succeeded' }],
        },
        {
          id: 'test',
          name: 'Test',
          status: 'failed',
          startedAt: '2026-12-01T02:04:00Z',
          finishedAt: '2026-12-01T02:09:00Z',
        },
      ],
      ...run,
    },
    ...extra,
  };
}

const delivery = (body: unknown, token = TOKEN): EventParams => ({
  topic: 'ci-events.run',
  eventPayload: body,
  metadata: { authorization: `Bearer ${token}` },
});

function createProvider(cache = createMemoryCache()) {
  return CiEventsProvider.fromConfig(
    new ConfigReader({
      ciExperience: {
        providers: {
          ciEvents: {
            senders: [
              { token: TOKEN, sources: ['acme/*'] },
              { token: OTHER_TOKEN, sources: ['other/*'] },
            ],
          },
        },
      },
    }),
    { cache, logger: mockServices.logger.mock() },
  )!;
}

const claimed = async () => ({ source: 'acme/payments-nightly' });

describeCiProviderContract('CiEventsProvider', {
  createProvider: () => createProvider(),
  entity,
  // Its API is the post: a finished run and a running one.
  seed: async provider => {
    await provider.webhook!.parse(delivery(post()), claimed);
    await provider.webhook!.parse(
      delivery(
        post({
          id: '4712',
          number: 13,
          status: 'running',
          finishedAt: undefined,
          jobs: [],
        }),
      ),
      claimed,
    );
  },
  secrets: [TOKEN, OTHER_TOKEN],
  deliveries: [delivery(post({ id: '5000', number: 20 }))],
});

describe('CiEventsProvider', () => {
  it('is off without senders, and refuses a short token', () => {
    const options = {
      cache: createMemoryCache(),
      logger: mockServices.logger.mock(),
    };
    expect(
      CiEventsProvider.fromConfig(new ConfigReader({}), options),
    ).toBeUndefined();
    expect(() =>
      CiEventsProvider.fromConfig(
        new ConfigReader({
          ciExperience: {
            providers: {
              ciEvents: { senders: [{ token: 'short', sources: ['*'] }] },
            },
          },
        }),
        options,
      ),
    ).toThrow(/at least 16 characters/);
  });

  it('writes a posted run with its jobs and steps, the job list complete', async () => {
    const provider = createProvider();
    const parsed = await provider.webhook.parse(delivery(post()), claimed);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.sourceKey).toBe('ci-events:acme/payments-nightly');
    const [run] = parsed.write.runs!;
    expect(run).toMatchObject({
      provider: 'ci-events',
      source: 'acme/payments-nightly',
      providerRunId: '4711',
      attempt: 1,
      status: 'failed',
      jobsRead: true,
      createdAt: '2026-12-01T02:00:00.000Z',
      durationMs: 535_000,
    });
    expect(parsed.write.jobs!.map(j => [j.job.name, j.job.status])).toEqual([
      ['Build', 'succeeded'],
      ['Test', 'failed'],
    ]);
    expect(parsed.write.jobs![0].job.steps?.[0]).toMatchObject({
      number: 1,
      name: 'compile',
    });
  });

  it('keeps a post for a source no entity names yet, for its first sync', async () => {
    const cache = createMemoryCache();
    const provider = createProvider(cache);
    const parsed = await provider.webhook.parse(
      delivery(post()),
      async () => undefined,
    );
    expect(parsed).toMatchObject({ ok: false, reason: 'unclaimed' });
    const [source] = provider.getSources(entity);
    const { runs } = await provider.listRuns(source);
    expect(runs.map(r => r.providerRunId)).toEqual(['4711']);
    expect((await provider.listJobs(source, runs[0])).map(j => j.name)).toEqual(
      ['Build', 'Test'],
    );
  });

  it('identifies a post without a delivery id by its content, so a retry is a duplicate', async () => {
    const provider = createProvider();
    const body = post({}, { deliveryId: undefined });
    const a = await provider.webhook.parse(delivery(body), claimed);
    const b = await provider.webhook.parse(delivery(body), claimed);
    expect(a.ok && b.ok && a.deliveryId === b.deliveryId).toBe(true);
  });

  it('refuses a sender outside its sources, and a post without a token', async () => {
    const provider = createProvider();
    const reject = jest.fn();
    const request = (token?: string) => ({
      body: post(),
      headers: token ? { authorization: `Bearer ${token}` } : {},
      query: {},
      raw: { body: Buffer.from(''), encoding: 'utf-8' as const },
    });
    await provider.webhook.validator!(request(OTHER_TOKEN), { reject });
    expect(reject).toHaveBeenLastCalledWith(
      expect.objectContaining({ status: 403 }),
    );
    await provider.webhook.validator!(request(), { reject });
    expect(reject).toHaveBeenLastCalledWith(
      expect.objectContaining({ status: 401 }),
    );
    reject.mockClear();
    await provider.webhook.validator!(request(TOKEN), { reject });
    expect(reject).not.toHaveBeenCalled();
    // And the parser checks again what it is handed.
    const parsed = await provider.webhook.parse(
      delivery(post(), OTHER_TOKEN),
      claimed,
    );
    expect(parsed).toMatchObject({ ok: false, reason: 'unsupported' });
  });

  it('refuses impossible values: a bad status, a time outside 1970–9999, an unsafe source', async () => {
    const provider = createProvider();
    for (const body of [
      post({ status: 'exploded' }),
      post({ url: ['javascript', 'alert(1)'].join(':') }),
      post({}, { source: '../other-team' }),
      post({ number: -1 }),
    ]) {
      const parsed = await provider.webhook.parse(delivery(body), claimed);
      expect(parsed).toMatchObject({ ok: false, reason: 'malformed' });
    }
    await expect(
      provider.webhook.parse(
        delivery(post({ createdAt: '10000-01-01T00:00:00Z' })),
        claimed,
      ),
    ).rejects.toThrow(/out-of-range/);
  });

  it('names up to 20 valid sources from the annotation', () => {
    const provider = createProvider();
    const names = Array.from({ length: 30 }, (_, i) => `acme/s${i}`);
    const sources = provider.getSources({
      ...entity,
      metadata: {
        name: 'x',
        annotations: {
          'ci-experience.io/ci-events-source': ['../x', ...names].join(', '),
        },
      },
    });
    expect(sources).toHaveLength(20);
    expect(sources[0].source).toBe('acme/s0');
  });
});
