import { TestDatabases } from '@backstage/backend-test-utils';
import { StoredRun } from '../database/CiStore';
import { KnexCiStore } from '../database/KnexCiStore';
import { STORE_TEST_DATABASES } from '../__testUtils__/databases';
import { ParsedTestCase } from './junit';
import { KnexTestResultsStore, testIdOf } from './TestResultsStore';
import { DEFAULT_FLAKY_POLICY, judgeTests, TestAggregate } from './flaky';
import {
  aggregateCommits,
  classifyTests,
  summarizeTests,
} from './__testUtils__/commitSummaries';

jest.setTimeout(60_000);

const KEY = 'fake:org/app';

function run(id: string, runNumber: number, attempt: number): StoredRun {
  return {
    id,
    sourceKey: KEY,
    providerRunId: String(runNumber),
    provider: 'fake',
    source: 'org/app',
    workflow: 'CI',
    runNumber,
    attempt,
    status: 'failed',
    providerStatus: 'failure',
    url: `https://ci.example.com/${runNumber}`,
    createdAt: '2026-12-01T10:00:00.000Z',
    providerUpdatedAt: '2026-12-01T10:00:00.000Z',
  };
}

const tc = (
  name: string,
  status: ParsedTestCase['status'],
  extra: Partial<ParsedTestCase> = {},
): ParsedTestCase => ({ suite: 'S', classname: 'C', name, status, ...extra });

