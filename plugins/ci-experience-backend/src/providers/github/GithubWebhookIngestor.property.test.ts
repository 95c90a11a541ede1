/* eslint jest/expect-expect: ["warn", { "assertFunctionNames": ["expect", "expect*", "fc.assert"] }] */
import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import {
  CI_RUN_STATUSES,
  mapGithubStatus,
} from '@ci-experience/plugin-ci-experience-common';
import fc from 'fast-check';
import { Knex } from 'knex';
import { statusRank } from '../../database/CiStore';
import { KnexCiStore } from '../../database/KnexCiStore';
import { CiMetrics } from '../../service/metrics';
import { runIdOf } from '@ci-experience/plugin-ci-experience-node';
import { DeliveryOutcome } from '../shared/DeliveryIngestor';
import { GithubWebhookIngestor } from '../../__testUtils__/ingestors';
import { STORE_TEST_DATABASES } from '../../__testUtils__/databases';

/*
 * Property-based tests: whatever arrives on the GitHub webhook topics,
 * `handle()` resolves to one of its four outcomes; a malformed delivery is
 * 'rejected' with a warning that names its delivery id and writes nothing;
 * an accepted one leaves only well-formed records.
 */

// The run count is bounded, not the time: a loaded 2-core machine is slow.
jest.setTimeout(600_000);

// SQLite always; PostgreSQL too whenever
// BACKSTAGE_TEST_DATABASE_POSTGRES<NN>_CONNECTION_STRING is set.
const databases = TestDatabases.create({ ids: STORE_TEST_DATABASES });

type Json = any;
type EventName = 'workflow_run' | 'workflow_job';
type Path = Array<string | number>;

const webhooks: Array<{
  name: string;
  examples: Json[];
}> = require('@octokit/webhooks-examples');

const examplesOf = (name: EventName) =>
  webhooks.find(w => w.name === name)!.examples;

const SEEDS: Array<{ event: EventName; payload: Json }> = [
  ...examplesOf('workflow_run').map(payload => ({
    event: 'workflow_run' as const,
    payload,
  })),
  ...examplesOf('workflow_job').map(payload => ({
    event: 'workflow_job' as const,
    payload,
  })),
];

const OUTCOMES: DeliveryOutcome[] = [
  'accepted',
  'duplicate',
  'unclaimed',
  'rejected',
];

const sourceKeyOf = (repository: { html_url: string; full_name: string }) =>
  `github-actions:${new URL(repository.html_url).host}/${
    repository.full_name
  }`.toLowerCase();

// ---------------------------------------------------------------------------
// Paths into payloads

function pathsOf(value: Json, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object') {
    return [];
  }
  const out: Path[] = [];
  const entries: Array<[string | number, Json]> = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value);
  for (const [key, child] of entries) {
    const path = [...prefix, key];
    out.push(path, ...pathsOf(child, path));
  }
  return out;
}

function setAt(root: Json, path: Path, value: unknown): Json {
  const copy = structuredClone(root);
  let node = copy;
  for (const key of path.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== 'object') {
      node[key] = typeof key === 'number' ? [] : {};
    }
    node = node[key];
  }
  node[path[path.length - 1]] = value;
  return copy;
}

function deleteAt(root: Json, path: Path): Json {
  const copy = structuredClone(root);
  let node = copy;
  for (const key of path.slice(0, -1)) {
    node = node?.[key];
  }
  if (node && typeof node === 'object') {
    if (Array.isArray(node) && typeof path[path.length - 1] === 'number') {
      node.splice(path[path.length - 1] as number, 1);
    } else {
      delete node[path[path.length - 1]];
    }
  }
  return copy;
}

const getAt = (root: Json, path: Path): Json =>
  path.reduce((node, key) => node?.[key], root);

const ALL_PATHS = SEEDS.map(seed => pathsOf(seed.payload));

type Kind = 'int' | 'string' | 'date' | 'object' | 'array' | 'url' | 'slug';

/** The fields the ingestor's schemas read, with what they must be. */
const SCHEMA_FIELDS: Record<
  EventName,
  Array<{ path: Path; kind: Kind; required: boolean }>
