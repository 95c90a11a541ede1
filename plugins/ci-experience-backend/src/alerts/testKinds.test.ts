import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { NotificationService } from '@backstage/plugin-notifications-node';
import { CiRunStatus } from '@ci-experience/plugin-ci-experience-common';
import { Knex } from 'knex';
import { StoredRun } from '../database/CiStore';
import { KnexCiStore } from '../database/KnexCiStore';
import { createInsights } from '../insights';
import { STORE_TEST_DATABASES } from '../__testUtils__/databases';
import { ParsedTestCase } from '../testResults/junit';
import { KnexQuarantineStore } from '../testResults/QuarantineStore';
import {
  KnexTestResultsStore,
  testIdOf,
} from '../testResults/TestResultsStore';
import { parseFlakyPolicy } from '../testResults/flaky';
import { AlertEvaluator } from './AlertEvaluator';
import { AlertSecrets } from './AlertSecrets';
import { AlertStore } from './AlertStore';
import { AlertDeliverer, NotificationsChannel } from './channels';
import { parseRuleInput } from './validation';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: STORE_TEST_DATABASES });
const KEY_1 = { id: 'k1', secret: 'test-only-key-1-0123456789abcdefghijkl' };
const HOUR = 3600_000;
const DAY = 24 * HOUR;

