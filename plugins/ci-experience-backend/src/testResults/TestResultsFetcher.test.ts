import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import {
  CiProvider,
  CiProviderTestResults,
  CiRunRef,
} from '@ci-experience/plugin-ci-experience-node';
import { ServiceUnavailableError } from '@backstage/errors';
import fs from 'node:fs';
import path from 'node:path';
import { StoredRun } from '../database/CiStore';
import { KnexCiStore } from '../database/KnexCiStore';
import { STORE_TEST_DATABASES } from '../__testUtils__/databases';
import { MAX_READ_ATTEMPTS, TestResultsFetcher } from './TestResultsFetcher';
import { KnexTestResultsStore } from './TestResultsStore';
import { zipOf } from '@ci-experience/plugin-ci-experience-node/testUtils';

jest.setTimeout(60_000);

const FIXTURES = path.join(__dirname, '__fixtures__', 'junit');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name));
const NOW = new Date('2026-12-03T12:00:00.000Z');
const hoursAgo = (h: number) =>
  new Date(NOW.getTime() - h * 3600_000).toISOString();

function run(
  n: number,
  status: StoredRun['status'],
  createdAt: string,
  provider = 'fake',
): StoredRun {
  return {
    id: `${provider}-${n}`,
    sourceKey: `${provider}:org/app`,
    providerRunId: String(n),
    provider,
    source: 'org/app',
    workflow: 'CI',
    runNumber: n,
    attempt: 1,
    status,
    providerStatus: status,
    url: `https://ci.example.com/${n}`,
    createdAt,
    providerUpdatedAt: createdAt,
    jobs: [
      { id: `${n}-1`, name: 'test', status: 'failed', providerStatus: 'x' },
    ],
  };
}