> = {
  workflow_run: [
    { path: ['action'], kind: 'string', required: true },
    { path: ['workflow_run'], kind: 'object', required: true },
    { path: ['workflow_run', 'id'], kind: 'int', required: true },
    { path: ['workflow_run', 'name'], kind: 'string', required: false },
    { path: ['workflow_run', 'path'], kind: 'string', required: false },
    { path: ['workflow_run', 'run_number'], kind: 'int', required: true },
    { path: ['workflow_run', 'run_attempt'], kind: 'int', required: false },
    { path: ['workflow_run', 'status'], kind: 'string', required: false },
    { path: ['workflow_run', 'conclusion'], kind: 'string', required: false },
    { path: ['workflow_run', 'head_branch'], kind: 'string', required: false },
    { path: ['workflow_run', 'head_sha'], kind: 'string', required: false },
    {
      path: ['workflow_run', 'display_title'],
      kind: 'string',
      required: false,
    },
    { path: ['workflow_run', 'head_commit'], kind: 'object', required: false },
    {
      path: ['workflow_run', 'head_commit', 'message'],
      kind: 'string',
      required: false,
    },
    { path: ['workflow_run', 'actor'], kind: 'object', required: false },
    {
      path: ['workflow_run', 'actor', 'login'],
      kind: 'string',
      required: true,
    },
    {
      path: ['workflow_run', 'triggering_actor'],
      kind: 'object',
      required: false,
    },
    { path: ['workflow_run', 'event'], kind: 'string', required: false },
    { path: ['workflow_run', 'html_url'], kind: 'string', required: true },
    { path: ['workflow_run', 'created_at'], kind: 'date', required: true },
    { path: ['workflow_run', 'updated_at'], kind: 'date', required: false },
    {
      path: ['workflow_run', 'run_started_at'],
      kind: 'date',
      required: false,
    },
    { path: ['repository'], kind: 'object', required: true },
    { path: ['repository', 'full_name'], kind: 'slug', required: true },
    { path: ['repository', 'html_url'], kind: 'url', required: true },
  ],
  workflow_job: [
    { path: ['action'], kind: 'string', required: true },
    { path: ['workflow_job'], kind: 'object', required: true },
    { path: ['workflow_job', 'id'], kind: 'int', required: true },
    { path: ['workflow_job', 'run_id'], kind: 'int', required: true },
    { path: ['workflow_job', 'run_attempt'], kind: 'int', required: false },
    { path: ['workflow_job', 'name'], kind: 'string', required: true },
    { path: ['workflow_job', 'status'], kind: 'string', required: false },
    { path: ['workflow_job', 'conclusion'], kind: 'string', required: false },
    { path: ['workflow_job', 'html_url'], kind: 'string', required: false },
    { path: ['workflow_job', 'started_at'], kind: 'date', required: false },
    { path: ['workflow_job', 'completed_at'], kind: 'date', required: false },
    { path: ['workflow_job', 'runner_name'], kind: 'string', required: false },
    { path: ['workflow_job', 'steps'], kind: 'array', required: false },
    { path: ['workflow_job', 'steps', 0], kind: 'object', required: true },
    {
      path: ['workflow_job', 'steps', 0, 'name'],
      kind: 'string',
      required: true,
    },
    {
      path: ['workflow_job', 'steps', 0, 'number'],
      kind: 'int',
      required: true,
    },
    {
      path: ['workflow_job', 'steps', 0, 'status'],
      kind: 'string',
      required: false,
    },
    {
      path: ['workflow_job', 'steps', 0, 'conclusion'],
      kind: 'string',
      required: false,
    },
    {
      path: ['workflow_job', 'steps', 0, 'started_at'],
      kind: 'date',
      required: false,
    },
    { path: ['repository'], kind: 'object', required: true },
    { path: ['repository', 'full_name'], kind: 'slug', required: true },
    { path: ['repository', 'html_url'], kind: 'url', required: true },
  ],
};

// ---------------------------------------------------------------------------
// Arbitraries

const NAUGHTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '%00',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '-0',
  '1e308',
  '9007199254740993',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'; DROP TABLE ci_runs; --",
  '../../../etc/passwd',
  ['javascript', 'alert(1)'].join(':'),
  '${jndi:ldap://x/a}',
  '{{7*7}}',
  '\u202Egnp.exe',
  '\uD800',
  '\uDFFF\uD800',
  '\uFEFF',
  '𝕳𝖊𝖑𝖑𝖔',
  '🏳️‍🌈👩‍👩‍👧‍👦',
  'Z̴̡̛̤͎a̷̜̓l̶̰̀g̸̣̈o̵̝͐',
  '\r\n\t\v\f',
];

/**
 * Names of Object.prototype members: a lookup in a plain object by such a
 * name finds the prototype's member. The general properties leave them to
 * a property of their own below, so that a failure points at one bug.
 */
const PROTOTYPE_KEYS = [
  'constructor',
  '__proto__',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
];

const oversizedString = fc
  .tuple(
    fc.constantFrom('a', 'é', '😀', '<b>x</b>', '\u0000'),
    fc.integer({ min: 100_000, max: 150_000 }),
  )
  .map(([unit, size]) => unit.repeat(Math.ceil(size / unit.length)));

const nastyString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...NAUGHTY_STRINGS), weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 2 },
  { arbitrary: oversizedString, weight: 1 },
);

const hugeNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    1e308,
    -1e308,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    -0,
    0,
    -1,
    0.5,
    2 ** 31 - 1,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 32,
    2 ** 63,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 1,
    Number.MAX_SAFE_INTEGER + 2,
    Number.MIN_SAFE_INTEGER - 2,
    NaN,
    Infinity,
    -Infinity,
  ),
  fc.double(),
  fc.integer(),
  fc.maxSafeInteger(),
);

/** A value of any shape a field might wrongly carry. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: nastyString, weight: 4 },
  { arbitrary: hugeNumber, weight: 3 },
  { arbitrary: fc.boolean(), weight: 1 },
  { arbitrary: fc.constantFrom(null, undefined), weight: 1 },
  { arbitrary: fc.bigInt(), weight: 1 },
  { arbitrary: fc.array(fc.jsonValue({ maxDepth: 1 })), weight: 1 },
  { arbitrary: fc.object({ maxDepth: 1 }), weight: 1 },
  { arbitrary: fc.anything({ maxDepth: 2 }), weight: 1 },
);

/** A value that is certainly not of the given kind (never null/undefined). */
function notOfKind(kind: Kind): fc.Arbitrary<unknown> {
  const objects = fc.oneof(
    fc.object({ maxDepth: 1 }),
    fc.array(fc.jsonValue({ maxDepth: 1 })),
  );
  const numbers = fc.oneof(hugeNumber, fc.bigInt());
  switch (kind) {
    case 'int':
      return fc.oneof(
        nastyString,
        fc.boolean(),
        objects,
        fc.bigInt(),
        fc.constantFrom(0.5, -1.5, NaN, Infinity, -Infinity, 1e-300),
        fc.double({ noInteger: true }),
      );
    case 'string':
    case 'slug':
    case 'url':
    case 'date': {
      const invalidByKind: Partial<Record<Kind, string[]>> = {
        slug: ['no-slash', 'a/b/c', 'a b/c', '/x', 'x/', 'ö/ü', '<a>/<b>'],
        url: ['not a url', 'github.com/o/r', '//x', 'http//x', ''],
        date: ['not a date', '', '2021-13-45T99:99:99Z', 'yesterday', '\u0000'],
      };
      const invalid = invalidByKind[kind] ?? [];
      return fc.oneof(
        numbers,
        fc.boolean(),
        objects,
        ...(invalid.length ? [fc.constantFrom(...invalid)] : []),
      );
    }
    case 'object':
      return fc.oneof(
        nastyString,
        numbers,
        fc.boolean(),
        fc.array(fc.jsonValue({ maxDepth: 1 })),
      );
    case 'array':
      return fc.oneof(
        nastyString,
        numbers,
        fc.boolean(),
        fc.object({ maxDepth: 1 }),
      );
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

function nested(depth: number, leaf: unknown, asArray: boolean): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) {
    value = asArray ? [value] : { workflow_run: value, a: value === leaf };
  }
  return value;
}

const deepValue = fc
  .tuple(fc.integer({ min: 10, max: 5000 }), fc.boolean(), fc.jsonValue())
  .map(([depth, asArray, leaf]) => nested(depth, leaf, asArray));

const anyPayload: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({
    maxDepth: 4,
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withObjectString: true,
    withSparseArray: true,
    withTypedArray: true,
  }),
  fc.json().map(text => JSON.parse(text)),
  fc.jsonValue({ maxDepth: 8 }),
  deepValue,
  fc.object({ maxDepth: 6, maxKeys: 6 }),
  // A payload shaped like a delivery, with garbage inside.
  fc.record({
    action: wrongValue,
    workflow_run: fc.anything({ maxDepth: 3 }),
    workflow_job: fc.anything({ maxDepth: 3 }),
    repository: fc.oneof(
      fc.anything({ maxDepth: 2 }),
      fc.record({ full_name: wrongValue, html_url: wrongValue }),
    ),
  }),
);

const seedArb = fc.nat(SEEDS.length - 1);

let freshIds = 0;
/**
 * A published example with run and job ids no other test case used, so that
 * each case writes records of its own and a counterexample stands alone.
 */
function freshSeed(index: number): { event: EventName; payload: Json } {
  const { event, payload } = SEEDS[index];
  const copy = structuredClone(payload);
  const id = 8_000_000_000 + ++freshIds;
  if (event === 'workflow_run') {
    copy.workflow_run.id = id;
  } else {
    copy.workflow_job.id = id;
    copy.workflow_job.run_id = id;
  }
  return { event, payload: copy };
}

// ---------------------------------------------------------------------------
// The harness

