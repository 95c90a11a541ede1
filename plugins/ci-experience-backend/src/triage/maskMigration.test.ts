import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { TestDatabases } from '@backstage/backend-test-utils';
import { KnexCiStore } from '../database/KnexCiStore';
import { STORE_TEST_DATABASES } from '../__testUtils__/databases';
import { maskSecrets } from './maskSecrets';
import { SECRET_LINES } from './__fixtures__/secretLines';

const databases = TestDatabases.create({ ids: STORE_TEST_DATABASES });
const MIGRATION = '20261202100000_mask_triage_lines.js';
const directory = resolvePackagePath(
  '@ci-experience/plugin-ci-experience-backend',
  'migrations',
);

describe.each(databases.eachSupportedId())(
  'the triage line masking migration on %p',
  databaseId => {
    it('masks the lines stored before, as the classifier now does', async () => {
      const knex = await databases.init(databaseId);
      const store = await KnexCiStore.fromKnex(knex);
      const at = '2026-11-20T10:00:00.000Z';
      await store.upsertRuns([
        {
          id: 'fake_svc-1-1',
          sourceKey: 'fake:svc',
          providerRunId: '1',
          provider: 'fake',
          source: 'o/svc',
          workflow: 'CI',
          runNumber: 1,
          attempt: 1,
          status: 'failed',
          providerStatus: 'failure',
          branch: 'main',
          url: 'https://ci.example.com/1',
          createdAt: at,
          providerUpdatedAt: at,
        },
      ]);
      const classOf = (line: string) =>
        JSON.stringify({ id: 'x', title: 'X', category: 'code', line });
      const lines = [
        ...SECRET_LINES.map(([line]) => line),
        'npm ERR! code E404',
      ];
      // As an earlier version stored them: unmasked.
      await knex.migrate.down({ directory, name: MIGRATION });
      await knex('ci_jobs').insert(
        lines.map((line, i) => ({
          run_id: 'fake_svc-1-1',
          job_id: `job-${String(i).padStart(3, '0')}`,
          status_rank: 2,
          data: '{}',
          failure: classOf(line),
        })),
      );
      await knex('ci_jobs').insert({
        run_id: 'fake_svc-1-1',
        job_id: 'not-json',
        status_rank: 2,
        data: '{}',
        failure: '{not json',
      });
      await knex('ci_runs')
        .where({ id: 'fake_svc-1-1' })
        .update({ failure: classOf(lines[0]) });

      await knex.migrate.latest({ directory });

      const jobs = await knex('ci_jobs')
        .where('job_id', 'like', 'job-%')
        .orderBy('job_id')
        .select('failure');
      expect(jobs.map(j => JSON.parse(j.failure).line)).toEqual(
        lines.map(maskSecrets),
      );
      expect(JSON.parse(jobs[0].failure)).toMatchObject({
        id: 'x',
        title: 'X',
        category: 'code',
      });
      const run = await knex('ci_runs').where({ id: 'fake_svc-1-1' }).first();
      expect(JSON.parse(run.failure).line).toBe(maskSecrets(lines[0]));
      expect(
        (await knex('ci_jobs').where({ job_id: 'not-json' }).first()).failure,
      ).toBe('{not json');
    });
  },
);
