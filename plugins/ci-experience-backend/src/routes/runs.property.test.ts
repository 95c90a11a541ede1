import { providerModules } from '../__testUtils__/backend';
/* eslint jest/expect-expect: ["warn", { "assertFunctionNames": ["expect", "expect*", "fc.assert"] }] */
import {
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { CiRunsResponse } from '@ci-experience/plugin-ci-experience-common';
import fc from 'fast-check';
import { setupServer } from 'msw/node';
import request from 'supertest';
import { createGithub, githubConfig } from '../__testUtils__/github';
import { ciExperiencePlugin } from '../plugin';
import { STORE_TEST_DATABASES } from '../__testUtils__/databases';

/*
 * Property-based tests of the runs API: whatever the path segments, query
 * string, method or body, the answer is 200, 400 or 404 (never a 5xx), and
 * an error answer carries `error.message` and no stack trace.
 */

// Generous: these tests bound their run count; under the full suite on a
// 2-core machine, 500 requests once took over two minutes.
jest.setTimeout(600_000);

// SQLite always; PostgreSQL too whenever
// BACKSTAGE_TEST_DATABASE_POSTGRES<NN>_CONNECTION_STRING is set.
const databases = TestDatabases.create({ ids: STORE_TEST_DATABASES });

const server = setupServer();
beforeAll(() =>
  server.listen({
    onUnhandledRequest(req, print) {
      if (
        !['127.0.0.1', 'localhost', '::1', '[::1]'].includes(
          new URL(req.url).hostname,
        )
      ) {
        print.error();
      }
    },
  }),
);
afterAll(() => server.close());

const component = (
  name: string,
  annotations: Record<string, string> = {},
): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name, namespace: 'default', annotations },
  spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
});

const entities = [
  component('payments-service', {
    'github.com/project-slug': 'demo-org/payments-service',
  }),
  component('no-ci'),
];

const BASE = '/api/ci-experience';
const RUNS = `${BASE}/entities/component/default/payments-service/runs`;

// ---------------------------------------------------------------------------
// Arbitraries

const NAUGHTY = [
  '',
  ' ',
  '%00',
  '%',
  '%ZZ',
  '%E0%A4%A',
  '%C0%AF',
  '%FF',
  '\u0000',
  '__proto__',
  'constructor',
  'toString',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'; DROP TABLE ci_runs; --",
  "main' OR '1'='1",
  '../../../etc/passwd',
  '..',
  '.',
  '{"$gt":""}',
  '[]',
  '{}',
  '\u202Egnp.exe',
  '\uFEFF',
  '𝕳𝖊𝖑𝖑𝖔',
  '🏳️‍🌈',
  'Z̴̡̛̤͎a̷̜̓l̶̰̀g̸̣̈o̵̝͐',
  '\r\n',
  ',',
  ',,,',
  'a,b',
  '&',
  '=',
  '#',
  '?',
  '+',
];

/** Encoded, or raw (percent signs and all) as a careless client sends it. */
const asQueryValue = (value: string, raw: boolean) =>
  raw
    ? value.replace(/[#&\s]/g, encodeURIComponent)
    : encodeURIComponent(value);

const textArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...NAUGHTY), weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 30 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }), weight: 2 },
  { arbitrary: fc.string({ maxLength: 30 }), weight: 2 },
  {
    arbitrary: fc
      .tuple(fc.constantFrom('a', '<b>', 'é'), fc.integer({ min: 1, max: 10 }))
      .map(([unit, kb]) => unit.repeat(Math.ceil((kb * 1000) / unit.length)))
      // Stay under Node's 16 kB header limit once percent-encoded.
      .filter(s => encodeURIComponent(s).length < 12_000),
    weight: 1,
  },
);

const numberText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '0',
    '1',
    '100',
    '101',
    '-1',
    '-0',
    '1.5',
    '1e2',
    '1e308',
    '-1e308',
    '99999999999999999999999999',
    '9007199254740993',
    '0x10',
    '010',
    '00000000000000000000000001',
    ' 10',
    '10 ',
    '+10',
    'NaN',
    'Infinity',
    '１０',
    '٣',
    '',
  ),
  fc.integer().map(String),
  fc.double().map(String),
  fc.bigInt().map(String),
);

const base64url = (text: string | Uint8Array) =>
  Buffer.from(text).toString('base64url');

