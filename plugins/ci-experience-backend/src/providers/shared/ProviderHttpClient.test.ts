import {
  mockServices,
  registerMswTestHooks,
} from '@backstage/backend-test-utils';
import {
  AuthenticationError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { CiMetrics } from '../../service/metrics';
import {
  basicCredential,
  bearerCredential,
  ProviderHttpClient,
  ProviderHttpClientOptions,
  standardRateLimitHeaders,
} from './ProviderHttpClient';
import { RateLimiter } from './RateLimiter';
import { memoryCache } from './__testUtils__/memoryCache';

const server = setupServer();
registerMswTestHooks(server);

const BASE = 'https://ci.example.com/api';
const TOKEN = 'tok_very_secret_value_123';

function fakeMetrics() {
  return {
    providerRequests: { add: jest.fn() },
    conditionalHits: { add: jest.fn() },
    rateLimitRemaining: { record: jest.fn() },
  };
}

function setup(options: Partial<ProviderHttpClientOptions> = {}) {
  const logger = mockServices.logger.mock();
  const metrics = fakeMetrics();
  const client = new ProviderHttpClient({
    label: 'ExampleCI',
    providerId: 'example',
    logger,
    metrics: metrics as unknown as CiMetrics,
    ...options,
  });
  const get = <T = unknown>(pathOrUrl: string, token = TOKEN) =>
    client.get<T>({
      host: 'ci.example.com',
      base: BASE,
      subject: 'pipeline acme/app',
      pathOrUrl,
      credential: bearerCredential(token),
    });
  return { client, logger, metrics, get };
}

/** Everything the logger was asked to write, as one string. */
function logged(logger: ReturnType<typeof mockServices.logger.mock>) {
  return [logger.debug, logger.info, logger.warn, logger.error]
    .flatMap(fn => (fn as jest.Mock).mock.calls)
    .map(call => JSON.stringify(call))
    .join('\n');
}

describe('ProviderHttpClient', () => {
  it('asks again with the ETag and serves a 304 from the cache, uncounted', async () => {
    const seen: Array<string | null> = [];
    server.use(
      http.get(`${BASE}/builds`, ({ request }) => {
        seen.push(request.headers.get('if-none-match'));
        if (request.headers.get('if-none-match') === 'W/"v1"') {
          return new HttpResponse(null, { status: 304 });
        }
        return HttpResponse.json([{ id: 1 }], {
          headers: {
            etag: 'W/"v1"',
            link: `<${BASE}/builds?page=2>; rel="next"`,
          },
        });
      }),
    );
    const cache = memoryCache();
    const { client, metrics, get } = setup({ cache: cache as any });
    const first = await get('/builds');
    const second = await get('/builds');
    expect(seen).toEqual([null, 'W/"v1"']);
    expect(first).toEqual({ body: [{ id: 1 }], next: `${BASE}/builds?page=2` });
    expect(second).toEqual({ ...first, notModified: true });
    expect(metrics.conditionalHits.add).toHaveBeenCalledWith(1, {
      provider: 'example',
      endpoint: '/builds',
    });
    expect(metrics.providerRequests.add).toHaveBeenLastCalledWith(1, {
      provider: 'example',
      host: 'ci.example.com',
      endpoint: '/builds',
      status: '304',
    });
    // The 304 is not counted against the budget.
    expect(client.limiter('ci.example.com').remainingBudget).toBe(3600 - 1);
    // Neither the token nor the URL is a cache key in clear.
    const keys = [...cache.data.keys()].join();
    expect(keys).not.toContain(TOKEN);
    expect(keys).not.toContain('ci.example.com');
    expect(cache.set).toHaveBeenCalledWith(
      expect.any(String),
      expect.anything(),
      {
        ttl: 24 * 3600_000,
      },
    );
  });

  it('keeps ETags per credential', async () => {
    server.use(
      http.get(`${BASE}/builds`, () =>
        HttpResponse.json([], { headers: { etag: '"x"' } }),
      ),
    );
    const cache = memoryCache();
    const { get } = setup({ cache: cache as any });
    await get('/builds', 'token-a');
    await get('/builds', 'token-b');
    expect(cache.data.size).toBe(2);
  });

  it('requests without an ETag when the cache fails, and logs no credential', async () => {
    const seen: Array<string | null> = [];
    server.use(
      http.get(`${BASE}/builds`, ({ request }) => {
        seen.push(request.headers.get('if-none-match'));
        return HttpResponse.json([], { headers: { etag: '"x"' } });
      }),
    );
    const broken = {
      get: jest.fn(async () => {
        throw new Error('cache down');
      }),
      set: jest.fn(async () => {
        throw new Error('cache down');
      }),
    };
    const { logger, get } = setup({ cache: broken as any });
    await expect(get('/builds')).resolves.toEqual({ body: [] });
    expect(seen).toEqual([null]);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(/Cache read failed, requesting ExampleCI/),
    );
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(/next ExampleCI request is unconditional/),
    );
    expect(logged(logger)).not.toContain(TOKEN);
  });

  it('turns a request that takes too long into a clear ServiceUnavailableError', async () => {
    server.use(
      http.get(`${BASE}/slow`, async () => {
        await delay(2_000);
        return HttpResponse.json({});
      }),
    );
    const { metrics, get } = setup({ timeoutMs: 50 });
    const error = await get('/slow').catch(e => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error.message).toBe(
      'ExampleCI did not answer within 0.05s for pipeline acme/app on ci.example.com',
    );
    expect(metrics.providerRequests.add).toHaveBeenCalledWith(
      1,
      expect.objectContaining({ status: 'timeout' }),
    );
  });

  it.each([
    [401, {}, AuthenticationError, /^ExampleCI rejected the API token for/],
    [
      403,
      {},
      NotAllowedError,
      /^ExampleCI refused access to .*\(with the configured API token\)/,
    ],
    [404, {}, NotFoundError, /^ExampleCI has no pipeline .* does not exist/],
    [
      429,
      { 'retry-after': '30' },
      ServiceUnavailableError,
      /^ExampleCI rate limit exhausted for .* for 30s: /,
    ],
    [
      403,
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1900000000' },
      ServiceUnavailableError,
      /rate limit exhausted for .* until 2030-/,
    ],
    [502, {}, ServiceUnavailableError, /^ExampleCI answered 502 for/],
    [
      503,
      { 'retry-after': '5' },
      ServiceUnavailableError,
      /answered 503 for .*\(retry after 5s\)/,
    ],
  ])(
    'turns a %s with headers %j into the right error, naming the source and host, never the token',
    async (status, headers, type, message) => {
      server.use(
        http.get(`${BASE}/builds`, () =>
          HttpResponse.json(
            { message: `refused for Bearer ${TOKEN} (${status})` },
            { status, headers: headers as Record<string, string> },
          ),
        ),
      );
      const { logger, get } = setup();
      const error = await get('/builds').catch(e => e);
      expect(error).toBeInstanceOf(type);
      expect(error.message).toMatch(message);
      expect(error.message).toContain('pipeline acme/app on ci.example.com');
      expect(error.message).toContain('refused for');
      expect(error.message).not.toContain(TOKEN);
      expect(logged(logger)).not.toContain(TOKEN);
    },
  );

  it('names a redirect instead of following it when asked', async () => {
    server.use(
      http.get(
        `${BASE}/builds`,
        () =>
          new HttpResponse(null, {
            status: 302,
            headers: { location: 'https://login.example.com/' },
          }),
      ),
    );
    const { get } = setup({
      redirect: 'manual',
      hints: { redirect: 'is apiBaseUrl the API base?' },
    });
    const error = await get('/builds').catch(e => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error.message).toBe(
      'ExampleCI answered with a redirect (302) for pipeline acme/app on ci.example.com; is apiBaseUrl the API base?',
    );
  });

  it('keeps Basic auth secrets out of messages', async () => {
    server.use(
      http.get(`${BASE}/job/a`, ({ request }) =>
        HttpResponse.json(
          {
            message: `no such user: ${request.headers.get(
              'authorization',
            )} / ${TOKEN}`,
          },
          { status: 401 },
        ),
      ),
    );
    const { client } = setup();
    const error = await client
      .get({
        host: 'ci.example.com',
        base: BASE,
        subject: 'job a',
        pathOrUrl: '/job/a',
        credential: basicCredential('ci-bot', TOKEN),
      })
      .catch(e => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.message).toMatch(/rejected the credentials of user ci-bot/);
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).not.toContain(
      Buffer.from(`ci-bot:${TOKEN}`).toString('base64'),
    );
  });

  it('reports an unreachable host and a body that is not JSON', async () => {
    server.use(
      http.get(`${BASE}/down`, () => HttpResponse.error()),
      http.get(`${BASE}/html`, () => HttpResponse.text('<html>')),
    );
    const { metrics, get } = setup();
    const down = await get('/down').catch(e => e);
    expect(down).toBeInstanceOf(ServiceUnavailableError);
    expect(down.message).toMatch(
      /^ExampleCI could not be reached for pipeline acme\/app on ci\.example\.com/,
    );
    expect(metrics.providerRequests.add).toHaveBeenCalledWith(
      1,
      expect.objectContaining({ status: 'network-error' }),
    );
    const html = await get('/html').catch(e => e);
    expect(html).toBeInstanceOf(ServiceUnavailableError);
    expect(html.message).toContain('not JSON');
  });

  it('refuses to send credentials to a page link outside the API base', async () => {
    const requests: string[] = [];
    server.events.on('request:start', ({ request }) => {
      requests.push(request.url);
    });
    const { get } = setup();
    for (const link of [
      'https://evil.example.com/api/builds',
      `${BASE}-evil/builds`,
    ]) {
      const error = await get(link).catch(e => e);
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect(error.message).toContain(`page link outside ${BASE}`);
    }
    expect(requests).toEqual([]);
    server.events.removeAllListeners();
  });

  it('spends each request through the RateLimiter of its host', async () => {
    server.use(http.get('https://*/api/builds', () => HttpResponse.json([])));
    const run = jest.spyOn(RateLimiter.prototype, 'run');
    const limits = jest.fn((host: string) =>
      host === 'b.example.com'
        ? { requestsPerHour: 10, maxConcurrency: 1 }
        : undefined,
    );
    const { client } = setup({
      limits,
      defaultLimits: { requestsPerHour: 500, maxConcurrency: 2 },
    });
    const get = (host: string) =>
      client.get({
        host,
        base: `https://${host}/api`,
        subject: 'pipeline acme/app',
        pathOrUrl: '/builds',
        credential: bearerCredential(TOKEN),
      });
    await get('a.example.com');
    await get('a.example.com');
    await get('b.example.com');
    expect(run).toHaveBeenCalledTimes(3);
    expect(limits).toHaveBeenCalledTimes(2);
    expect(limits.mock.calls.map(([host]) => host)).toEqual([
      'a.example.com',
      'b.example.com',
    ]);
    expect(client.limiter('a.example.com')).toBe(
      client.limiter('a.example.com'),
    );
    expect(client.limiter('a.example.com').remainingBudget).toBe(500 - 2);
    expect(client.limiter('b.example.com').remainingBudget).toBe(10 - 1);
    run.mockRestore();
  });

  it('stops before the request when the host asked to back off', async () => {
    let requests = 0;
    server.use(
      http.get(`${BASE}/builds`, () => {
        requests += 1;
        return HttpResponse.json(
          { message: 'slow down' },
          { status: 429, headers: { 'retry-after': '60' } },
        );
      }),
    );
    const { get } = setup();
    await expect(get('/builds')).rejects.toThrow(/rate limit exhausted/);
    await expect(get('/builds')).rejects.toThrow(
      /ExampleCI asked to back off until/,
    );
    expect(requests).toBe(1);
  });

  it('reads rate-limit headers and next pages the way the provider says', async () => {
    server.use(
      http.get(`${BASE}/builds`, () =>
        HttpResponse.json([], {
          headers: {
            'ratelimit-remaining': '42',
            'ratelimit-limit': '100',
            'ratelimit-reset': '30',
            'x-next-page': '3',
          },
        }),
      ),
    );
    const { metrics, get } = setup({
      rateLimitHeaders: headers => standardRateLimitHeaders(headers, 0),
      nextPage: (url, headers) => `${url}?page=${headers.get('x-next-page')}`,
    });
    const answer = await get('/builds');
    expect(answer.next).toBe(`${BASE}/builds?page=3`);
    expect(metrics.rateLimitRemaining.record).toHaveBeenCalledWith(42, {
      provider: 'example',
      host: 'ci.example.com',
    });
  });

  it('makes a delay in RateLimit-Reset epoch seconds and keeps an epoch as it is', () => {
    const of = (reset: string) =>
      standardRateLimitHeaders(
        new Headers({ 'ratelimit-reset': reset }),
        1_000_000,
      ).get('x-ratelimit-reset');
    expect(of('30')).toBe(String(1_000 + 30));
    expect(of('1900000000')).toBe('1900000000');
  });
});