describe('KnexTestResultsStore', () => {
  const databases = TestDatabases.create({ ids: STORE_TEST_DATABASES });

  it.each(databases.eachSupportedId())(
    'finds runs by number, replaces an attempt’s results, lists failed first, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      const ci = await KnexCiStore.fromKnex(knex);
      await ci.upsertSource({ provider: 'fake', key: KEY, source: 'org/app' });
      await ci.upsertRuns([
        run('r7a1', 7, 1),
        run('r7a2', 7, 2),
        run('r8', 8, 1),
      ]);
      const store = new KnexTestResultsStore(knex);

      expect(
        await store.findRun({
          provider: 'fake',
          source: 'org/app',
          runNumber: 7,
        }),
      ).toEqual({ id: 'r7a2', sourceKey: KEY, attempt: 2 });
      expect(
        await store.findRun({
          provider: 'fake',
          source: 'org/app',
          runNumber: 7,
          attempt: 1,
        }),
      ).toEqual({ id: 'r7a1', sourceKey: KEY, attempt: 1 });
      expect(
        await store.findRun({
          provider: 'other',
          source: 'org/app',
          runNumber: 7,
        }),
      ).toBeUndefined();

      const target = { id: 'r7a2', sourceKey: KEY, attempt: 2 };
      const at = '2026-12-03T12:00:00.000Z';
      await store.putResults(
        target,
        [tc('gone', 'failed', { message: 'old' })],
        at,
      );
      // 1,200 tests: several INSERT chunks.
      const many = Array.from({ length: 1200 }, (_, i) =>
        tc(`t${String(i).padStart(4, '0')}`, 'passed', { durationMs: i }),
      );
      expect(
        await store.putResults(
          target,
          [
            ...many,
            tc('b', 'failed', {
              message: 'boom',
              output: 'stack',
              durationMs: 5,
            }),
            tc('a', 'error', { message: 'crash' }),
            tc('f', 'flaky', { message: 'first try failed' }),
            tc('s', 'skipped', { message: 'not on linux' }),
          ],
          at,
        ),
      ).toBe(1204);

      const tests = await store.listRunTests('r7a2');
      expect(tests).toHaveLength(1204);
      expect(tests.slice(0, 5)).toEqual([
        {
          id: expect.any(String),
          suite: 'S',
          classname: 'C',
          name: 'a',
          status: 'error',
          message: 'crash',
        },
        {
          id: expect.any(String),
          suite: 'S',
          classname: 'C',
          name: 'b',
          status: 'failed',
          durationMs: 5,
          message: 'boom',
        },
        {
          id: expect.any(String),
          suite: 'S',
          classname: 'C',
          name: 'f',
          status: 'flaky',
          message: 'first try failed',
        },
        {
          id: expect.any(String),
          suite: 'S',
          classname: 'C',
          name: 's',
          status: 'skipped',
          message: 'not on linux',
        },
        {
          id: testIdOf(KEY, many[0]),
          suite: 'S',
          classname: 'C',
          name: 't0000',
          status: 'passed',
          durationMs: 0,
        },
      ]);
      expect(tests.some(t => t.name === 'gone')).toBe(false);
      // What the database cannot hold is made storable, whoever read it:
      // a NUL in a text (PostgreSQL refuses it), a duration past the column.
      await store.putResults(
        { id: 'r7a1', sourceKey: KEY, attempt: 1 },
        [
          tc('nul\u0000name', 'failed', {
            message: 'bad\u0000byte',
            durationMs: 2 ** 40,
          }),
        ],
        at,
      );
      expect(await store.listRunTests('r7a1')).toEqual([
        {
          id: expect.any(String),
          suite: 'S',
          classname: 'C',
          name: 'nulname',
          status: 'failed',
          message: 'badbyte',
        },
      ]);
      // A test's identity is kept once, whatever the runs (1,204 tests of
      // r7a2 with the one made storable above: 1,205; 'gone' makes 1,206).
      await store.putResults(
        { id: 'r8', sourceKey: KEY, attempt: 1 },
        many.slice(0, 10),
        at,
      );
      expect(Number((await knex('ci_tests').count({ n: '*' }))[0].n)).toBe(
        1206,
      );
      expect(await store.listRunTests('nope')).toEqual([]);
    },
  );

  it.each(databases.eachSupportedId())(
    'sums each test’s attempts per commit over the window, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      const ci = await KnexCiStore.fromKnex(knex);
      await ci.upsertSource({ provider: 'fake', key: KEY, source: 'org/app' });
      const at = (
        n: number,
        attempt: number,
        commitSha?: string,
        createdAt = '2026-12-01T10:00:00.000Z',
      ) => ({
        ...run(`r${n}a${attempt}`, n, attempt),
        commitSha,
        createdAt,
        durationMs: 60_000 * attempt,
      });
      await ci.upsertRuns([
        at(1, 1, 'c1'),
        at(1, 2, 'c1'),
        at(2, 1), // no commit: its own
        at(3, 1, 'c3', '2026-10-01T10:00:00.000Z'), // before the window
      ]);
      const store = new KnexTestResultsStore(knex);
      const put = (id: string, cases: ParsedTestCase[]) =>
        store.putResults(
          { id, sourceKey: KEY, attempt: 1 },
          cases,
          '2026-12-03T00:00:00.000Z',
        );
      await put('r1a1', [
        tc('t', 'failed', { durationMs: 5 }),
        tc('s', 'skipped'),
      ]);
      await put('r1a2', [
        tc('t', 'passed', { durationMs: 4 }),
        tc('s', 'skipped'),
      ]);
      await put('r2a1', [tc('t', 'flaky', { durationMs: 7 })]);
      await put('r3a1', [tc('t', 'failed')]);

      const rows = await summarizeTests(knex, {
        sourceKeys: [KEY],
        since: '2026-11-01T00:00:00.000Z',
      });
      const t = testIdOf(KEY, tc('t', 'passed'));
      expect(rows.sort((a, b) => a.commit.localeCompare(b.commit))).toEqual([
        {
          testId: t,
          suite: 'S',
          name: 't',
          commit: 'c1',
          lastAt: '2026-12-01T10:00:00.000Z',
          runs: 2,
          passed: 1,
          failed: 1,
          flaky: 0,
          failedRunsMs: 60_000,
          flakyTestMs: 0,
          durationMs: 9,
          timed: 2,
        },
        {
          testId: t,
          suite: 'S',
          name: 't',
          commit: 'run:2',
          lastAt: '2026-12-01T10:00:00.000Z',
          runs: 1,
          passed: 0,
          failed: 0,
          flaky: 1,
          failedRunsMs: 0,
          flakyTestMs: 7,
          durationMs: 7,
          timed: 1,
        },
      ]);
      // `until` leaves out the attempts created at or after it.
      expect(
        await summarizeTests(knex, {
          sourceKeys: [KEY],
          since: '2026-11-01T00:00:00.000Z',
          until: '2026-12-01T10:00:00.000Z',
        }),
      ).toEqual([]);
      expect(
        await summarizeTests(knex, {
          sourceKeys: [],
          since: '2026-11-01T00:00:00.000Z',
        }),
      ).toEqual([]);
    },
  );
  it.each(databases.eachSupportedId())(
    'answers a test’s last results in the workflow up to an attempt, oldest first, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      const ci = await KnexCiStore.fromKnex(knex);
      await ci.upsertSource({ provider: 'fake', key: KEY, source: 'org/app' });
      const later = (r: StoredRun, minutes: number): StoredRun => ({
        ...r,
        createdAt: new Date(
          Date.parse(r.createdAt) + minutes * 60_000,
        ).toISOString(),
      });
      await ci.upsertRuns([
        run('r6', 6, 1),
        later(run('r7a1', 7, 1), 10),
        later(run('r7a2', 7, 2), 10),
        later(run('r8', 8, 1), 20),
        { ...later(run('n9', 9, 1), 15), workflow: 'Nightly' },
      ]);
      const store = new KnexTestResultsStore(knex);
      const at = '2026-12-03T12:00:00.000Z';
      const put = (
        id: string,
        attempt: number,
        status: ParsedTestCase['status'],
      ) =>
        store.putResults(
          { id, sourceKey: KEY, attempt },
          [tc('x', status)],
          at,
        );
      await put('r6', 1, 'passed');
      await put('r7a1', 1, 'failed');
      await put('r7a2', 2, 'flaky');
      await put('r8', 1, 'error');
      await put('n9', 1, 'skipped');
      const x = testIdOf(KEY, tc('x', 'passed'));
      const history = async (id: string, limit = 30) => {
        const r = (await ci.getRun(id))!;
        return (await store.recentResults(r, [x, 'other'], limit)).get(x);
      };
      // Attempt 1 of run 7 does not see its re-run, nor run 8, nor Nightly.
      expect(await history('r7a1')).toEqual(['passed', 'failed']);
      expect(await history('r7a2')).toEqual(['passed', 'failed', 'flaky']);
      expect(await history('r8')).toEqual([
        'passed',
        'failed',
        'flaky',
        'error',
      ]);
      expect(await history('r8', 2)).toEqual(['flaky', 'error']);
      expect(
        await store.recentResults((await ci.getRun('r8'))!, [], 30),
      ).toEqual(new Map());
    },
  );
  it.each(databases.eachSupportedId())(
    'adds each test’s commits up in SQL exactly as from the summaries (seeded histories), %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      const ci = await KnexCiStore.fromKnex(knex);
      await ci.upsertSource({ provider: 'fake', key: KEY, source: 'org/app' });
      const store = new KnexTestResultsStore(knex);
      // A small seeded generator: the same histories every time.
      let seed = 7;
      const random = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const statuses: ParsedTestCase['status'][] = [
        'passed',
        'passed',
        'passed',
        'failed',
        'error',
        'skipped',
        'flaky',
      ];
      const base = Date.parse('2026-11-10T00:00:00.000Z');
      let n = 0;
      for (let commit = 0; commit < 30; commit++) {
        const attempts = 1 + Math.floor(random() * 3);
        for (let attempt = 1; attempt <= attempts; attempt++) {
          n += 1;
          const id = `rr${n}`;
          // Some commits share a time (a re-run keeps it); some runs name no commit.
          // Five hours apart: the history spans six UTC days, so windows
          // read whole days from the per-day counts and their edges from
          // the results.
          const createdAt = new Date(
            base +
              commit * 5 * 3600_000 +
              (random() < 0.5 ? 0 : attempt * 60_000),
          ).toISOString();
          const r: StoredRun = {
            ...run(id, 100 + commit, attempt),
            createdAt,
            ...(commit % 7 === 3 ? {} : { commitSha: `c${commit}` }),
            durationMs: Math.floor(random() * 600_000),
          };
          await ci.upsertRuns([r]);
          await store.putResults(
            { id, sourceKey: KEY, attempt },
            [
              ...Array.from({ length: 12 }, (_, k) =>
                tc(`t${k}`, statuses[Math.floor(random() * statuses.length)], {
                  ...(random() < 0.8
                    ? { durationMs: Math.floor(random() * 5000) }
                    : {}),
                }),
              ),
              // Tests that never fail: counted from the per-day counts.
              ...Array.from({ length: 3 }, (_, k) =>
                tc(`ok${k}`, k === 2 && random() < 0.3 ? 'skipped' : 'passed', {
                  ...(random() < 0.8
                    ? { durationMs: Math.floor(random() * 5000) }
                    : {}),
                }),
              ),
            ],
            createdAt,
          );
        }
      }
      const check = async () => {
        for (const [since, until] of [
          // Whole days only; whole days and a partial first day.
          ['2026-11-01T00:00:00.000Z', undefined],
          ['2026-11-11T07:30:00.000Z', undefined],
          // Partial days at both ends, whole days between.
          ['2026-11-10T05:00:00.000Z', '2026-11-13T02:00:00.000Z'],
          // Within one day; across one midnight.
          ['2026-11-12T01:00:00.000Z', '2026-11-12T16:00:00.000Z'],
          ['2026-11-10T05:00:00.000Z', '2026-11-11T02:00:00.000Z'],
          // Days with no run.
          ['2026-12-01T00:00:00.000Z', undefined],
        ] as Array<[string, string | undefined]>) {
          const query = { sourceKeys: [KEY], since, until };
          const bySql = await store.aggregateTests(query);
          const summaries = await summarizeTests(knex, query);
          const byId = (a: TestAggregate, b: TestAggregate) =>
            a.testId.localeCompare(b.testId);
          // A test that never failed nor flaked has no commit count.
          const reference = aggregateCommits(summaries).map(a => {
            if (a.failures > 0 || a.flakedCommits > 0) return a;
            const { commits, ...rest } = a;
            return rest;
          });
          expect(bySql.length).toBe(reference.length);
          expect([...bySql].sort(byId)).toEqual(reference.sort(byId));
          // Only the failing ones, when asked so.
          expect(
            (await store.aggregateTests({ ...query, failingOnly: true })).sort(
              byId,
            ),
          ).toEqual(
            reference
              .filter(a => a.failures > 0 || a.flakedCommits > 0)
              .sort(byId),
          );
          for (const policy of [
            DEFAULT_FLAKY_POLICY,
            { minRuns: 3, threshold: 0.2, fixedAfter: 3 },
          ]) {
            expect(judgeTests(bySql, policy)).toEqual(
              classifyTests(summaries, policy),
            );
          }
        }
      };
      // Every day marked: each is read from its results.
      expect(
        Number((await knex('ci_test_days_pending').count({ n: '*' }))[0].n),
      ).toBeGreaterThan(5);
      await check();
      // Compacted: whole days from the per-day counts.
      expect(await store.compactDays()).toBeGreaterThan(5);
      expect(await knex('ci_test_days_pending').select('day')).toEqual([]);
      await check();
      // One upload sent again: its day is marked, and read from its
      // results until compacted again.
      await store.putResults(
        { id: 'rr5', sourceKey: KEY, attempt: 1 },
        [
          tc('t0', 'failed', { durationMs: 10 }),
          tc('ok0', 'passed'),
          // ok1 fails for the first time: compacting this day adds its
          // per-commit sums on every other day.
          tc('ok1', 'failed', { durationMs: 7 }),
        ],
        '2026-11-20T00:00:00.000Z',
      );
      expect(await knex('ci_test_days_pending').select('day')).toHaveLength(1);
      await check();
      expect(await store.compactDays()).toBe(1);
      await check();
      expect(
        await store.aggregateTests({ sourceKeys: [], since: '2026-11-01' }),
      ).toEqual([]);
    },
  );

  it('skips a day another transaction holds when compacting, and compacts it later, POSTGRES_15', async () => {
    if (!databases.eachSupportedId().some(([id]) => id === 'POSTGRES_15')) {
      return;
    }
    const knex = await databases.init('POSTGRES_15');
    const ci = await KnexCiStore.fromKnex(knex);
    await ci.upsertSource({ provider: 'fake', key: KEY, source: 'org/app' });
    const store = new KnexTestResultsStore(knex);
    await ci.upsertRuns([run('h1', 1, 1)]);
    await store.putResults(
      { id: 'h1', sourceKey: KEY, attempt: 1 },
      [tc('t', 'failed')],
      '2026-11-20T00:00:00.000Z',
    );
    // A writer (or another replica) in the middle of marking the day.
    const writer = await knex.transaction();
    await writer('ci_test_days_pending').forUpdate().select('day');
    try {
      expect(await store.compactDays()).toBe(0);
    } finally {
      await writer.commit();
    }
    expect(await store.compactDays()).toBe(1);
    expect(await knex('ci_test_days').select('runs', 'bad')).toEqual([
      { runs: 1, bad: 1 },
    ]);
  });

  it.each(databases.eachSupportedId())(
    'leaves a day with an unfinished run marked until the run finishes, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      const ci = await KnexCiStore.fromKnex(knex);
      await ci.upsertSource({ provider: 'fake', key: KEY, source: 'org/app' });
      const store = new KnexTestResultsStore(knex);
      // An upload from a step of a run still going: its duration, which
      // time lost counts, is not known yet.
      await ci.upsertRuns([
        {
          ...run('u1', 1, 1),
          status: 'running',
          providerStatus: 'in_progress',
        },
      ]);
      await store.putResults(
        { id: 'u1', sourceKey: KEY, attempt: 1 },
        [tc('t', 'failed')],
        '2026-12-01T10:05:00.000Z',
      );
      expect(await store.compactDays()).toBe(0);
      expect(await knex('ci_test_days').select('runs')).toEqual([]);
      // Read from its results meanwhile.
      const [t] = await store.aggregateTests({
        sourceKeys: [KEY],
        since: '2026-11-01T00:00:00.000Z',
      });
      expect(t).toMatchObject({ runs: 1, failures: 1, commits: 1 });
      await ci.upsertRuns([
        {
          ...run('u1', 1, 1),
          durationMs: 60_000,
          providerUpdatedAt: '2026-12-01T10:10:00.000Z',
        },
      ]);
      expect(await store.compactDays()).toBe(1);
      expect(
        (await knex('ci_test_day_commits').select('failed_runs_ms')).map(r =>
          Number(r.failed_runs_ms),
        ),
      ).toEqual([60_000]);
      // Only days first marked before the given time.
      await store.putResults(
        { id: 'u1', sourceKey: KEY, attempt: 1 },
        [tc('t', 'passed')],
        '2026-12-01T11:00:00.000Z',
      );
      expect(
        await store.compactDays({ markedBefore: '2026-12-01T11:00:00.000Z' }),
      ).toBe(0);
      expect(
        await store.compactDays({ markedBefore: '2026-12-01T11:00:00.001Z' }),
      ).toBe(1);
    },
  );
});