describe('TestResultsFetcher', () => {
  const databases = TestDatabases.create({ ids: STORE_TEST_DATABASES });

  it.each(databases.eachSupportedId())(
    'reads each recent finished run once: cases, reports, none, failures, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      const ci = await KnexCiStore.fromKnex(knex);
      for (const provider of ['fake', 'quiet']) {
        await ci.upsertSource({
          provider,
          key: `${provider}:org/app`,
          source: 'org/app',
        });
      }
      await ci.upsertRuns([
        run(1, 'failed', hoursAgo(1)), // cases from a test API
        run(2, 'succeeded', hoursAgo(2)), // a zip of reports
        run(3, 'failed', hoursAgo(3)), // no results
        run(4, 'failed', hoursAgo(4)), // the API fails every time
        run(5, 'failed', hoursAgo(5)), // a malformed report
        run(6, 'running', hoursAgo(1)), // not finished: not read
        run(7, 'failed', hoursAgo(24 * 10)), // past the lookback
        run(8, 'failed', hoursAgo(1), 'quiet'), // its provider reads none
      ]);
      const asked: Array<[number, string[], string[]]> = [];
      const answers: Record<number, () => CiProviderTestResults | undefined> = {
        1: () => ({
          cases: [
            {
              suite: 'unit',
              name: 'adds',
              status: 'failed',
              durationMs: 12.4,
              message: `token ghp_${'a'.repeat(36)} refused`,
            },
            { suite: 'unit', name: 'subtracts', status: 'passed' },
          ],
        }),
        2: () => ({
          reports: [
            {
              name: 'test-results',
              mediaType: 'application/zip',
              data: zipOf([
                { name: 'TEST-a.xml', data: fixture('gradle.xml') },
              ]),
            },
          ],
        }),
        3: () => undefined,
        4: () => {
          throw new Error('503 from the provider');
        },
        5: () => ({
          reports: [
            {
              name: 'junit.xml',
              mediaType: 'application/xml',
              data: Buffer.from('<testsuite><testcase'),
            },
          ],
        }),
      };
      const fake: CiProvider = {
        id: 'fake',
        getSources: () => [],
        getSourceInfo: async () => ({}),
        listRuns: async () => ({ runs: [] }),
        getRun: async () => undefined,
        listJobs: async () => [],
        getTestResults: async (_source, ref: CiRunRef, context) => {
          asked.push([
            ref.runNumber,
            context.jobs.map(j => j.id),
            context.artifactGlobs,
          ]);
          return answers[ref.runNumber]();
        },
      };
      const quiet: CiProvider = {
        ...fake,
        id: 'quiet',
        getTestResults: undefined,
      };
      const store = new KnexTestResultsStore(knex);
      const logger = mockServices.logger.mock();
      const fetcher = new TestResultsFetcher({
        store,
        runs: ci,
        providers: [fake, quiet],
        logger,
        artifactGlobs: ['*test*'],
        // The source's entities name their own (ci-experience.io/test-reports).
        globsFor: async key =>
          key === 'fake:org/app' ? ['fastlane/*.junit'] : ['*test*'],
        maxBytes: 1024 * 1024,
        lookbackMs: 3 * 24 * 3600_000,
        now: () => NOW,
      });

      expect(await fetcher.drain()).toEqual({
        stored: 2,
        none: 1,
        failed: 2,
        deferred: 0,
      });
      // Newest first, each once; running, old and other providers' runs not.
      expect(asked.map(([n]) => n)).toEqual([1, 2, 3, 4, 5]);
      expect(asked[0]).toEqual([1, ['1-1'], ['fastlane/*.junit']]);

      const one = await store.listRunTests('fake-1');
      expect(one.map(t => [t.name, t.status])).toEqual([
        ['adds', 'failed'],
        ['subtracts', 'passed'],
      ]);
      expect(one[0].durationMs).toBe(12);
      expect(one[0].message).toBe('token ghp_*** refused');
      expect((await store.listRunTests('fake-2')).length).toBe(4);
      expect(logger.warn).toHaveBeenCalledWith(
        expect.stringMatching(
          /^Refused the test results of fake org\/app run 5 attempt 1: junit\.xml: Not well-formed XML/,
        ),
      );

      // Read again: only the failing API is asked, until it has failed
      // MAX_READ_ATTEMPTS times; the malformed report is not read again.
      for (let i = 1; i < MAX_READ_ATTEMPTS + 2; i++) {
        await fetcher.drain();
      }
      expect(asked.map(([n]) => n)).toEqual([
        1,
        2,
        3,
        4,
        5,
        ...Array(MAX_READ_ATTEMPTS - 1).fill(4),
      ]);
    },
  );

  it.each(databases.eachSupportedId())(
    'puts reads off while the provider’s budget is spent, without counting them as failures, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      const ci = await KnexCiStore.fromKnex(knex);
      await ci.upsertSource({
        provider: 'fake',
        key: 'fake:org/app',
        source: 'org/app',
      });
      await ci.upsertRuns([
        run(1, 'failed', hoursAgo(1)),
        run(2, 'failed', hoursAgo(2)),
      ]);
      let spent = true;
      const asked: number[] = [];
      const fake: CiProvider = {
        id: 'fake',
        getSources: () => [],
        getSourceInfo: async () => ({}),
        listRuns: async () => ({ runs: [] }),
        getRun: async () => undefined,
        listJobs: async () => [],
        getTestResults: async (_source, ref) => {
          asked.push(ref.runNumber);
          if (spent) {
            throw new ServiceUnavailableError(
              'fake: the request budget is spent',
            );
          }
          return { cases: [{ suite: 's', name: 't', status: 'passed' }] };
        },
      };
      const store = new KnexTestResultsStore(knex);
      const fetcher = new TestResultsFetcher({
        store,
        runs: ci,
        providers: [fake],
        logger: mockServices.logger.mock(),
        artifactGlobs: [],
        maxBytes: 1024,
        lookbackMs: 3 * 24 * 3600_000,
        now: () => NOW,
      });
      // Run 1's read meets the spent budget; run 2 is not even asked.
      for (let i = 0; i < MAX_READ_ATTEMPTS + 1; i++) {
        expect(await fetcher.drain()).toEqual({
          stored: 0,
          none: 0,
          failed: 0,
          deferred: 2,
        });
      }
      expect(asked).toEqual(Array(MAX_READ_ATTEMPTS + 1).fill(1));
      // The budget is back: both are read, none given up on.
      spent = false;
      expect(await fetcher.drain()).toMatchObject({ stored: 2, deferred: 0 });
    },
  );
});