const cursorArb: fc.Arbitrary<string> = fc.oneof(
  textArb,
  fc.uint8Array({ maxLength: 64 }).map(base64url),
  fc.uint8Array({ maxLength: 64 }).map(b => Buffer.from(b).toString('base64')),
  fc.jsonValue({ maxDepth: 2 }).map(v => base64url(JSON.stringify(v))),
  fc
    .tuple(fc.anything({ maxDepth: 1 }), fc.anything({ maxDepth: 1 }))
    .map(v => base64url(JSON.stringify(v) ?? 'x')),
  // Valid-looking: two strings, garbage inside.
  fc.tuple(textArb, textArb).map(v => base64url(JSON.stringify(v))),
  fc
    .tuple(fc.date({ noInvalidDate: true }), fc.string({ maxLength: 30 }))
    .map(([d, id]) => base64url(JSON.stringify([d.toISOString(), id]))),
);

const statusArb: fc.Arbitrary<string> = fc.oneof(
  textArb,
  fc
    .array(
      fc.oneof(
        fc.constantFrom(
          'queued',
          'running',
          'succeeded',
          'failed',
          'cancelled',
          'skipped',
          'QUEUED',
          ' failed ',
          '',
        ),
        textArb,
      ),
      { maxLength: 5 },
    )
    .map(parts => parts.join(',')),
);

const KEYS = ['limit', 'status', 'branch', 'workflow', 'cursor'] as const;

/** A key, maybe with brackets that qs turns into arrays or objects. */
const keyArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...KEYS), weight: 6 },
  {
    arbitrary: fc
      .tuple(
        fc.constantFrom(...KEYS),
        fc.constantFrom('[]', '[0]', '[1]', '[a]', '[__proto__]', '[][]', '.x'),
      )
      .map(([k, suffix]) => `${k}${suffix}`),
    weight: 2,
  },
  {
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor[prototype][x]',
      'a[b][c][d][e][f][g]',
      '',
    ),
    weight: 1,
  },
  { arbitrary: fc.string({ maxLength: 10 }), weight: 1 },
);

const valueFor = (key: string): fc.Arbitrary<string> => {
  if (key.startsWith('limit')) {
    return fc.oneof(numberText, textArb);
  }
  if (key.startsWith('status')) {
    return statusArb;
  }
  if (key.startsWith('cursor')) {
    return cursorArb;
  }
  return textArb;
};

/**
 * Node answers 431 to request heads over 16 kB, and msw's interception of
 * supertest's request then loses the answer (the request hangs): keep URLs,
 * as sent (the client percent-encodes `<`, `>`, non-ASCII...), under that.
 */
const fitsInRequestHead = (url: string) =>
  new URL(url, 'http://localhost').href.length < 14_000;

/** A query string of repeated, bracketed, encoded and raw parameters. */
const queryArb: fc.Arbitrary<string> = fc
  .array(
    keyArb.chain(key =>
      fc.tuple(fc.constant(key), valueFor(key), fc.boolean(), fc.boolean()),
    ),
    { maxLength: 6 },
  )
  .map(params =>
    params
      .map(([key, value, raw, noValue]) =>
        noValue && !raw
          ? encodeURIComponent(key)
          : `${encodeURIComponent(key)}=${asQueryValue(value, raw)}`,
      )
      .join('&'),
  )
  .filter(fitsInRequestHead);

/** A path segment: usually percent-encoded, sometimes raw garbage. */
const segmentArb: fc.Arbitrary<string> = fc
  .oneof(
    {
      arbitrary: fc.constantFrom('component', 'default', 'payments-service'),
      weight: 3,
    },
    { arbitrary: textArb.map(encodeURIComponent), weight: 4 },
    {
      arbitrary: fc.constantFrom(
        '%',
        '%ZZ',
        '%E0%A4%A',
        '%C0%AF',
        '%FF',
        '%00',
        '%2F',
        '%2e%2e',
        '..',
        '.',
        ';',
        '%3B',
        '*',
      ),
      weight: 2,
    },
  )
  .filter(segment => Buffer.byteLength(segment) < 4_000);

/**
 * What must hold of every answer. A path with an empty segment matches no
 * route of the plugin: the framework's 404 for it has no body.
 */
