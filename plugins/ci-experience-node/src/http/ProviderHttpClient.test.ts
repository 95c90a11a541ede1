import {
  mockServices,
  registerMswTestHooks,
} from '@backstage/backend-test-utils';
import {
  AuthenticationError,
  ConflictError,
  InputError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import { ConfigReader } from '@backstage/config';
import { delay, http, HttpResponse, passthrough } from 'msw';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setupServer } from 'msw/node';
import { CiProviderMetrics } from '../metrics';
import {
  ProviderHttpClient,
  ProviderHttpClientOptions,
} from './ProviderHttpClient';
import { readTail } from './bodies';
import { basicCredential, bearerCredential } from './credentials';
import { standardRateLimitHeaders } from './paging';
import { ProviderTraffic } from './ProviderTraffic';
import { RateLimiter } from './RateLimiter';
import { readMaxResponseBytes } from './readBounded';
import { createMemoryCache } from '../testUtils';

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
    metrics: metrics as unknown as CiProviderMetrics,
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
    const cache = spiedCache();
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
    // The 304 is not counted against the budget (80 % of 3600).
    expect(client.limiter('ci.example.com').remainingBudget).toBe(2880 - 1);
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

  it('keeps with the ETag only what the request keeps, and serves that on a 304', async () => {
    const run = (id: number) => ({
      id,
      status: 'completed',
      repository: { full_name: 'acme/app', description: 'x'.repeat(4000) },
    });
    server.use(
      http.get(`${BASE}/runs`, ({ request }) =>
        request.headers.get('if-none-match') === '"r1"'
          ? new HttpResponse(null, { status: 304 })
          : HttpResponse.json(
              { total_count: 2, runs: [run(1), run(2)] },
              { headers: { etag: '"r1"' } },
            ),
      ),
    );
    const cache = spiedCache();
    const { client } = setup({ cache: cache as any });
    const keep = (body: any) => ({
      runs: body.runs.map((r: any) => ({ id: r.id, status: r.status })),
    });
    const request = {
      host: 'ci.example.com',
      base: BASE,
      subject: 'pipeline acme/app',
      pathOrUrl: '/runs',
      credential: bearerCredential(TOKEN),
      keep,
    };
    const slim = {
      runs: [
        { id: 1, status: 'completed' },
        { id: 2, status: 'completed' },
      ],
    };
    expect((await client.get(request)).body).toEqual(slim);
    const second = await client.get(request);
    expect(second).toEqual({ body: slim, notModified: true });
    const stored = JSON.stringify([...cache.data.values()]);
    expect(stored).not.toContain('xxxx');
    expect(stored.length).toBeLessThan(200);
  });

  it('keeps ETags per credential', async () => {
    server.use(
      http.get(`${BASE}/builds`, () =>
        HttpResponse.json([], { headers: { etag: '"x"' } }),
      ),
    );
    const cache = spiedCache();
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
    // 80 % of each host's figure.
    expect(client.limiter('a.example.com').remainingBudget).toBe(400 - 2);
    expect(client.limiter('b.example.com').remainingBudget).toBe(8 - 1);
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

  describe('actions', () => {
    const act = (
      client: ProviderHttpClient,
      method: 'POST' | 'PUT',
      path: string,
      body?: object,
    ) =>
      client.send({
        host: 'ci.example.com',
        base: BASE,
        subject: 'rerun of build 7 of acme/app',
        pathOrUrl: path,
        credential: bearerCredential(TOKEN),
        method,
        body: body as any,
      });

    it('POSTs JSON and PUTs nothing, with the credential, never conditionally, within the budget', async () => {
      const seen: Array<{
        method: string;
        body: string;
        type: string | null;
        auth: string | null;
        ifNoneMatch: string | null;
      }> = [];
      const record = async ({ request }: { request: Request }) => {
        seen.push({
          method: request.method,
          body: await request.text(),
          type: request.headers.get('content-type'),
          auth: request.headers.get('authorization'),
          ifNoneMatch: request.headers.get('if-none-match'),
        });
        return HttpResponse.json(
          { id: 'new' },
          { status: 201, headers: { etag: '"e"' } },
        );
      };
      server.use(
        http.post(`${BASE}/builds/7/rerun`, record),
        http.put(`${BASE}/builds/7/cancel`, async ({ request }) => {
          await record({ request });
          return new HttpResponse(null, { status: 204 });
        }),
      );
      const cache = spiedCache();
      const { client, metrics } = setup({ cache: cache as any });
      const run = jest.spyOn(RateLimiter.prototype, 'run');
      await expect(
        act(client, 'POST', '/builds/7/rerun', { from_failed: true }),
      ).resolves.toEqual({ body: { id: 'new' } });
      await expect(
        act(client, 'POST', '/builds/7/rerun', { a: 1 }),
      ).resolves.toBeDefined();
      await expect(act(client, 'PUT', '/builds/7/cancel')).resolves.toEqual({
        body: undefined,
      });
      expect(seen.map(s => [s.method, s.body, s.type])).toEqual([
        ['POST', '{"from_failed":true}', 'application/json'],
        ['POST', '{"a":1}', 'application/json'],
        ['PUT', '', null],
      ]);
      expect(seen.every(s => s.auth === `Bearer ${TOKEN}`)).toBe(true);
      expect(seen.every(s => s.ifNoneMatch === null)).toBe(true);
      expect(cache.set).not.toHaveBeenCalled();
      expect(run).toHaveBeenCalledTimes(3);
      run.mockRestore();
      expect(metrics.providerRequests.add).toHaveBeenCalledWith(1, {
        provider: 'example',
        host: 'ci.example.com',
        endpoint: '/builds/{id}/cancel',
        status: '204',
      });
    });

    it.each([
      [
        403,
        NotAllowedError,
        /^ExampleCI refused the rerun of build 7 of acme\/app on ci\.example\.com: 403 .*\(with the configured API token\); the token needs write_builds$/,
      ],
      [404, NotFoundError, /^ExampleCI has no rerun of build 7 of acme\/app/],
      [
        409,
        ConflictError,
        /^ExampleCI refused the rerun of build 7 of acme\/app on ci\.example\.com: 409 /,
      ],
      [422, InputError, /^ExampleCI refused the rerun of build 7/],
      [400, InputError, /^ExampleCI refused the rerun of build 7/],
      [500, ServiceUnavailableError, /^ExampleCI answered 500 for/],
    ])(
      'turns a %s into %p with the provider message trimmed, never the token',
      async (status, type, message) => {
        server.use(
          http.post(`${BASE}/builds/7/rerun`, () =>
            HttpResponse.json(
              {
                message: `Build cannot be rerun: it is running (Bearer ${TOKEN}) ${'x'.repeat(
                  1000,
                )}`,
              },
              { status },
            ),
          ),
        );
        const { client, logger } = setup({
          hints: { forbiddenAction: 'the token needs write_builds' },
        });
        const error = await act(client, 'POST', '/builds/7/rerun').catch(
          e => e,
        );
        expect(error).toBeInstanceOf(type);
        expect(error.message).toMatch(message);
        expect(error.message).toContain('Build cannot be rerun: it is running');
        expect(error.message).not.toContain(TOKEN);
        expect(error.message.length).toBeLessThan(600);
        expect(logged(logger)).not.toContain(TOKEN);
      },
    );

    it('takes a redirect as done only when told, and never follows it', async () => {
      let followed = 0;
      server.use(
        http.post(
          `${BASE}/job/a/7/stop`,
          () =>
            new HttpResponse(null, {
              status: 302,
              headers: { location: `${BASE}/job/a/7/` },
            }),
        ),
        http.get(`${BASE}/job/a/7/`, () => {
          followed += 1;
          return HttpResponse.json({});
        }),
      );
      const { client } = setup();
      const stop = (redirectIsDone: boolean) =>
        client.send({
          host: 'ci.example.com',
          base: BASE,
          subject: 'stop of build 7 of a',
          pathOrUrl: '/job/a/7/stop',
          credential: bearerCredential(TOKEN),
          method: 'POST',
          redirectIsDone,
        });
      await expect(stop(true)).resolves.toEqual({ body: undefined });
      const error = await stop(false).catch(e => e);
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect(error.message).toContain('redirect (302)');
      expect(followed).toBe(0);
    });
  });

  describe('texts', () => {
    const LOG = `${BASE}/jobs/9/log`;
    const read = (
      client: ProviderHttpClient,
      options: Partial<Parameters<ProviderHttpClient['getText']>[0]> = {},
    ) =>
      client.getText({
        host: 'ci.example.com',
        base: BASE,
        subject: 'log of job 9 of acme/app',
        pathOrUrl: '/jobs/9/log',
        credential: bearerCredential(TOKEN),
        ...options,
      });

    /** A body of `total` bytes of numbered lines, made as it is read. */
    function streamedLog(total: number) {
      const state = { produced: 0, line: 0 };
      const encoder = new TextEncoder();
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (state.produced >= total) {
            controller.close();
            return;
          }
          let chunk = '';
          while (
            chunk.length < 64 * 1024 &&
            state.produced + chunk.length < total
          ) {
            chunk += `line ${String(state.line++).padStart(
              8,
              '0',
            )} ${'.'.repeat(40)}\n`;
          }
          const bytes = encoder
            .encode(chunk)
            .subarray(0, total - state.produced);
          state.produced += bytes.byteLength;
          controller.enqueue(bytes);
        },
      });
      return { stream, state };
    }

    it('does not count the wait for a free slot against a text request time-out', async () => {
      // One request at a time; the first is held past the time-out.
      let release!: () => void;
      const held = new Promise<void>(resolve => (release = resolve));
      let n = 0;
      server.use(
        http.get(LOG, async () => {
          n += 1;
          if (n === 1) {
            await held;
          }
          return HttpResponse.text(`answer ${n}\n`);
        }),
      );
      const { client } = setup({
        defaultLimits: { requestsPerHour: 100, maxConcurrency: 1 },
        timeoutMs: 1_000,
      });
      const first = read(client, { timeoutMs: 60_000 });
      const second = read(client);
      // The second waits in the queue while the first is held, longer than
      // its 1 s time-out (real timers: the time-out is AbortSignal's).
      await new Promise(resolve => setTimeout(resolve, 1_500));
      release();
      await expect(first).resolves.toMatchObject({ text: 'answer 1\n' });
      await expect(second).resolves.toMatchObject({ text: 'answer 2\n' });
    }, 30_000);

    it('reads a small text whole', async () => {
      server.use(
        http.get(LOG, ({ request }) =>
          HttpResponse.text(
            `auth=${
              request.headers.get('authorization') === `Bearer ${TOKEN}`
            }\nok\n`,
          ),
        ),
      );
      const { client } = setup();
      await expect(read(client, { accept: 'text/plain' })).resolves.toEqual({
        text: 'auth=true\nok\n',
        truncated: false,
        totalBytes: 13,
      });
    });

    it('keeps the tail of a streamed 20 MB log, cut at a line start', async () => {
      const total = 20 * 1024 * 1024;
      const { stream, state } = streamedLog(total);
      server.use(
        http.get(
          LOG,
          () =>
            new HttpResponse(stream, {
              headers: { 'content-type': 'text/plain' },
            }),
        ),
      );
      const { client } = setup();
      const log = await read(client);
      expect(state.produced).toBe(total);
      expect(log.truncated).toBe(true);
      expect(log.totalBytes).toBe(total);
      expect(Buffer.byteLength(log.text)).toBeLessThanOrEqual(8 * 1024 * 1024);
      expect(Buffer.byteLength(log.text)).toBeGreaterThan(
        8 * 1024 * 1024 - 100,
      );
      expect(log.text).toMatch(/^line \d{8} \.{40}\n/);
      const lines = log.text.trimEnd().split('\n');
      const last = Number(lines[lines.length - 1].slice(5, 13));
      const firstKept = Number(lines[0].slice(5, 13));
      expect(last - firstKept + 1).toBe(lines.length);
    });

    it('stops reading a huge log after maxReadBytes and says so', async () => {
      const { stream, state } = streamedLog(2 * 1024 * 1024 * 1024);
      server.use(http.get(LOG, () => new HttpResponse(stream)));
      const { client } = setup();
      const log = await read(client, {
        maxBytes: 64 * 1024,
        maxReadBytes: 1024 * 1024,
      });
      // Not a 2 GB download: the stream was cancelled soon after 1 MiB.
      expect(state.produced).toBeLessThan(2 * 1024 * 1024);
      expect(log.truncated).toBe(true);
      expect(log.totalBytes).toBeUndefined();
      expect(Buffer.byteLength(log.text)).toBeLessThan(64 * 1024 + 200);
      expect(log.text).toMatch(
        /\n\[ci-experience\] Stopped reading after 1 MiB: the log goes on at ExampleCI\.\n$/,
      );
    });

    it('holds no more than the tail while reading', async () => {
      const { stream } = streamedLog(4 * 1024 * 1024);
      const concat = jest.spyOn(Buffer, 'concat');
      const tail = await readTail(stream, 256 * 1024, 64 * 1024 * 1024);
      const held = concat.mock.calls[0][0].reduce(
        (sum, c) => sum + c.length,
        0,
      );
      concat.mockRestore();
      expect(tail.complete).toBe(true);
      expect(tail.read).toBe(4 * 1024 * 1024);
      expect(tail.buffer.length).toBe(256 * 1024);
      // The tail plus at most one chunk of 64 KiB, never the 4 MiB.
      expect(held).toBeLessThanOrEqual(256 * 1024 + 64 * 1024 + 100);
    });

    it('asks for the tail with a Range and reads the size from Content-Range', async () => {
      const ranges: Array<string | null> = [];
      server.use(
        http.get(LOG, ({ request }) => {
          ranges.push(request.headers.get('range'));
          return new HttpResponse('half line\nlast line\n', {
            status: 206,
            headers: { 'content-range': 'bytes 980-999/1000' },
          });
        }),
      );
      const { client } = setup();
      await expect(
        read(client, { rangeTail: true, maxBytes: 20 }),
      ).resolves.toEqual({
        text: 'last line\n',
        truncated: true,
        totalBytes: 1000,
      });
      expect(ranges).toEqual(['bytes=-20']);
    });

    it('asks again without the Range when the host refuses it', async () => {
      const ranges: Array<string | null> = [];
      server.use(
        http.get(LOG, ({ request }) => {
          ranges.push(request.headers.get('range'));
          return request.headers.get('range')
            ? new HttpResponse(null, { status: 416 })
            : HttpResponse.text('all of it\n');
        }),
      );
      const { client } = setup();
      await expect(read(client, { rangeTail: true })).resolves.toMatchObject({
        text: 'all of it\n',
        truncated: false,
      });
      expect(ranges).toEqual(['bytes=-8388608', null]);
    });

    it('follows a redirect to another host without the credential', async () => {
      const seen: Array<[string, string | null]> = [];
      server.use(
        http.get(LOG, ({ request }) => {
          seen.push([request.url, request.headers.get('authorization')]);
          return new HttpResponse(null, {
            status: 302,
            headers: { location: `${BASE}/jobs/9/log-here` },
          });
        }),
        http.get(`${BASE}/jobs/9/log-here`, ({ request }) => {
          seen.push([request.url, request.headers.get('authorization')]);
          return new HttpResponse(null, {
            status: 302,
            headers: {
              location: 'https://blobs.example.net/logs/9?sig=abc',
            },
          });
        }),
        http.get('https://blobs.example.net/logs/9', ({ request }) => {
          seen.push([request.url, request.headers.get('authorization')]);
          return HttpResponse.text('from the blob store\n');
        }),
      );
      const { client } = setup();
      await expect(read(client)).resolves.toMatchObject({
        text: 'from the blob store\n',
      });
      expect(seen).toEqual([
        [LOG, `Bearer ${TOKEN}`],
        [`${BASE}/jobs/9/log-here`, `Bearer ${TOKEN}`],
        ['https://blobs.example.net/logs/9?sig=abc', null],
      ]);
    });

    it('refuses a redirect down to http, and endless redirects', async () => {
      server.use(
        http.get(
          LOG,
          () =>
            new HttpResponse(null, {
              status: 302,
              headers: { location: 'http://blobs.example.net/logs/9' },
            }),
        ),
        http.get(
          `${BASE}/jobs/10/log`,
          () =>
            new HttpResponse(null, {
              status: 302,
              headers: { location: `${BASE}/jobs/10/log` },
            }),
        ),
      );
      const { client } = setup();
      await expect(read(client)).rejects.toThrow(
        /a redirect that is not followed for log of job 9/,
      );
      await expect(read(client, { pathOrUrl: '/jobs/10/log' })).rejects.toThrow(
        /too many redirects/,
      );
    });

    it('maps refusals of a log as for any GET, without the token', async () => {
      server.use(
        http.get(LOG, () =>
          HttpResponse.json(
            { message: `no log for ${TOKEN}` },
            { status: 404 },
          ),
        ),
      );
      const { client } = setup();
      const error = await read(client).catch(e => e);
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error.message).toContain('log of job 9 of acme/app');
      expect(error.message).not.toContain(TOKEN);
    });
  });

  describe('bytes', () => {
    const ZIP = `${BASE}/artifacts/5/zip`;
    const BLOB = 'https://blobs.example.net/artifacts/5.zip';
    const MiB = 1024 * 1024;
    const download = (
      client: ProviderHttpClient,
      options: Partial<Parameters<ProviderHttpClient['getBytes']>[0]> = {},
    ) =>
      client.getBytes({
        host: 'ci.example.com',
        base: BASE,
        subject: 'artifact 5 of acme/app',
        pathOrUrl: '/artifacts/5/zip',
        credential: bearerCredential(TOKEN),
        maxBytes: MiB,
        ...options,
      });

    /** A body of `total` bytes (64 KiB a chunk), made as it is read. */
    function streamedBytes(total: number) {
      const state = { produced: 0 };
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (state.produced >= total) {
            controller.close();
            return;
          }
          const chunk = new Uint8Array(
            Math.min(64 * 1024, total - state.produced),
          ).fill(7);
          state.produced += chunk.byteLength;
          controller.enqueue(chunk);
        },
      });
      return { stream, state };
    }

    it('reads the bytes whole, with the credential, the Accept asked for and the content type', async () => {
      const zip = Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0, 1, 2, 255]);
      const seen: Array<[string | null, string | null]> = [];
      server.use(
        http.get(ZIP, ({ request }) => {
          seen.push([
            request.headers.get('authorization'),
            request.headers.get('accept'),
          ]);
          return new HttpResponse(zip, {
            headers: {
              'content-type': 'application/zip',
              'content-length': String(zip.byteLength),
            },
          });
        }),
      );
      const { client } = setup();
      const read = await download(client, { accept: '*/*' });
      expect(read).toEqual({ data: zip, contentType: 'application/zip' });
      expect((read as { data: Uint8Array }).data).toBeInstanceOf(Uint8Array);
      expect(seen).toEqual([[`Bearer ${TOKEN}`, '*/*']]);
    });

    it('reads a body of exactly maxBytes, streamed', async () => {
      const { stream } = streamedBytes(MiB);
      server.use(http.get(ZIP, () => new HttpResponse(stream)));
      const { client } = setup();
      const read = await download(client);
      expect('data' in read && read.data.byteLength).toBe(MiB);
    });

    it('follows a redirect to another origin without the credential', async () => {
      const seen: Array<[string, string | null]> = [];
      server.use(
        http.get(ZIP, ({ request }) => {
          seen.push([request.url, request.headers.get('authorization')]);
          return new HttpResponse(null, {
            status: 302,
            headers: { location: `${BLOB}?sig=abc` },
          });
        }),
        http.get(BLOB, ({ request }) => {
          seen.push([request.url, request.headers.get('authorization')]);
          return new HttpResponse(Uint8Array.from([1, 2, 3]), {
            headers: { 'content-type': 'application/zip' },
          });
        }),
      );
      const { client } = setup();
      await expect(download(client)).resolves.toEqual({
        data: Uint8Array.from([1, 2, 3]),
        contentType: 'application/zip',
      });
      expect(seen).toEqual([
        [ZIP, `Bearer ${TOKEN}`],
        [`${BLOB}?sig=abc`, null],
      ]);
    });

    it('refuses a Content-Length over maxBytes before reading the body', async () => {
      const { stream, state } = streamedBytes(8 * MiB);
      server.use(
        http.get(
          ZIP,
          () =>
            new HttpResponse(stream, {
              headers: { 'content-length': String(8 * MiB) },
            }),
        ),
      );
      const { client } = setup();
      await expect(download(client)).resolves.toEqual({
        tooLarge: true,
        read: 0,
      });
      // Only what the stream made ahead before the cancel.
      expect(state.produced).toBeLessThan(256 * 1024);
    });

    it('cuts off a body that grows past maxBytes, and says how much was read', async () => {
      const { stream, state } = streamedBytes(64 * MiB);
      const concat = jest.spyOn(Buffer, 'concat');
      server.use(http.get(ZIP, () => new HttpResponse(stream)));
      const { client } = setup();
      const read = await download(client);
      concat.mockRestore();
      expect(read).toEqual({ tooLarge: true, read: expect.any(Number) });
      const { read: bytes } = read as { read: number };
      expect(bytes).toBeGreaterThan(MiB);
      expect(bytes).toBeLessThanOrEqual(MiB + 64 * 1024);
      // Cancelled a few chunks past the bound, not read to its 64 MiB; the
      // chunks were never joined.
      expect(state.produced).toBeLessThan(MiB + 256 * 1024);
      expect(concat).not.toHaveBeenCalled();
    });

    it('maps a 404 and a 410 to NotFoundError, with the hint of a 403, never the token', async () => {
      let status = 404;
      server.use(
        http.get(ZIP, () =>
          HttpResponse.json(
            { message: `refused for Bearer ${TOKEN}` },
            { status },
          ),
        ),
      );
      const { client, logger } = setup();
      const missing = await download(client).catch(e => e);
      expect(missing).toBeInstanceOf(NotFoundError);
      expect(missing.message).toMatch(
        /^ExampleCI has no artifact 5 of acme\/app on ci\.example\.com — it does not exist/,
      );
      expect(missing.message).not.toContain(TOKEN);

      status = 410;
      const gone = await download(client).catch(e => e);
      expect(gone).toBeInstanceOf(NotFoundError);
      expect(gone.message).toBe(
        'ExampleCI no longer has artifact 5 of acme/app on ci.example.com: 410 refused for ***',
      );

      status = 403;
      const refused = await download(client, {
        forbiddenHint: 'artifacts need the read_artifacts scope',
      }).catch(e => e);
      expect(refused).toBeInstanceOf(NotAllowedError);
      expect(refused.message).toMatch(
        /\(with the configured API token\); artifacts need the read_artifacts scope$/,
      );
      expect(refused.message).not.toContain(TOKEN);
      expect(logged(logger)).not.toContain(TOKEN);
    });

    it('spends one request of the host budget, its redirect included, through the breaker', async () => {
      let status = 200;
      server.use(
        http.get(ZIP, () =>
          status === 200
            ? new HttpResponse(null, {
                status: 302,
                headers: { location: BLOB },
              })
            : HttpResponse.json({ message: 'down' }, { status }),
        ),
        http.get(BLOB, () => new HttpResponse(Uint8Array.from([1]))),
      );
      const run = jest.spyOn(RateLimiter.prototype, 'run');
      const { client, metrics } = setup();
      const before = client.limiter('ci.example.com').remainingBudget;
      await download(client);
      expect(run).toHaveBeenCalledTimes(1);
      expect(run.mock.calls[0][1]).toBe('/artifacts/{id}/zip');
      run.mockRestore();
      expect(client.limiter('ci.example.com').remainingBudget).toBe(before - 1);
      expect(metrics.providerRequests.add).toHaveBeenCalledWith(1, {
        provider: 'example',
        host: 'ci.example.com',
        endpoint: '/artifacts/{id}/zip',
        status: '302',
      });

      status = 502;
      await expect(download(client)).rejects.toThrow(
        /^ExampleCI answered 502 for artifact 5 of acme\/app/,
      );
      expect(client.breaker('ci.example.com').state()).toMatchObject({
        lastError:
          'ExampleCI answered 502 for artifact 5 of acme/app on ci.example.com',
      });
    });

    it('bounds the whole download, body included, by the time limit', async () => {
      // A real server (msw's mocked bodies do not hear the abort): one
      // chunk, then nothing more.
      const sockets = new Set<Socket>();
      const slow = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/zip' });
        res.write(Buffer.alloc(10));
      });
      slow.on('connection', socket => sockets.add(socket));
      await new Promise<void>(resolve => slow.listen(0, '127.0.0.1', resolve));
      const { port } = slow.address() as AddressInfo;
      const base = `http://127.0.0.1:${port}/api`;
      server.use(http.get(`${base}/*`, () => passthrough()));
      try {
        const { client } = setup();
        const error = await download(client, {
          host: `127.0.0.1:${port}`,
          base,
          timeoutMs: 200,
        }).catch(e => e);
        expect(error).toBeInstanceOf(ServiceUnavailableError);
        expect(error.message).toBe(
          `ExampleCI did not answer within 0.2s for artifact 5 of acme/app on 127.0.0.1:${port}`,
        );
      } finally {
        sockets.forEach(socket => socket.destroy());
        await new Promise(resolve => slow.close(resolve));
      }
    });
  });

  describe('answer size', () => {
    const MiB = 1024 * 1024;
    const tooLarge = (size: string) =>
      `ExampleCI answered more than ${size} for pipeline acme/app on ci.example.com (ciExperience.providers.maxResponseBytes)`;

    /**
     * A JSON array of about `total` bytes, made as it is read (64 KiB a
     * chunk), so that a test sees how much of it was ever asked for.
     */
    function streamedJson(total: number) {
      const state = { produced: 0 };
      const encoder = new TextEncoder();
      const item = JSON.stringify('x'.repeat(1000));
      let started = false;
      let ended = false;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (ended) {
            controller.close();
            return;
          }
          let chunk = started ? '' : '[';
          while (chunk.length < 64 * 1024) {
            if (state.produced + chunk.length + item.length + 2 >= total) {
              chunk += `${started ? ',' : ''}0]`;
              ended = true;
              break;
            }
            chunk += `${started ? ',' : ''}${item}`;
            started = true;
          }
          const bytes = encoder.encode(chunk);
          state.produced += bytes.byteLength;
          controller.enqueue(bytes);
        },
      });
      return { stream, state };
    }

    it('refuses an answer whose Content-Length passes the cap before reading it', async () => {
      const { stream, state } = streamedJson(4 * MiB);
      server.use(
        http.get(
          `${BASE}/builds`,
          () =>
            new HttpResponse(stream, {
              headers: {
                'content-type': 'application/json',
                'content-length': String(4 * MiB),
              },
            }),
        ),
      );
      const { get } = setup({ maxResponseBytes: MiB });
      const error = await get('/builds').catch(e => e);
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect(error.message).toBe(tooLarge('1 MiB'));
      // Only what the stream made ahead before the cancel (a chunk or two),
      // far below the cap: the length alone refused it.
      expect(state.produced).toBeLessThan(256 * 1024);
    });

    it('refuses a streamed answer without Content-Length once past the cap, and stops reading it', async () => {
      const { stream, state } = streamedJson(64 * MiB);
      const concat = jest.spyOn(Buffer, 'concat');
      server.use(http.get(`${BASE}/builds`, () => new HttpResponse(stream)));
      const { get } = setup({ maxResponseBytes: MiB });
      const error = await get('/builds').catch(e => e);
      concat.mockRestore();
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect(error.message).toBe(tooLarge('1 MiB'));
      // Cancelled a few chunks past the cap, not read to its 64 MiB; the
      // chunks were never joined into one buffer.
      expect(state.produced).toBeLessThan(MiB + 256 * 1024);
      expect(concat).not.toHaveBeenCalled();
    });

    it('caps at 16 MiB by default', async () => {
      const { stream } = streamedJson(17 * MiB);
      server.use(http.get(`${BASE}/builds`, () => new HttpResponse(stream)));
      const { get } = setup();
      const error = await get('/builds').catch(e => e);
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect(error.message).toBe(tooLarge('16 MiB'));
    });

    it('reads answers up to the cap, streamed or with their length', async () => {
      const whole = JSON.stringify(['x'.repeat(MiB - 20)]);
      expect(whole.length).toBeLessThanOrEqual(MiB);
      const { stream } = streamedJson(MiB);
      server.use(
        http.get(`${BASE}/streamed`, () => new HttpResponse(stream)),
        http.get(`${BASE}/whole`, () =>
          HttpResponse.text(whole, {
            headers: { 'content-type': 'application/json' },
          }),
        ),
      );
      const { get } = setup({ maxResponseBytes: MiB });
      const streamed = await get<unknown[]>('/streamed');
      expect(streamed.body.length).toBeGreaterThan(1000);
      const read = await get<string[]>('/whole');
      expect(read.body[0]).toHaveLength(MiB - 20);
    });

    it('takes an action answered past the cap as done, with a warning', async () => {
      const { stream, state } = streamedJson(8 * MiB);
      server.use(
        http.post(`${BASE}/builds/7/rebuild`, () => new HttpResponse(stream)),
      );
      const { client, logger } = setup({ maxResponseBytes: MiB });
      const answer = await client.send({
        host: 'ci.example.com',
        base: BASE,
        subject: 'rebuild of build 7 of acme/app',
        pathOrUrl: '/builds/7/rebuild',
        credential: bearerCredential(TOKEN),
        method: 'POST',
      });
      expect(answer).toEqual({ body: undefined });
      expect(state.produced).toBeLessThan(2 * MiB);
      expect(logger.warn).toHaveBeenCalledWith(
        'ExampleCI answered more than 1 MiB for rebuild of build 7 of acme/app on ci.example.com (ciExperience.providers.maxResponseBytes); the answer to the action was not read',
      );
    });

    it('reads the cap from ciExperience.providers.maxResponseBytes', () => {
      const config = (value?: unknown) =>
        new ConfigReader(
          value === undefined
            ? {}
            : { ciExperience: { providers: { maxResponseBytes: value } } },
        );
      expect(readMaxResponseBytes(config())).toBeUndefined();
      expect(readMaxResponseBytes(config(4 * MiB))).toBe(4 * MiB);
      expect(() => readMaxResponseBytes(config(0))).toThrow(
        'ciExperience.providers.maxResponseBytes must be a whole number of bytes above 0',
      );
      expect(() => readMaxResponseBytes(config(1.5))).toThrow(
        /maxResponseBytes/,
      );
    });
  });
  describe('circuit breaker', () => {
    function withClock(probeIntervalMs = 60_000) {
      const clock = { now: Date.parse('2026-12-02T13:00:00Z') };
      const traffic = new ProviderTraffic({
        now: () => clock.now,
        sleep: async () => {},
        defaults: { breaker: { failures: 5, probeIntervalMs } },
      });
      return { clock, ...setup({ traffic }) };
    }

    it('opens after 5 failures in a row, then fails fast without calling the host', async () => {
      let calls = 0;
      server.use(
        http.get(`${BASE}/builds`, () => {
          calls += 1;
          return HttpResponse.json({ message: 'down' }, { status: 502 });
        }),
      );
      const { clock, client, get } = withClock();
      for (let i = 0; i < 5; i++) {
        await expect(get('/builds')).rejects.toThrow(/answered 502/);
        clock.now += 1000;
      }
      const error = await get('/builds').catch(e => e);
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect(error.message).toBe(
        'ExampleCI unreachable since 2026-12-02T13:00:00.000Z',
      );
      expect(calls).toBe(5);
      expect(client.hostStates()).toEqual([
        {
          provider: 'example',
          host: 'ci.example.com',
          budget: expect.objectContaining({
            limit: 3600,
            share: 0.8,
            used: 5,
            remaining: 2880 - 5,
          }),
          inFlight: 0,
          breaker: {
            state: 'open',
            since: '2026-12-02T13:00:00.000Z',
            lastError:
              'ExampleCI answered 502 for pipeline acme/app on ci.example.com',
          },
        },
      ]);
    });

    it('does not count 4xx answers or 304s as failures', async () => {
      let status = 404;
      server.use(
        http.get(`${BASE}/builds`, () =>
          status === 304
            ? new HttpResponse(null, { status: 304 })
            : HttpResponse.json({ message: 'no' }, { status }),
        ),
      );
      const { client, get } = withClock();
      for (const s of [503, 503, 503, 503, 404, 503, 503, 503, 503, 403]) {
        status = s;
        await get('/builds').catch(() => undefined);
      }
      expect(client.breaker('ci.example.com').state().state).toBe('closed');
    });

    it('probes once per interval while open, and closes on a good answer', async () => {
      let down = true;
      let calls = 0;
      server.use(
        http.get(`${BASE}/builds`, () => {
          calls += 1;
          return down
            ? HttpResponse.error()
            : HttpResponse.json([], { status: 200 });
        }),
      );
      const { clock, client, get } = withClock(60_000);
      for (let i = 0; i < 5; i++) {
        await expect(get('/builds')).rejects.toThrow(/could not be reached/);
      }
      expect(calls).toBe(5);
      await expect(get('/builds')).rejects.toThrow(/unreachable since/);
      clock.now += 60_000;
      // The probe goes out, fails, and the breaker stays open.
      await expect(get('/builds')).rejects.toThrow(/could not be reached/);
      expect(calls).toBe(6);
      await expect(get('/builds')).rejects.toThrow(/unreachable since/);
      expect(calls).toBe(6);
      down = false;
      clock.now += 60_000;
      await expect(get('/builds')).resolves.toEqual({ body: [] });
      expect(client.breaker('ci.example.com').state()).toEqual({
        state: 'closed',
      });
      await expect(get('/builds')).resolves.toEqual({ body: [] });
      expect(calls).toBe(8);
    });
  });

  it('spaces requests to one endpoint to requestsPerMinutePerEndpoint', async () => {
    server.use(
      http.get(`${BASE}/builds/:id`, () => HttpResponse.json({})),
      http.get(`${BASE}/agents`, () => HttpResponse.json({})),
    );
    const clock = { now: Date.parse('2026-12-02T13:00:00Z') };
    const slept: number[] = [];
    const { get } = setup({
      traffic: new ProviderTraffic({
        now: () => clock.now,
        sleep: async ms => {
          slept.push(ms);
          clock.now += ms;
        },
        defaults: { requestsPerMinutePerEndpoint: 2 },
      }),
    });
    await get('/builds/1');
    await get('/builds/2');
    await get('/agents');
    expect(slept).toEqual([]);
    // `/builds/{id}` is one endpoint: the third waits for the minute.
    await get('/builds/3');
    expect(slept).toEqual([60_000]);
  });

  it('lists the host states of every client sharing the traffic options', async () => {
    server.use(http.get(`${BASE}/builds`, () => HttpResponse.json([])));
    const traffic = new ProviderTraffic();
    const { get } = setup({ traffic });
    setup({ traffic, providerId: 'other' });
    await get('/builds');
    expect(traffic.hostStates()).toEqual([
      expect.objectContaining({
        provider: 'example',
        host: 'ci.example.com',
        inFlight: 0,
        breaker: { state: 'closed' },
      }),
    ]);
  });
});

/** A cache in memory whose `set` is watched. */
function spiedCache() {
  const cache = createMemoryCache();
  jest.spyOn(cache, 'set');
  return cache;
}
