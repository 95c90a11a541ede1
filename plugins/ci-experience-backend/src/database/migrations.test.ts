import { TestDatabases } from '@backstage/backend-test-utils';
import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { Knex } from 'knex';
import { isPostgres } from './dialect';
import { STORE_TEST_DATABASES } from '../__testUtils__/databases';

const databases = TestDatabases.create({ ids: STORE_TEST_DATABASES });

const MIGRATION = '20261128040000_aggregate_write_locality.js';
const CLAMP = '20261202000100_clamp_future_times.js';
const LATEST_ATTEMPT = '20261202200000_latest_attempt.js';
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
});