describe.each(databases.eachSupportedId())(
  'GithubWebhookIngestor properties on %p',
  databaseId => {
    let knex: Knex;
    let store: KnexCiStore;
    const metrics = CiMetrics.create();
    let counter = 0;
    const nextDeliveryId = () => `prop-${++counter}-${Date.now().toString(36)}`;

    beforeAll(async () => {
      knex = await databases.init(databaseId);
      store = await KnexCiStore.fromKnex(knex);
      // Claim every repository the published examples name.
      for (const { payload } of SEEDS) {
        await store.upsertSource({
          provider: 'github-actions',
          key: sourceKeyOf(payload.repository),
          source: payload.repository.full_name,
          host: 'github.com',
        });
        await store.recordClaims(
          `component:default/${payload.repository.full_name.replace('/', '.')}`,
          [sourceKeyOf(payload.repository)],
          new Date().toISOString(),
        );
      }
    });

    async function counts() {
      const [runs, jobs, deliveries] = await Promise.all(
        ['ci_runs', 'ci_jobs', 'ci_deliveries'].map(async table => {
          const [row] = await knex(table).count({ n: '*' });
          return Number(row.n);
        }),
      );
      return { runs, jobs, deliveries };
    }

    /** Checks the records an accepted delivery wrote are well formed. */
    async function expectWellFormed(event: EventName, payload: Json) {
      const sourceKey = sourceKeyOf(payload.repository);
      if (event === 'workflow_run') {
        const run = payload.workflow_run;
        const id = runIdOf(sourceKey, String(run.id), run.run_attempt ?? 1);
        const row = await knex('ci_runs').where({ id }).first();
        expect(row).toBeDefined();
        expect(CI_RUN_STATUSES).toContain(row.status);
        expect(typeof row.provider_status).toBe('string');
        expect(Number(row.status_rank)).toBe(statusRank(row.status));
        expect(Number.isNaN(Date.parse(row.created_at))).toBe(false);
        expect(typeof row.url).toBe('string');
        expect(typeof row.workflow).toBe('string');
        const stored = await store.getRun(id);
        expect(() => JSON.stringify(stored)).not.toThrow();
      } else {
        const job = payload.workflow_job;
        const runId = runIdOf(
          sourceKey,
          String(job.run_id),
          job.run_attempt ?? 1,
        );
        const row = await knex('ci_jobs')
          .where({ run_id: runId, job_id: String(job.id) })
          .first();
        expect(row).toBeDefined();
        const data = JSON.parse(row.data);
        expect(CI_RUN_STATUSES).toContain(data.status);
        expect(typeof data.providerStatus).toBe('string');
        expect(Number(row.status_rank)).toBe(statusRank(data.status));
        for (const step of data.steps ?? []) {
          expect(CI_RUN_STATUSES).toContain(step.status);
          expect(typeof step.providerStatus).toBe('string');
        }
      }
    }

    /**
     * Hands one delivery to a fresh ingestor and checks what must hold for
     * every delivery; answers the outcome.
     */
    async function deliver(options: {
      event: EventName;
      payload: unknown;
      metadata?: unknown;
      deliveryId?: string;
    }): Promise<{
      outcome: DeliveryOutcome;
      logger: ReturnType<typeof mockServices.logger.mock>;
    }> {
      const deliveryId = options.deliveryId ?? nextDeliveryId();
      const metadata =
        'metadata' in options
          ? options.metadata
          : {
              'x-github-delivery': deliveryId,
              'x-github-event': options.event,
            };
      const logger = mockServices.logger.mock();
      const ingestor = new GithubWebhookIngestor({ store, logger, metrics });
      const before = await counts();

      const outcome = await ingestor.handle({
        topic: `github.${options.event}`,
        eventPayload: options.payload,
        metadata: metadata as any,
      });

      expect(OUTCOMES).toContain(outcome);
      const after = await counts();
      if (outcome === 'accepted') {
        expect(after.deliveries).toBe(before.deliveries + 1);
      } else {
        // Nothing at all written: no run, no job, no delivery id.
        expect(after).toEqual(before);
      }
      if (outcome === 'rejected') {
        // A payload problem is the sender's: a warning, never an error.
        expect(logger.error).not.toHaveBeenCalled();
        expect(logger.warn).toHaveBeenCalled();
      }
      return { outcome, logger };
    }

    const expectRejectedWithId = (
      result: { outcome: DeliveryOutcome; logger: any },
      deliveryId: string,
    ) => {
      expect(result.outcome).toBe('rejected');
      expect(result.logger.warn).toHaveBeenCalledWith(
        expect.stringContaining(deliveryId),
      );
    };

    it('accepts the published examples unchanged (sanity check of the harness)', async () => {
      for (const { event, payload } of SEEDS) {
        const { outcome } = await deliver({ event, payload });
        expect(outcome).toBe('accepted');
        await expectWellFormed(event, payload);
      }
    });

    it('rejects arbitrary values, with a warning naming the delivery id', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom<EventName>('workflow_run', 'workflow_job'),
          anyPayload,
          async (event, payload) => {
            const deliveryId = nextDeliveryId();
            expectRejectedWithId(
              await deliver({ event, payload, deliveryId }),
              deliveryId,
            );
          },
        ),
        { numRuns: 300 },
      );
    });

    it('rejects truncated and non-JSON bodies handed over as strings or buffers', async () => {
      await fc.assert(
        fc.asyncProperty(
          seedArb,
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.constantFrom('string', 'buffer', 'parsedPrefix'),
          async (seed, fraction, form) => {
            const { event, payload } = SEEDS[seed];
            const text = JSON.stringify(payload);
            const cut = text.slice(0, Math.floor(text.length * fraction));
            let body: unknown = cut;
            if (form === 'buffer') {
              body = Buffer.from(cut);
            } else if (form === 'parsedPrefix') {
              // The longest prefix that still parses, e.g. `{}` or a number.
              body = (() => {
                try {
                  return JSON.parse(cut);
                } catch {
                  return cut;
                }
              })();
            }
            const deliveryId = nextDeliveryId();
            const result = await deliver({ event, payload: body, deliveryId });
            if (cut.length < text.length) {
              expectRejectedWithId(result, deliveryId);
            }
          },
        ),
        { numRuns: 200 },
      );
    });

    it('survives a wrong value at any one path of a real delivery', async () => {
      await fc.assert(
        fc.asyncProperty(
          seedArb.chain(seed =>
            fc.tuple(
              fc.constant(seed),
              fc.oneof(
                fc.constantFrom(...ALL_PATHS[seed]),
                fc.constantFrom(
                  ...SCHEMA_FIELDS[SEEDS[seed].event].map(f => f.path),
                ),
              ),
            ),
          ),
          wrongValue,
          async ([seed, path], value) => {
            const { event, payload } = freshSeed(seed);
            const mutated = setAt(payload, path, value);
            const { outcome } = await deliver({ event, payload: mutated });
            if (outcome === 'accepted') {
              await expectWellFormed(event, mutated);
            }
          },
        ),
        { numRuns: 500 },
      );
    });

    it('rejects a value of the wrong type in any field the schema reads', async () => {
      const fields = SEEDS.flatMap((seed, index) =>
        SCHEMA_FIELDS[seed.event]
          .filter(
            f =>
              f.path.length === 1 ||
              ![null, undefined].includes(
                getAt(seed.payload, f.path.slice(0, -1)),
              ),
          )
          .map(field => ({ index, field })),
      );
      await fc.assert(
        fc.asyncProperty(
          fc
            .constantFrom(...fields)
            .chain(({ index, field }) =>
              fc.tuple(
                fc.constant(index),
                fc.constant(field.path),
                notOfKind(field.kind),
              ),
            ),
          async ([index, path, value]) => {
            const { event, payload } = freshSeed(index);
            const deliveryId = nextDeliveryId();
            expectRejectedWithId(
              await deliver({
                event,
                payload: setAt(payload, path, value),
                deliveryId,
              }),
              deliveryId,
            );
          },
        ),
        { numRuns: 300 },
      );
    });

    it('survives a missing field anywhere, and rejects a missing required one', async () => {
      const required = SEEDS.flatMap((seed, index) =>
        SCHEMA_FIELDS[seed.event]
          .filter(
            f =>
              f.required &&
              typeof f.path[f.path.length - 1] !== 'number' &&
              getAt(seed.payload, f.path) !== undefined,
          )
          .map(f => ({ index, path: f.path })),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            seedArb.chain(index =>
              fc.record({
                index: fc.constant(index),
                path: fc.constantFrom(...ALL_PATHS[index]),
                mustReject: fc.constant(false),
              }),
            ),
            fc.constantFrom(...required).map(r => ({ ...r, mustReject: true })),
          ),
          async ({ index, path, mustReject }) => {
            const { event, payload } = freshSeed(index);
            const mutated = deleteAt(payload, path);
            const deliveryId = nextDeliveryId();
            const result = await deliver({
              event,
              payload: mutated,
              deliveryId,
            });
            if (mustReject) {
              expectRejectedWithId(result, deliveryId);
            } else if (result.outcome === 'accepted') {
              await expectWellFormed(event, mutated);
            }
          },
        ),
        { numRuns: 250 },
      );
    });

    it('stores unicode, markup, oversized strings and huge numbers as well-formed records or rejects them', async () => {
      const strings = SEEDS.flatMap((seed, index) =>
        SCHEMA_FIELDS[seed.event]
          .filter(f => ['string', 'date', 'url', 'slug'].includes(f.kind))
          .map(f => ({ index, path: f.path, kind: 'string' as const })),
      );
      const numbers = SEEDS.flatMap((seed, index) =>
        SCHEMA_FIELDS[seed.event]
          .filter(f => f.kind === 'int')
          .map(f => ({ index, path: f.path, kind: 'number' as const })),
      );
      await fc.assert(
        fc.asyncProperty(
          fc
            .constantFrom(...strings, ...numbers)
            .chain(target =>
              fc.tuple(
                fc.constant(target),
                target.kind === 'string' ? nastyString : hugeNumber,
              ),
            ),
          async ([{ index, path }, value]) => {
            const { event, payload } = freshSeed(index);
            const mutated = setAt(payload, path, value);
            const { outcome } = await deliver({ event, payload: mutated });
            if (outcome === 'accepted') {
              await expectWellFormed(event, mutated);
            }
          },
        ),
        { numRuns: 400 },
      );
    });

    it('rejects a delivery whose X-GitHub-Delivery id is missing or malformed, writing nothing', async () => {
      const badId = fc.oneof(
        fc.constantFrom(
          '',
          ' ',
          'a b',
          'x'.repeat(129),
          'é',
          '../x',
          'a\u0000',
          '<id>',
        ),
        nastyString.filter(s => !/^[A-Za-z0-9._:-]{1,128}$/.test(s)),
      );
      await fc.assert(
        fc.asyncProperty(
          seedArb,
          fc.oneof(
            fc.constant(undefined),
            fc.constant(null),
            fc.constant({}),
            fc.constant({ 'x-github-event': 'workflow_run' }),
            fc.constant({ 'x-github-delivery': undefined }),
            fc.constant({ 'x-github-delivery': [] }),
            badId.map(id => ({ 'x-github-delivery': id })),
            fc
              .array(badId, { minLength: 1, maxLength: 3 })
              .map(ids => ({ 'x-github-delivery': ids })),
            // Only the first of repeated headers counts.
            fc
              .tuple(badId, fc.constant('valid-id-after-a-bad-one'))
              .map(ids => ({ 'x-github-delivery': ids })),
          ),
          async (seed, metadata) => {
            const { event, payload } = SEEDS[seed];
            const { outcome, logger } = await deliver({
              event,
              payload,
              metadata,
            });
            expect(outcome).toBe('rejected');
            expect(logger.warn).toHaveBeenCalledWith(
              expect.stringContaining('X-GitHub-Delivery'),
            );
          },
        ),
        { numRuns: 200 },
      );
    });

    it('resolves whatever value the metadata or its delivery id has', async () => {
      const anything = fc.anything({
        maxDepth: 2,
        withBigInt: true,
        withBoxedValues: true,
        withNullPrototype: true,
        withObjectString: true,
        withMap: true,
        withSet: true,
        withDate: true,
      });
      await fc.assert(
        fc.asyncProperty(
          seedArb,
          fc.oneof(
            anything,
            anything.map(id => ({ 'x-github-delivery': id })),
            fc
              .array(anything, { minLength: 1, maxLength: 2 })
              .map(ids => ({ 'x-github-delivery': ids })),
          ),
          async (seed, metadata) => {
            const { event, payload } = freshSeed(seed);
            const logger = mockServices.logger.mock();
            const ingestor = new GithubWebhookIngestor({ store, logger });
            const outcome = await ingestor.handle({
              topic: `github.${event}`,
              eventPayload: payload,
              metadata: metadata as any,
            });
            expect(OUTCOMES).toContain(outcome);
          },
        ),
        { numRuns: 150 },
      );
    });

    it('maps status and conclusion values named like Object.prototype members to a real status', async () => {
      // GitHub's maps of statuses are plain objects: a lookup of "constructor"
      // must not find Object.prototype's members.
      const targets = [
        {
          index: 0,
          path: ['workflow_run', 'status'],
          clear: ['workflow_run', 'conclusion'],
        },
        { index: 0, path: ['workflow_run', 'conclusion'] },
        ...SEEDS.flatMap((seed, index) =>
          seed.event === 'workflow_job' &&
          seed.payload.workflow_job.steps?.length
            ? [
                {
                  index,
                  path: ['workflow_job', 'status'],
                  clear: ['workflow_job', 'conclusion'],
                },
                { index, path: ['workflow_job', 'conclusion'] },
                { index, path: ['workflow_job', 'steps', 0, 'conclusion'] },
              ]
            : [],
        ).slice(0, 3),
      ];
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...targets),
          fc.constantFrom(...PROTOTYPE_KEYS),
          async (target, value) => {
            const { event, payload } = freshSeed(target.index);
            let mutated = setAt(payload, target.path, value);
            if (target.clear) {
              mutated = setAt(mutated, target.clear, null);
            }
            const { outcome } = await deliver({ event, payload: mutated });
            expect(outcome).toBe('accepted');
            await expectWellFormed(event, mutated);
          },
        ),
        { numRuns: 60 },
      );
    });

    it('stores or warns about values beyond the database columns (NUL, long strings, integers beyond 32 bits)', async () => {
      // Every case, not a sample: the list of failures is the report.
      const strings = [
        'workflow_run.name',
        'workflow_run.path',
        'workflow_run.status',
        'workflow_run.conclusion',
        'workflow_run.head_branch',
        'workflow_run.head_sha',
        'workflow_run.head_commit.message',
        'workflow_run.actor.login',
        'workflow_run.event',
        'workflow_run.html_url',
      ];
      const ints = ['workflow_run.run_number', 'workflow_run.run_attempt'];
      const cases: Array<[string, unknown]> = [
        ...strings.flatMap(field =>
          ['a\u0000b', 'x'.repeat(65), 'x'.repeat(256), 'x'.repeat(513)].map(
            (value): [string, unknown] => [field, value],
          ),
        ),
        ...ints.flatMap(field =>
          [2 ** 31, 2 ** 53, 1e308].map((value): [string, unknown] => [
            field,
            value,
          ]),
        ),
      ];
      const failures: string[] = [];
      for (const [field, value] of cases) {
        const { event, payload } = freshSeed(0);
        const mutated = setAt(payload, field.split('.'), value);
        const logger = mockServices.logger.mock();
        const ingestor = new GithubWebhookIngestor({ store, logger });
        const outcome = await ingestor.handle({
          topic: `github.${event}`,
          eventPayload: mutated,
          metadata: { 'x-github-delivery': nextDeliveryId() },
        });
        const shown =
          typeof value === 'string' && value.length > 10
            ? `"${value[0]}" x ${value.length}`
            : JSON.stringify(value);
        if (logger.error.mock.calls.length > 0) {
          const message = String(logger.error.mock.calls[0][0]);
          failures.push(
            `${field}=${shown}: ${outcome}, logged error ...${message.slice(
              -90,
            )}`,
          );
        } else if (outcome === 'rejected') {
          if (logger.warn.mock.calls.length === 0) {
            failures.push(`${field}=${shown}: rejected without a warning`);
          }
        } else {
          await expectWellFormed(event, mutated);
        }
      }
      expect(failures).toEqual([]);
    });

    // -------------------------------------------------------------------------
    // Valid deliveries in any order, with redeliveries

    const RUN_STAGES = [
      { status: 'queued', action: 'requested' },
      { status: 'in_progress', action: 'in_progress' },
      { status: 'in_progress', action: 'in_progress' },
      { status: 'completed', action: 'completed' },
    ];
    const JOB_STAGES = ['queued', 'in_progress', 'completed'];
    const CONCLUSIONS = [
      'success',
      'failure',
      'cancelled',
      'skipped',
      'timed_out',
      'neutral',
    ];

    const attemptArb = fc.record({
      stages: fc.subarray([0, 1, 2, 3], { minLength: 1 }),
      conclusion: fc.constantFrom(...CONCLUSIONS),
      jobs: fc.array(
        fc.record({
          stages: fc.subarray([0, 1, 2], { minLength: 1 }),
          conclusion: fc.constantFrom(...CONCLUSIONS),
        }),
        { maxLength: 3 },
      ),
    });
    const scenarioArb = fc.array(
      fc.array(attemptArb, { minLength: 1, maxLength: 2 }),
      { minLength: 1, maxLength: 3 },
    );

    type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T>
      ? T
      : never;
    interface Planned {
      key: string;
      event: EventName;
      stage: number;
      run: number;
      attempt: number;
      job?: number;
    }

    function plan(scenario: Scenario): Planned[] {
      const out: Planned[] = [];
      scenario.forEach((attempts, run) =>
        attempts.forEach((a, i) => {
          for (const stage of a.stages) {
            out.push({
              key: `r${run}.${i}.${stage}`,
              event: 'workflow_run',
              stage,
              run,
              attempt: i + 1,
            });
          }
          a.jobs.forEach((j, job) => {
            for (const stage of j.stages) {
              out.push({
                key: `j${run}.${i}.${job}.${stage}`,
                event: 'workflow_job',
                stage,
                run,
                attempt: i + 1,
                job,
              });
            }
          });
        }),
      );
      return out;
    }

    const orderedArb = scenarioArb.chain(scenario => {
      const planned = plan(scenario);
      return fc
        .array(fc.nat(9), {
          minLength: planned.length,
          maxLength: planned.length,
        })
        .chain(dice => {
          // About one delivery in ten is delivered twice.
          const withDuplicates = planned.flatMap((p, i) =>
            dice[i] === 0 ? [p, p] : [p],
          );
          return fc.tuple(
            fc.constant(scenario),
            fc.shuffledSubarray(withDuplicates, {
              minLength: withDuplicates.length,
              maxLength: withDuplicates.length,
            }),
          );
        });
    });

    const RUN_SEED = examplesOf('workflow_run')[0];
    const JOB_SEED = examplesOf('workflow_job').find(
      e => e.repository.full_name === RUN_SEED.repository.full_name,
    );
    const T0 = Date.parse('2026-11-20T12:00:00Z');
    const at = (minutes: number) =>
      new Date(T0 + minutes * 60_000).toISOString().replace('.000Z', 'Z');

    it('applies shuffled deliveries with redeliveries once each, keeping every run attempt and job in its latest state', async () => {
      expect(JOB_SEED).toBeDefined();
      let scenarioNumber = 0;
      await fc.assert(
        fc.asyncProperty(orderedArb, async ([scenario, order]) => {
          scenarioNumber += 1;
          const base = 7_000_000_000 + scenarioNumber * 100;
          const prefix = `ord-${scenarioNumber}-${Date.now().toString(36)}`;
          const runIdFor = (run: number) => base + run;
          const jobIdFor = (run: number, attempt: number, job: number) =>
            base * 100 + run * 100 + attempt * 10 + job;

          const payloadOf = (p: Planned) => {
            const a = scenario[p.run][p.attempt - 1];
            if (p.event === 'workflow_run') {
              const stage = RUN_STAGES[p.stage];
              return {
                ...RUN_SEED,
                action: stage.action,
                workflow_run: {
                  ...RUN_SEED.workflow_run,
                  id: runIdFor(p.run),
                  run_number: p.run + 1,
                  run_attempt: p.attempt,
                  status: stage.status,
                  conclusion:
                    stage.status === 'completed' ? a.conclusion : null,
                  created_at: at(0),
                  run_started_at: at(1),
                  updated_at: at(p.stage + 1),
                },
              };
            }
            const j = a.jobs[p.job!];
            const status = JOB_STAGES[p.stage];
            return {
              ...JOB_SEED,
              action: status,
              workflow_job: {
                ...JOB_SEED.workflow_job,
                id: jobIdFor(p.run, p.attempt, p.job!),
                run_id: runIdFor(p.run),
                run_attempt: p.attempt,
                name: `job ${p.job}`,
                status,
                conclusion: status === 'completed' ? j.conclusion : null,
                started_at: p.stage >= 1 ? at(2) : null,
                completed_at: p.stage >= 2 ? at(3 + p.job!) : null,
                steps: [],
              },
            };
          };

          const seen = new Set<string>();
          for (const p of order) {
            const deliveryId = `${prefix}-${p.key}`;
            const { outcome } = await deliver({
              event: p.event,
              payload: payloadOf(p),
              deliveryId,
            });
            expect(outcome).toBe(seen.has(p.key) ? 'duplicate' : 'accepted');
            seen.add(p.key);
          }

          const sourceKey = sourceKeyOf(RUN_SEED.repository);
          for (const [run, attempts] of scenario.entries()) {
            const rows = await knex('ci_runs').where({
              source_key: sourceKey,
              provider_run_id: String(runIdFor(run)),
            });
            expect(rows).toHaveLength(attempts.length);
            for (const [i, a] of attempts.entries()) {
              const latest = Math.max(...a.stages);
              const stage = RUN_STAGES[latest];
              const expected = mapGithubStatus(
                stage.status,
                stage.status === 'completed' ? a.conclusion : null,
              );
              const id = runIdOf(sourceKey, String(runIdFor(run)), i + 1);
              const row = rows.find(r => r.id === id);
              expect(row).toMatchObject({
                attempt: i + 1,
                status: expected.status,
                provider_status: expected.providerStatus,
                provider_updated_at: new Date(
                  Date.parse(at(latest + 1)),
                ).toISOString(),
              });

              const jobRows = await knex('ci_jobs').where({ run_id: id });
              expect(jobRows).toHaveLength(a.jobs.length);
              for (const [job, j] of a.jobs.entries()) {
                const latestJob = Math.max(...j.stages);
                const status = JOB_STAGES[latestJob];
                const expectedJob = mapGithubStatus(
                  status,
                  status === 'completed' ? j.conclusion : null,
                );
                const jobRow = jobRows.find(
                  r => r.job_id === String(jobIdFor(run, i + 1, job)),
                );
                expect(jobRow).toBeDefined();
                expect(JSON.parse(jobRow.data)).toMatchObject({
                  status: expectedJob.status,
                  providerStatus: expectedJob.providerStatus,
                });
              }
            }
          }
        }),
        { numRuns: 120 },
      );
    });
  },
);