describe.each(databases.eachSupportedId())(
  'test alert kinds on %p',
  databaseId => {
    let knex: Knex;
    let ci: KnexCiStore;
    let tests: KnexTestResultsStore;
    let quarantines: KnexQuarantineStore;
    let alerts: AlertStore;
    let evaluator: AlertEvaluator;
    let deliverer: AlertDeliverer;
    const sent: Array<Parameters<NotificationService['send']>[0]> = [];
    const start = Date.parse('2026-11-01T10:00:00.000Z');
    let clock = start;
    const SOURCE = { provider: 'fake', key: 'fake:svc', source: 'o/svc' };
    const ENTITY = 'component:default/svc';
    let n = 0;

    /** A run on `commit` at `hours` after the start, with its tests' results. */
    async function runWith(
      hours: number,
      commit: string,
      results: Record<string, ParsedTestCase['status']>,
    ) {
      n += 1;
      const created = new Date(start + hours * HOUR).toISOString();
      const failed = Object.values(results).some(s => s === 'failed');
      const status: CiRunStatus = failed ? 'failed' : 'succeeded';
      const run: StoredRun = {
        id: `fake_svc-${n}-1`,
        sourceKey: SOURCE.key,
        providerRunId: String(n),
        provider: SOURCE.provider,
        source: SOURCE.source,
        workflow: 'CI',
        runNumber: n,
        attempt: 1,
        status,
        providerStatus: status,
        branch: 'main',
        commitSha: commit,
        url: `https://ci.example.com/${n}`,
        createdAt: created,
        providerUpdatedAt: created,
        finishedAt: created,
        durationMs: 10 * 60_000,
      };
      await ci.upsertRuns([run]);
      await tests.putResults(
        { id: run.id, sourceKey: SOURCE.key, attempt: 1 },
        Object.entries(results).map(([name, s]) => ({
          suite: 'Checkout',
          name,
          status: s,
          durationMs: 100,
          ...(s === 'failed' ? { message: 'expected 1 to be 2' } : {}),
        })),
        created,
      );
    }

    async function rule(kind: string, params: Record<string, number>) {
      return alerts.createRule(
        ENTITY,
        parseRuleInput(
          {
            name: kind,
            kind,
            params,
            severity: 'warning',
            enabled: true,
            notifications: true,
          },
          { slackAllowedHosts: ['hooks.slack.com'] },
        ),
        { createdBy: 'user:default/alice', now: new Date(clock) },
      );
    }

    const evaluate = async (id: string) =>
      evaluator.evaluate((await alerts.getRule(id))!);
    const detail = async (id: string) => (await alerts.getRule(id))!.lastDetail;

    beforeAll(async () => {
      knex = await databases.init(databaseId);
      ci = await KnexCiStore.fromKnex(knex);
      tests = new KnexTestResultsStore(knex);
      quarantines = new KnexQuarantineStore(knex);
      const insights = await createInsights({ knex, minSample: 1 });
      alerts = new AlertStore(knex, {
        secrets: AlertSecrets.create([KEY_1]),
      });
      const now = () => new Date(clock);
      deliverer = new AlertDeliverer({
        store: alerts,
        channels: {
          notifications: new NotificationsChannel({
            send: async options => {
              sent.push(options);
            },
          }),
        },
        logger: mockServices.logger.mock(),
        backoffMs: 1000,
        maxAttempts: 3,
        now,
      });
      evaluator = new AlertEvaluator({
        runs: ci,
        store: alerts,
        insights: insights.service,
        logger: mockServices.logger.mock(),
        now,
        tests: {
          aggregate: query => tests.aggregateTests(query),
          quarantines: (entityRef, at) =>
            quarantines.listForEntity(entityRef, at),
        },
        resolveTargets: async refs =>
          refs.map(ref =>
            ref === ENTITY
              ? {
                  sourceKeys: [SOURCE.key],
                  entityRef: ENTITY,
                  flakyPolicy: parseFlakyPolicy('minRuns=3').policy,
                }
              : undefined,
          ),
      });
      await ci.upsertSource(SOURCE);
    });

    afterAll(() => {
      deliverer.stop();
      evaluator.stop();
    });

    beforeEach(async () => {
      sent.length = 0;
      for (const t of [
        'ci_alert_deliveries',
        'ci_alert_firings',
        'ci_alert_states',
        'ci_alert_rules',
        'ci_test_quarantines',
        'ci_test_results',
        'ci_tests',
        'ci_runs',
      ]) {
        await knex(t).delete();
      }
    });

    it('new-flaky-test fires when a test turns flaky, not for one that was flaky before, and resolves once it is quarantined', async () => {
      // Days 0-9: `old` flakes on day 1 (failed, then passed on the same
      // commit); `pays` passes every time.
      for (let day = 0; day < 10; day++) {
        await runWith(day * 24, `c${day}`, {
          pays: 'passed',
          old: day === 1 ? 'failed' : 'passed',
        });
        if (day === 1) {
          await runWith(day * 24 + 1, 'c1', { pays: 'passed', old: 'passed' });
        }
      }
      clock = start + 10 * DAY;
      const r = await rule('new-flaky-test', { days: 7 });
      // `old` is flaky, but it turned so 9 days ago.
      expect(await evaluate(r.id)).toBeUndefined();
      expect(await detail(r.id)).toBe(
        'no test turned flaky in the last 7 days',
      );
      // Day 10: `pays` fails on c10, then passes on its re-run.
      await runWith(240, 'c10', { pays: 'failed', old: 'passed' });
      await runWith(241, 'c10', { pays: 'passed', old: 'passed' });
      clock = start + 10 * DAY + 2 * HOUR;
      expect(await evaluate(r.id)).toBe('fired');
      expect(await detail(r.id)).toMatch(
        /^1 test turned flaky in the last 7 days: Checkout › pays \(flaked on 9\.1% of commits\)$/,
      );
      expect(await deliverer.deliverDue()).toBe(1);
      expect(sent[0]).toMatchObject({
        recipients: { type: 'entity', entityRef: ENTITY },
        payload: { title: 'CI alert on svc: new-flaky-test' },
      });
      // Its owners quarantine it: nothing new is flaky.
      const testId = testIdOf(SOURCE.key, {
        suite: 'Checkout',
        name: 'pays',
      } as ParsedTestCase);
      await quarantines.put({
        entityRef: ENTITY,
        testId,
        sourceKey: SOURCE.key,
        reason: 'flaky, fix in progress',
        expiresAt: new Date(clock + 14 * DAY).toISOString(),
        createdBy: 'user:default/alice',
        createdAt: new Date(clock).toISOString(),
      });
      expect(await evaluate(r.id)).toBe('resolved');
    });

    it('test-failure-rate fires for a test failing more than the threshold on enough runs', async () => {
      for (let i = 0; i < 10; i++) {
        await runWith(i, `c${i}`, {
          // 3 of 10 failed: 30 %.
          charge: i % 3 === 0 && i < 9 ? 'failed' : 'passed',
          refund: 'passed',
        });
      }
      clock = start + 12 * HOUR;
      const loose = await rule('test-failure-rate', {
        abovePercent: 40,
        windowDays: 7,
        minRuns: 5,
      });
      expect(await evaluate(loose.id)).toBeUndefined();
      expect(await detail(loose.id)).toBe(
        'no test failed in more than 40% of its runs over 7 days (2 tests with at least 5 runs)',
      );
      const strict = await rule('test-failure-rate', {
        abovePercent: 20,
        windowDays: 7,
        minRuns: 5,
      });
      expect(await evaluate(strict.id)).toBe('fired');
      expect(await detail(strict.id)).toBe(
        '1 test failed in more than 20% of runs over 7 days: Checkout › charge failed 3 of 10 (30%)',
      );
      // Too few runs say nothing.
      const sampled = await rule('test-failure-rate', {
        abovePercent: 20,
        windowDays: 7,
        minRuns: 11,
      });
      expect(await evaluate(sampled.id)).toBeUndefined();
      // Out of the window, the failures no longer count.
      clock = start + 9 * DAY;
      expect(await evaluate(strict.id)).toBe('resolved');
      // The preview counts the days it would have fired.
      const preview = await evaluator.preview(
        {
          kind: 'test-failure-rate',
          params: { abovePercent: 20, windowDays: 7, minRuns: 5 },
          branches: [],
        },
        { sourceKeys: [SOURCE.key], entityRef: ENTITY },
        10,
      );
      expect(preview.firings).toBe(1);
    });

    it('quarantine-expiring fires while a quarantine lapses within the days, and resolves when renewed', async () => {
      await runWith(0, 'c0', { slow: 'failed' });
      const testId = testIdOf(SOURCE.key, {
        suite: 'Checkout',
        name: 'slow',
      } as ParsedTestCase);
      clock = start + HOUR;
      const q = {
        entityRef: ENTITY,
        testId,
        sourceKey: SOURCE.key,
        reason: 'times out on the macOS pool',
        expiresAt: new Date(clock + 5 * DAY).toISOString(),
        createdBy: 'user:default/alice',
        createdAt: new Date(clock).toISOString(),
      };
      await quarantines.put(q);
      const r = await rule('quarantine-expiring', { days: 2 });
      expect(await evaluate(r.id)).toBeUndefined();
      expect(await detail(r.id)).toBe(
        'no quarantine expires within 2 days (1 active)',
      );
      clock += 3 * DAY + HOUR;
      expect(await evaluate(r.id)).toBe('fired');
      expect(await detail(r.id)).toBe(
        `1 quarantine expires within 2 days: Checkout › slow on ${q.expiresAt.slice(
          0,
          16,
        )}Z`,
      );
      await quarantines.put({
        ...q,
        expiresAt: new Date(clock + 14 * DAY).toISOString(),
      });
      expect(await evaluate(r.id)).toBe('resolved');
    });
  },
);

describe('parseFlakyPolicy', () => {
  it('sets what the annotation names over the base, and refuses the rest with a reason', () => {
    const base = { minRuns: 5, threshold: 0.01, fixedAfter: 10 };
    expect(parseFlakyPolicy(undefined, base)).toEqual({ policy: base });
    expect(parseFlakyPolicy('threshold=0.05, fixedAfter = 20', base)).toEqual({
      policy: { minRuns: 5, threshold: 0.05, fixedAfter: 20 },
    });
    expect(parseFlakyPolicy('threshold=2', base)).toEqual({
      policy: base,
      error:
        'ci-experience.io/flaky-policy: threshold must be a number from 0 to 1',
    });
    expect(parseFlakyPolicy('minRuns=1.5', base).error).toMatch(
      /minRuns must be a whole number/,
    );
    expect(parseFlakyPolicy('constructor=1', base).error).toMatch(
      /is not one of minRuns=, threshold=, fixedAfter=/,
    );
  });
});
