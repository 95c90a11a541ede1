import { TestDatabases } from '@backstage/backend-test-utils';
import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { Knex } from 'knex';
import { isPostgres } from './dialect';
import { STORE_TEST_DATABASES } from '../__testUtils__/databases';
import { dayOf, KnexTestResultsStore } from '../testResults/TestResultsStore';

const databases = TestDatabases.create({ ids: STORE_TEST_DATABASES });

const MIGRATION = '20261128040000_aggregate_write_locality.js';
const CLAMP = '20261202000100_clamp_future_times.js';
const LATEST_ATTEMPT = '20261202200000_latest_attempt.js';
const COMPACT_TESTS = '20261203230000_test_results_compact.js';
const directory = resolvePackagePath(
  '@ci-experience/plugin-ci-experience-backend',
  'migrations',
);

async function indexDefinition(knex: Knex, name: string): Promise<string> {
  const { rows } = await knex.raw(
    'SELECT indexdef FROM pg_indexes WHERE indexname = ?',
    [name],
  );
  expect(rows).toHaveLength(1);
  return rows[0].indexdef;
}

describe.each(databases.eachSupportedId())('migrations on %p', databaseId => {
  it('keys the daily aggregates by day first and keeps the pending indexes partial, both ways', async () => {
    const knex = await databases.init(databaseId);
    await knex.migrate.latest({ directory });
    const pg = isPostgres(knex);

    const definitions = async () => {
      if (!pg) {
        return {}; // SQLite keeps its keys and indexes (the migration says why)
      }
      const names = [
        'ci_daily_pkey',
        'ci_daily_jobs_pkey',
        'ci_daily_classes_pkey',
        'ci_runs_aggregate_idx',
        'ci_jobs_aggregate_idx',
        'ci_jobs_class_idx',
      ];
      const out: Record<string, string> = {};
      for (const name of names) {
        out[name] = await indexDefinition(knex, name);
      }
      return out;
    };
    const has = expect.stringContaining;
    const after = {
      ci_daily_pkey: has('(day, source_key, workflow, branch)'),
      ci_daily_jobs_pkey: has('(day, source_key, workflow, branch, job_name)'),
      ci_daily_classes_pkey: has(
        '(day, source_key, workflow, branch, class_id)',
      ),
      ci_runs_aggregate_idx: has(
        '(status_rank, id) WHERE (aggregated = false)',
      ),
      ci_jobs_aggregate_idx: has(
        '(status_rank, run_id, job_id) WHERE (aggregated = false)',
      ),
      ci_jobs_class_idx: has(
        '(triaged_at, run_id, job_id) WHERE ((class_aggregated = false) AND (triaged_at IS NOT NULL))',
      ),
    };
    const before = {
      ci_daily_pkey: has('(source_key, workflow, branch, day)'),
      ci_daily_jobs_pkey: has('(source_key, workflow, branch, job_name, day)'),
      ci_daily_classes_pkey: has(
        '(source_key, workflow, branch, day, class_id)',
      ),
      ci_runs_aggregate_idx: expect.not.stringContaining('WHERE'),
      ci_jobs_aggregate_idx: expect.not.stringContaining('WHERE'),
      ci_jobs_class_idx: expect.not.stringContaining('WHERE'),
    };

    // Rows written before and after, so that the key changes move data.
    const row = (day: string) => ({
      source_key: 's',
      workflow: 'CI',
      branch: 'main',
      job_name: 'build',
      day,
      runs: 1,
    });
    await knex('ci_daily_jobs').insert(row('2026-11-01'));
    expect(await definitions()).toEqual(pg ? after : {});
    await knex.migrate.down({ directory, name: MIGRATION });
    expect(await definitions()).toEqual(pg ? before : {});
    await knex('ci_daily_jobs').insert(row('2026-11-02'));
    await knex.migrate.latest({ directory });
    expect(await definitions()).toEqual(pg ? after : {});
    // The conflict target names the columns, in any order.
    await knex('ci_daily_jobs')
      .insert(row('2026-11-02'))
      .onConflict(['source_key', 'workflow', 'branch', 'job_name', 'day'])
      .merge({ runs: knex.raw('ci_daily_jobs.runs + excluded.runs') });
    expect(
      await knex('ci_daily_jobs').orderBy('day').select('day', 'runs'),
    ).toEqual([
      { day: '2026-11-01', runs: 1 },
      { day: '2026-11-02', runs: 2 },
    ]);
  });

  it('brings stored times in the future back to the time it runs, and counts those runs again', async () => {
    const knex = await databases.init(databaseId);
    await knex.migrate.latest({ directory });
    const run = (id: string, createdAt: string, updatedAt: string) => ({
      id,
      source_key: 's',
      provider: 'p',
      source: 's',
      provider_run_id: id,
      attempt: 1,
      workflow: 'CI',
      run_number: 1,
      status: 'succeeded',
      provider_status: 'success',
      url: 'https://ci.example.com/',
      created_at: createdAt,
      provider_updated_at: updatedAt,
      status_rank: 2,
      aggregated: true,
    });
    await knex('ci_runs').insert([
      run('future', '9999-12-31T00:00:00.000Z', '+275760-09-13T00:00:00.000Z'),
      run('true', '2026-11-01T10:00:00.000Z', '2026-11-01T10:05:00.000Z'),
    ]);
    const before = new Date().toISOString();
    await knex.migrate.down({ directory, name: CLAMP });
    await knex.migrate.up({ directory, name: CLAMP });
    const rows = await knex('ci_runs')
      .orderBy('id')
      .select('id', 'created_at', 'provider_updated_at', 'aggregated');
    const [future, real] = rows;
    expect(future.created_at >= before).toBe(true);
    expect(future.created_at <= new Date().toISOString()).toBe(true);
    expect(future.provider_updated_at).toBe(future.created_at);
    expect(Boolean(future.aggregated)).toBe(false);
    expect(real).toEqual({
      id: 'true',
      created_at: '2026-11-01T10:00:00.000Z',
      provider_updated_at: '2026-11-01T10:05:00.000Z',
      aggregated: isPostgres(knex) ? true : 1,
    });
  });

  it('fills activity and superseded marks in batches over more runs than a batch, and builds the index', async () => {
    const knex = await databases.init(databaseId);
    await knex.migrate.latest({ directory });
    await knex.migrate.down({ directory, name: LATEST_ATTEMPT });
    expect(await knex.schema.hasColumn('ci_runs', 'activity_at')).toBe(false);
    // 2,600 runs (more than one batch of 2,000), every 13th with a second
    // attempt that started later than it was created.
    const rows = [];
    for (let i = 0; i < 2600; i++) {
      const attempt = i % 13 === 12 ? 2 : 1;
      const providerRunId = String(attempt === 2 ? i - 1 : i);
      rows.push({
        id: `r${String(i).padStart(5, '0')}`,
        source_key: 's',
        provider: 'p',
        source: 's',
        provider_run_id: providerRunId,
        attempt,
        workflow: 'CI',
        run_number: i,
        status: 'succeeded',
        provider_status: 'success',
        url: 'https://ci.example.com/',
        created_at: '2026-11-01T10:00:00.000Z',
        started_at: attempt === 2 ? '2026-11-02T10:00:00.000Z' : null,
        status_rank: 2,
      });
    }
    await knex.batchInsert('ci_runs', rows, 100);
    await knex.migrate.up({ directory, name: LATEST_ATTEMPT });

    const stored = await knex('ci_runs')
      .orderBy('id')
      .select('id', 'activity_at', 'superseded');
    expect(stored).toHaveLength(2600);
    expect(stored.filter(r => r.activity_at === null)).toEqual([]);
    const superseded = stored.filter(r => Boolean(r.superseded)).map(r => r.id);
    // The first attempt of each re-run run (the row before each attempt 2).
    expect(superseded).toEqual(
      rows.filter((_, i) => i % 13 === 11).map(r => r.id),
    );
    expect(stored.find(r => r.id === 'r00012')?.activity_at).toBe(
      '2026-11-02T10:00:00.000Z',
    );
    expect(stored.find(r => r.id === 'r00011')?.activity_at).toBe(
      '2026-11-01T10:00:00.000Z',
    );
    // The index, valid (PostgreSQL builds it CONCURRENTLY).
    const index = isPostgres(knex)
      ? (
          await knex.raw(
            "SELECT i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'ci_runs_source_activity_idx'",
          )
        ).rows.map((r: { valid: boolean; def: string }) => ({
          valid: r.valid,
          columns: /\(([^)]*)\)/.exec(r.def)?.[1],
        }))
      : (
          await knex.raw(
            "SELECT name FROM pragma_index_list('ci_runs') WHERE name = 'ci_runs_source_activity_idx'",
          )
        ).map(() => ({ valid: true, columns: 'source_key, activity_at' }));
    expect(index).toEqual([
      { valid: true, columns: 'source_key, activity_at' },
    ]);
  });

  it('copies test results stored by string keys into the numbered shape and back', async () => {
    const knex = await databases.init(databaseId);
    await knex.migrate.latest({ directory });
    await knex.migrate.down({ directory, name: COMPACT_TESTS });
    expect(await knex.schema.hasTable('ci_test_days')).toBe(false);
    const run = (id: string, createdAt: string, commitSha: string | null) => ({
      id,
      source_key: 'src',
      provider: 'p',
      source: 's',
      provider_run_id: id,
      attempt: 1,
      workflow: 'CI',
      run_number: 1,
      status: 'failed',
      provider_status: 'failure',
      url: 'https://ci.example.com/',
      created_at: createdAt,
      commit_sha: commitSha,
      status_rank: 2,
    });
    await knex('ci_runs').insert([
      run('a', '2026-11-01T23:00:00.000Z', 'c1'),
      run('b', '2026-11-02T01:00:00.000Z', 'c1'),
      run('c', '2026-11-02T05:00:00.000Z', null),
    ]);
    const test = (id: string, name: string) => ({
      id,
      source_key: 'src',
      suite: 'S',
      classname: '',
      name,
      file: '',
      first_seen_at: '2026-11-01T23:00:00.000Z',
    });
    await knex('ci_tests').insert([test('t1', 'one'), test('t2', 'two')]);
    const result = (
      runId: string,
      testId: string,
      status: number,
      durationMs: number | null,
      message: string | null = null,
    ) => ({
      run_id: runId,
      test_id: testId,
      status,
      duration_ms: durationMs,
      message,
    });
    await knex('ci_test_results').insert([
      result('a', 't1', 1, 100, 'boom'),
      result('a', 't2', 0, 10),
      result('b', 't1', 0, 200),
      result('b', 't2', 3, null),
      result('c', 't1', 0, null),
      result('c', 't2', 0, 30),
    ]);
    await knex.migrate.up({ directory, name: COMPACT_TESTS });

    const store = new KnexTestResultsStore(knex);
    expect(await store.listRunTests('a')).toEqual([
      {
        id: 't1',
        suite: 'S',
        name: 'one',
        status: 'failed',
        durationMs: 100,
        message: 'boom',
      },
      { id: 't2', suite: 'S', name: 'two', status: 'passed', durationMs: 10 },
    ]);
    // 20758 is 2026-11-01 in UTC days since 1970, as the store reckons it.
    expect(dayOf('2026-11-01T23:00:00.000Z')).toBe(20758);
    expect(
      await knex('ci_test_runs')
        .orderBy('run_id')
        .select('run_id', 'day', 'commit_key'),
    ).toEqual([
      { run_id: 'a', day: 20758, commit_key: 'c1' },
      { run_id: 'b', day: 20759, commit_key: 'c1' },
      { run_id: 'c', day: 20759, commit_key: 'run:c' },
    ]);
    // Per day and test: attempts not skipped, failed ones, durations.
    const days = await knex('ci_test_days as d')
      .join('ci_tests as t', 't.pk', 'd.test_pk')
      .orderBy(['d.day', 't.id'])
      .select('d.day', 't.id', 'd.runs', 'd.bad', 'd.duration_ms', 'd.timed');
    expect(
      days.map(d => ({ ...d, duration_ms: Number(d.duration_ms) })),
    ).toEqual([
      { day: 20758, id: 't1', runs: 1, bad: 1, duration_ms: 100, timed: 1 },
      { day: 20758, id: 't2', runs: 1, bad: 0, duration_ms: 10, timed: 1 },
      { day: 20759, id: 't1', runs: 2, bad: 0, duration_ms: 200, timed: 1 },
      { day: 20759, id: 't2', runs: 1, bad: 0, duration_ms: 30, timed: 1 },
    ]);
    // t1 failed then passed on c1: one flaked commit of two.
    const [t1] = await store.aggregateTests({
      sourceKeys: ['src'],
      since: '2026-11-01T00:00:00.000Z',
      failingOnly: true,
    });
    expect(t1).toMatchObject({
      testId: 't1',
      commits: 2,
      runs: 3,
      failures: 1,
      flakedCommits: 1,
    });

    await knex.migrate.down({ directory, name: COMPACT_TESTS });
    expect(
      await knex('ci_test_results')
        .orderBy(['run_id', 'test_id'])
        .select('run_id', 'test_id', 'status'),
    ).toEqual([
      { run_id: 'a', test_id: 't1', status: 1 },
      { run_id: 'a', test_id: 't2', status: 0 },
      { run_id: 'b', test_id: 't1', status: 0 },
      { run_id: 'b', test_id: 't2', status: 3 },
      { run_id: 'c', test_id: 't1', status: 0 },
      { run_id: 'c', test_id: 't2', status: 0 },
    ]);
    await knex.migrate.latest({ directory });
    expect(Number((await knex('ci_test_results').count({ n: '*' }))[0].n)).toBe(
      6,
    );
  });
});