function expectClean(
  res: request.Response,
  allowed: number[] = [200, 400, 404],
  path?: string,
) {
  const described = `${res.status} ${res.text?.slice(0, 300)}`;
  expect({ described, ok: allowed.includes(res.status) }).toEqual({
    described,
    ok: true,
  });
  const pathname = path?.split('?')[0];
  const unrouted =
    pathname !== undefined &&
    (pathname.includes('//') || pathname.endsWith('/'));
  if (res.status === 404 && unrouted && !res.text) {
    return;
  }
  if (res.status >= 400) {
    expect(typeof res.body?.error?.message).toBe('string');
    expect(res.body.error.stack).toBeUndefined();
    expect(res.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
  }
}

// ---------------------------------------------------------------------------

describe.each(databases.eachSupportedId())(
  'runs API properties on %p',
  databaseId => {
    let http: any;
    let runId: string;
    let nextCursor: string | undefined;

    beforeAll(async () => {
      const sim = createGithub();
      server.use(...sim.github.handlers());
      const logger = mockServices.logger.mock();
      logger.child.mockReturnValue(logger);
      const backend = await startTestBackend({
        features: [
          ciExperiencePlugin,
          ...providerModules,
          mockServices.rootConfig.factory({
            data: {
              ...githubConfig,
              ciExperience: {
                // The sample entity has no catalog location to match.
                sources: {
                  allow: [{ provider: 'github-actions', source: 'demo-org/*' }],
                },
                sync: {
                  schedule: {
                    frequency: { hours: 24 },
                    timeout: { minutes: 5 },
                    initialDelay: { hours: 24 },
                  },
                },
              },
            },
          }),
          logger.factory,
          mockServices.events.factory(),
          mockServices.database.factory({
            knex: await databases.init(databaseId),
          }),
          catalogServiceMock.factory({ entities }),
        ],
      });
      http = backend.server;
      let body: CiRunsResponse | undefined;
      for (let i = 0; i < 200; i++) {
        const res = await request(http).get(RUNS);
        body = res.body;
        if (res.status === 200 && !body?.sources.some(s => s.syncing)) {
          break;
        }
        await new Promise(r => setTimeout(r, 50));
      }
      if (!body?.items.length) {
        throw new Error(
          `The first sync brought no runs: ${JSON.stringify(body)}`,
        );
      }
      runId = body!.items[0].id;
      nextCursor = body!.nextCursor;
    }, 60_000);

    /** Requests with a timeout (generous: a loaded 2-core machine is slow), so that a hang fails with its URL. */
    const get = (path: string) => request(http).get(path).timeout(60_000);

    it('answers the sample entity (sanity check of the harness)', async () => {
      expect(runId).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(nextCursor).toBeDefined();
      expectClean(await get(`${RUNS}?cursor=${nextCursor}`), [200]);
    });

    it('answers any query string of the runs listing with 200 or 400', async () => {
      await fc.assert(
        fc.asyncProperty(queryArb, async query => {
          const res = await get(`${RUNS}?${query}`);
          expectClean(res, [200, 400]);
          const items = res.status === 200 ? res.body.items : [];
          expect(Array.isArray(items)).toBe(true);
          expect(items.length).toBeLessThanOrEqual(100);
        }),
        { numRuns: 500 },
      );
    });

    it('answers any single filter value with 200 or 400, and 200 for valid ones', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc
            .constantFrom(...KEYS)
            .chain(key => fc.tuple(fc.constant(key), valueFor(key)))
            // A list of long values can outgrow the request head once encoded.
            .filter(([key, value]) =>
              fitsInRequestHead(
                `${RUNS}?${encodeURIComponent(key)}=${encodeURIComponent(
                  value,
                )}`,
              ),
            ),
          async ([key, value]) => {
            const res = await request(http)
              .get(RUNS)
              .query({ [key]: value })
              .timeout(60_000);
            expectClean(res, [200, 400]);
            const valid =
              (key === 'branch' || key === 'workflow') &&
              value.length >= 1 &&
              value.length <= 512 &&
              !value.includes('\u0000');
            expect(valid ? res.status : 200).toBe(200);
          },
        ),
        { numRuns: 300 },
      );
    });

    it('answers NUL bytes in every filter and in the cursor with 200 or 400', async () => {
      // Every case, not a sample: PostgreSQL refuses NUL in text parameters.
      const cursor = (value: unknown) =>
        Buffer.from(JSON.stringify(value)).toString('base64url');
      const failures: string[] = [];
      for (const query of [
        'branch=%00',
        'workflow=%00',
        'branch=main%00',
        'status=failed%00',
        `cursor=${cursor(['\u0000', 'x'])}`,
        `cursor=${cursor(['2026-11-20T00:00:00.000Z', '\u0000'])}`,
      ]) {
        const res = await get(`${RUNS}?${query}`);
        if (![200, 400].includes(res.status)) {
          failures.push(`?${query}: ${res.status} ${res.text.slice(0, 120)}`);
        }
      }
      expect(failures).toEqual([]);
    });

    it('answers any entity path with 200, 400 or 404', async () => {
      await fc.assert(
        fc.asyncProperty(
          segmentArb,
          segmentArb,
          segmentArb,
          fc.option(queryArb, { nil: undefined }),
          async (kind, namespace, name, query) => {
            const path = `${BASE}/entities/${kind}/${namespace}/${name}/runs${
              query ? `?${query}` : ''
            }`;
            fc.pre(fitsInRequestHead(path));
            expectClean(await get(path), [200, 400, 404], path);
          },
        ),
        { numRuns: 300 },
      );
    });

    it('answers any run id with 200, 400 or 404', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            segmentArb,
            fc
              .string({ unit: 'binary', maxLength: 80 })
              .map(encodeURIComponent),
            fc.stringMatching(/^[A-Za-z0-9_-]{1,80}$/),
            fc.constant(runId ?? 'x'),
          ),
          fc.option(queryArb, { nil: undefined }),
          async (id, query) => {
            const path = `${BASE}/runs/${id}${query ? `?${query}` : ''}`;
            fc.pre(fitsInRequestHead(path));
            expectClean(await get(path), [200, 400, 404], path);
          },
        ),
        { numRuns: 200 },
      );
    });

    it('never answers a 5xx to other methods with any body on these routes', async () => {
      const bodyArb = fc.oneof(
        fc.jsonValue({ maxDepth: 4 }).map(v => ({
          type: 'application/json',
          data: JSON.stringify(v),
        })),
        fc.string({ maxLength: 200 }).map(data => ({
          type: 'application/json',
          data,
        })),
        // Truncated JSON.
        fc.jsonValue({ maxDepth: 3 }).chain(v => {
          const text = JSON.stringify(v);
          return fc
            .nat(text.length)
            .map(n => ({ type: 'application/json', data: text.slice(0, n) }));
        }),
        // Over the 100 kB body limit.
        fc.integer({ min: 100_001, max: 200_000 }).map(n => ({
          type: 'application/json',
          data: JSON.stringify({ a: 'x'.repeat(n) }),
        })),
        fc
          .tuple(
            fc.constantFrom(
              'text/plain',
              'text/html',
              'application/xml',
              'application/x-www-form-urlencoded',
              'multipart/form-data; boundary=x',
              'application/json; charset=utf-7',
              'application/json; charset=nope',
              'application/octet-stream',
              '',
            ),
            textArb,
          )
          .map(([type, data]) => ({ type, data })),
      );
      const pathArb = fc.oneof(
        fc.constant(RUNS),
        fc.constant(`${BASE}/runs/${runId ?? 'x'}`),
        fc
          .tuple(segmentArb, segmentArb, segmentArb)
          .map(([k, n, m]) => `${BASE}/entities/${k}/${n}/${m}/runs`),
        segmentArb.map(id => `${BASE}/runs/${id}`),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(
            'post',
            'put',
            'patch',
            'delete',
            'get',
          ) as fc.Arbitrary<'post' | 'put' | 'patch' | 'delete' | 'get'>,
          pathArb,
          bodyArb,
          async (method, path, body) => {
            const req = request(http)[method](path).timeout(60_000);
            if (body.type) {
              req.set('Content-Type', body.type);
            }
            const res = await req.send(body.data);
            if (res.status >= 500) {
              throw new Error(
                `${method.toUpperCase()} ${path.slice(0, 200)} answered ${
                  res.status
                }: ${res.text?.slice(0, 300)}`,
              );
            }
            expect(res.status >= 400 ? res.text ?? '' : '').not.toMatch(
              /\bat .*\.(ts|js):\d+/,
            );
          },
        ),
        { numRuns: 250 },
      );
    });
  },
);
