import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { NotificationService } from '@backstage/plugin-notifications-node';
import { CiRunStatus } from '@ci-experience/plugin-ci-experience-common';
import { Knex } from 'knex';
import { http, HttpResponse, delay } from 'msw';
import { setupServer } from 'msw/node';
import { StoredRun } from '../database/CiStore';
import { KnexCiStore } from '../database/KnexCiStore';
import { createInsights } from '../insights';
import { AlertEvaluator } from './AlertEvaluator';
import { AlertSecrets } from './AlertSecrets';
import { AlertStore, StoredRule } from './AlertStore';
import { AlertDeliverer, NotificationsChannel, SlackChannel } from './channels';
import { parseRuleInput } from './validation';
import { STORE_TEST_DATABASES } from '../__testUtils__/databases';

const databases = TestDatabases.create({ ids: STORE_TEST_DATABASES });

const MIN = 60_000;
const SLACK = 'https://hooks.slack.com/services/T000/B000/secret-token-xyz';
/** A key as config gives it (secrets.test.ts tests the keys themselves). */
const KEY_1 = { id: 'k1', secret: 'test-only-key-1-0123456789abcdefghijkl' };

/** Slack, as msw: answers from a queue of statuses (then 200), records posts. */
const slack = {
  posts: [] as any[],
  statuses: [] as number[],
  delayMs: 0,
};
const server = setupServer(
  http.post(
    'https://hooks.slack.com/services/:a/:b/:c',
    async ({ request }) => {
      slack.posts.push(await request.json());
      // The status is taken as the post arrives: a post answered late (a
      // time-out test's) must not take a status meant for a later test.
      const status = slack.statuses.shift() ?? 200;
      if (slack.delayMs) await delay(slack.delayMs);
      return new HttpResponse('ok', { status });
    },
  ),
);
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());

describe.each(databases.eachSupportedId())('alerts on %p', databaseId => {
  let knex: Knex;
  let store: KnexCiStore;
  let alerts: AlertStore;
  let evaluator: AlertEvaluator;
  let deliverer: AlertDeliverer;
  let makeDeliverer: (slackTimeoutMs: number) => AlertDeliverer;
  let clock = Date.parse('2026-11-20T10:00:00.000Z');
  const sent: Array<Parameters<NotificationService['send']>[0]> = [];
  const logger = mockServices.logger.mock();
  const SOURCE = { provider: 'fake', key: 'fake:svc', source: 'o/svc' };
  const ENTITY = 'component:default/svc';
  let n = 0;

  const at = (minutes: number) =>
    new Date(Date.parse('2026-11-20T10:00:00.000Z') + minutes * MIN);

  /** A run of CI on main, created at `minutes` and lasting 5 minutes. */
  function run(
    minutes: number,
    status: CiRunStatus,
    branch = 'main',
  ): StoredRun {
    n += 1;
    const created = at(minutes);
    const final = status !== 'running' && status !== 'queued';
    return {
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
      branch,
      commitSha: `sha${n}`,
      url: `https://ci.example.com/${n}`,
      createdAt: created.toISOString(),
      providerUpdatedAt: created.toISOString(),
      ...(final
        ? {
            finishedAt: new Date(created.getTime() + 5 * MIN).toISOString(),
            durationMs: 5 * MIN,
          }
        : {}),
    };
  }

  async function createRule(
    body: Record<string, unknown>,
    entityRef = ENTITY,
  ): Promise<StoredRule> {
    const input = parseRuleInput(
      {
        name: 'Main broken',
        kind: 'default-branch-broken',
        params: { runs: 2 },
        severity: 'critical',
        enabled: true,
        notifications: true,
        ...body,
      },
      { slackAllowedHosts: ['hooks.slack.com'] },
    );
    return alerts.createRule(entityRef, input, {
      createdBy: 'user:default/alice',
      now: new Date(clock),
    });
  }

  const evaluate = async (id: string) =>
    evaluator.evaluate((await alerts.getRule(id))!);

  beforeAll(async () => {
    knex = await databases.init(databaseId);
    store = await KnexCiStore.fromKnex(knex);
    const insights = await createInsights({ knex, minSample: 1 });
    alerts = new AlertStore(knex, { secrets: AlertSecrets.create([KEY_1]) });
    const now = () => new Date(clock);
    makeDeliverer = (slackTimeoutMs: number) =>
      new AlertDeliverer({
        store: alerts,
        channels: {
          notifications: new NotificationsChannel({
            send: async options => {
              sent.push(options);
            },
          }),
          slack: new SlackChannel({
            appBaseUrl: 'http://portal.example.com',
            timeoutMs: slackTimeoutMs,
          }),
        },
        logger,
        backoffMs: 1000,
        maxAttempts: 3,
        now,
      });
    // A time-out far above any answer of msw's, however loaded the machine
    // (300 ms made a 500 read as "timed out" under a full parallel run).
    deliverer = makeDeliverer(10_000);
    evaluator = new AlertEvaluator({
      runs: store,
      store: alerts,
      insights: insights.service,
      // No deliverer: each test sends what is due itself, when it says.
      logger,
      now,
      beforeEvaluation: () => insights.aggregator.aggregatePending(),
      resolveTargets: async refs =>
        refs.map(ref =>
          ref === ENTITY ? { sourceKeys: [SOURCE.key] } : undefined,
        ),
    });
    await store.upsertSource(SOURCE);
    await store.setDefaultBranch(SOURCE.key, 'main');
  });

  afterAll(() => {
    deliverer.stop();
    evaluator.stop();
  });

  beforeEach(async () => {
    sent.length = 0;
    slack.posts = [];
    slack.statuses = [];
    slack.delayMs = 0;
    await knex('ci_alert_deliveries').delete();
    await knex('ci_alert_firings').delete();
    await knex('ci_alert_states').delete();
    await knex('ci_alert_rules').delete();
    for (const t of [
      'ci_runs',
      'ci_daily',
      'ci_daily_jobs',
      'ci_daily_classes',
      'ci_commits',
      'ci_job_commits',
      'ci_latest',
      'ci_workflows',
    ]) {
      await knex(t).delete();
    }
  });

  it('fires once, notifies once per channel, stays quiet while firing, resolves once', async () => {
    // 10:00 r1 passes (done 10:05); 10:10 r2 fails (done 10:15).
    await store.upsertRuns([run(0, 'succeeded'), run(10, 'failed')]);
    clock = at(20).getTime();
    const rule = await createRule({ slackWebhookUrl: SLACK });
    // One failure in a row of the 2 asked: ok.
    expect(await evaluate(rule.id)).toBeUndefined();
    expect((await alerts.getRule(rule.id))!.lastDetail).toBe(
      'CI: 1 failed run in a row, failing for 5 min',
    );
    // 10:20 r3 fails (done 10:25): 2 in a row at 10:30 → fires.
    const r3 = run(20, 'failed');
    await store.upsertRuns([r3]);
    clock = at(30).getTime();
    expect(await evaluate(rule.id)).toBe('fired');
    expect(await deliverer.deliverDue()).toBe(2);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      recipients: { type: 'entity', entityRef: ENTITY },
      payload: {
        title: 'CI alert on svc: Main broken',
        severity: 'critical',
        link: '/catalog/default/component/svc/ci',
      },
    });
    expect(slack.posts).toHaveLength(1);
    expect(slack.posts[0].text).toContain('CI alert on svc: Main broken');
    expect(slack.posts[0].text).toContain(
      'http://portal.example.com/catalog/default/component/svc/ci',
    );
    // Still failing, evaluated again (and a third failure): nothing new.
    await store.upsertRuns([run(30, 'failed')]);
    clock = at(40).getTime();
    expect(await evaluate(rule.id)).toBeUndefined();
    expect(await evaluator.evaluateAll()).toMatchObject({ fired: 0 });
    expect(await deliverer.deliverDue()).toBe(0);
    expect(sent).toHaveLength(1);
    expect(slack.posts).toHaveLength(1);
    // 10:40 r5 passes (done 10:45): resolved once, one notice per channel.
    await store.upsertRuns([run(40, 'succeeded')]);
    clock = at(50).getTime();
    expect(await evaluate(rule.id)).toBe('resolved');
    expect(await evaluate(rule.id)).toBeUndefined();
    await deliverer.deliverDue();
    expect(sent.map(s => s.payload.title)).toEqual([
      'CI alert on svc: Main broken',
      'Resolved: CI alert on svc: Main broken',
    ]);
    expect(slack.posts).toHaveLength(2);
    // The history: one firing, resolved, with the runs that caused it.
    const [firing] = await alerts.listFirings(ENTITY);
    expect(firing).toMatchObject({
      ruleName: 'Main broken',
      openedAt: at(30).toISOString(),
      resolvedAt: at(50).toISOString(),
      snoozed: false,
    });
    // At 10:30 the streak was r3 then r2 (newest first).
    expect(firing.runIds).toEqual([
      r3.id,
      `fake_svc-${Number(r3.providerRunId) - 1}-1`,
    ]);
    expect(firing.deliveries.map(d => [d.notice, d.channel, d.status])).toEqual(
      [
        ['fired', 'notifications', 'sent'],
        ['fired', 'slack', 'sent'],
        ['resolved', 'notifications', 'sent'],
        ['resolved', 'slack', 'sent'],
      ],
    );
  });

  it('fires when a re-run breaks main, though GitHub keeps the run created_at', async () => {
    // 10:00 r1 passes; at 10:20 it is re-run (attempt 2, same created_at as
    // GitHub keeps it, started 10:20) and fails.
    const first = run(0, 'succeeded');
    await store.upsertRuns([first]);
    clock = at(10).getTime();
    const rule = await createRule({ params: { runs: 1 } });
    expect(await evaluate(rule.id)).toBeUndefined();
    const rerun: StoredRun = {
      ...first,
      // An id that sorts before the first attempt's: order must not rest
      // on ids (real ones are hashes).
      id: `a-${first.id}`,
      attempt: 2,
      status: 'failed',
      providerStatus: 'failure',
      startedAt: at(20).toISOString(),
      finishedAt: at(25).toISOString(),
      providerUpdatedAt: at(25).toISOString(),
    };
    await store.upsertRuns([rerun]);
    clock = at(30).getTime();
    expect(await evaluate(rule.id)).toBe('fired');
    const [firing] = await alerts.listFirings(ENTITY);
    expect(firing.runIds).toEqual([rerun.id]);
  });

  it('escapes what providers and people wrote in a Slack message, keeping only its own link', async () => {
    // A workflow, branch and commit message as a pushed workflow file or
    // commit could make them, and a rule named the same way.
    const hostile = '<!channel> & <https://evil.example/x|click here>';
    const runs = [0, 10].map(m => ({
      ...run(m, 'failed', `fix/${hostile}`),
      workflow: `Deploy ${hostile}`,
      commitMessage: `Revert ${hostile}`,
    }));
    await store.upsertRuns(runs);
    clock = at(20).getTime();
    const rule = await createRule({
      name: `Broken ${hostile}`,
      branches: [`fix/${hostile}`],
      slackWebhookUrl: SLACK,
    });
    expect(await evaluate(rule.id)).toBe('fired');
    await deliverer.deliverDue();
    expect(slack.posts).toHaveLength(1);
    const text: string = slack.posts[0].text;
    const escaped =
      '&lt;!channel&gt; &amp; &lt;https://evil.example/x|click here&gt;';
    expect(text).toContain(`CI alert on svc: Broken ${escaped}`);
    expect(text).toContain(`Deploy ${escaped}: 2 failed runs in a row`);
    // The one link (and the only `<` or `>`) is the plugin's own.
    expect(text.match(/[<>]/g)).toHaveLength(2);
    expect(text).toMatch(
      /\n<http:\/\/portal\.example\.com\/catalog\/default\/component\/svc\/ci\|Open CI>$/,
    );
    // The portal renders notifications as text: they carry the raw words.
    expect(sent[0].payload.title).toBe(`CI alert on svc: Broken ${hostile}`);
    expect(sent[0].payload.description).toContain(`Deploy ${hostile}`);
  });

  it('records a firing while snoozed without notifying, and no resolved notice for it', async () => {
    await store.upsertRuns([run(0, 'failed')]);
    clock = at(10).getTime();
    const rule = await createRule({
      params: { runs: 1 },
      snoozedUntil: at(60).toISOString(),
      slackWebhookUrl: SLACK,
    });
    expect(await evaluate(rule.id)).toBe('fired');
    await store.upsertRuns([run(10, 'succeeded')]);
    clock = at(20).getTime();
    expect(await evaluate(rule.id)).toBe('resolved');
    await deliverer.deliverDue();
    expect(sent).toHaveLength(0);
    expect(slack.posts).toHaveLength(0);
    const [firing] = await alerts.listFirings(ENTITY);
    expect(firing).toMatchObject({ snoozed: true, deliveries: [] });
  });

  it('closes a firing quietly when its rule is disabled, and never evaluates it disabled', async () => {
    await store.upsertRuns([run(0, 'failed')]);
    clock = at(10).getTime();
    const rule = await createRule({ params: { runs: 1 } });
    expect(await evaluate(rule.id)).toBe('fired');
    await deliverer.deliverDue();
    expect(sent).toHaveLength(1);
    await knex('ci_alert_rules')
      .where({ id: rule.id })
      .update({ enabled: false });
    expect(await evaluate(rule.id)).toBeUndefined();
    const stored = (await alerts.getRule(rule.id))!;
    expect(stored.state).toBe('ok');
    const [firing] = await alerts.listFirings(ENTITY);
    expect(firing.resolvedAt).toBe(at(10).toISOString());
    await deliverer.deliverDue();
    expect(sent).toHaveLength(1);
  });

  it('retries a failing Slack post with backoff, records each attempt, and never blocks the other channel', async () => {
    await store.upsertRuns([run(0, 'failed')]);
    clock = at(10).getTime();
    const rule = await createRule({
      params: { runs: 1 },
      slackWebhookUrl: SLACK,
    });
    slack.statuses = [500, 500];
    expect(await evaluate(rule.id)).toBe('fired');
    // Attempt 1: Slack 500; the notification goes out all the same.
    expect(await deliverer.deliverDue()).toBe(1);
    expect(sent).toHaveLength(1);
    let [firing] = await alerts.listFirings(ENTITY);
    expect(firing.deliveries.find(d => d.channel === 'slack')).toEqual({
      channel: 'slack',
      notice: 'fired',
      status: 'pending',
      attempts: 1,
      lastError: 'HTTP 500',
    });
    // Not due again before the backoff (1 s) has passed.
    expect(await deliverer.deliverDue()).toBe(0);
    expect(slack.posts).toHaveLength(1);
    clock += 1000; // attempt 2: 500 again; next in 2 s
    expect(await deliverer.deliverDue()).toBe(0);
    clock += 1999;
    expect(await deliverer.deliverDue()).toBe(0);
    clock += 1; // attempt 3: 200
    expect(await deliverer.deliverDue()).toBe(1);
    expect(slack.posts).toHaveLength(3);
    [firing] = await alerts.listFirings(ENTITY);
    expect(firing.deliveries.find(d => d.channel === 'slack')).toMatchObject({
      status: 'sent',
      attempts: 3,
    });
    // The URL (a secret) is in no log line.
    const logged = JSON.stringify([
      logger.info.mock.calls,
      logger.warn.mock.calls,
      logger.error.mock.calls,
      logger.debug.mock.calls,
    ]);
    expect(logged).toContain('HTTP 500');
    expect(logged).not.toContain('secret-token-xyz');
    expect(logged).not.toContain('hooks.slack.com/services');
  });

  it('gives a Slack post up after its last attempt, a time-out counting as a failure', async () => {
    await store.upsertRuns([run(0, 'failed')]);
    clock = at(10).getTime();
    const rule = await createRule({
      params: { runs: 1 },
      notifications: false,
      slackWebhookUrl: SLACK,
    });
    slack.delayMs = 1000; // longer than this deliverer's 300 ms time-out
    const quick = makeDeliverer(300);
    try {
      await evaluate(rule.id);
      await quick.deliverDue();
      clock += 1000;
      await quick.deliverDue();
      clock += 2000;
      await quick.deliverDue();
      const [firing] = await alerts.listFirings(ENTITY);
      expect(firing.deliveries).toEqual([
        {
          channel: 'slack',
          notice: 'fired',
          status: 'failed',
          attempts: 3,
          lastError: 'timed out',
        },
      ]);
      clock += 60_000;
      await quick.deliverDue();
    } finally {
      quick.stop();
    }
    expect(slack.posts).toHaveLength(3);
  });

  it("waits for another replica's claim on a delivery instead of spinning", async () => {
    await store.upsertRuns([run(0, 'failed')]);
    clock = at(10).getTime();
    const rule = await createRule({ params: { runs: 1 } });
    expect(await evaluate(rule.id)).toBe('fired');
    // Another replica claimed the notice for two minutes and is sending it.
    const claimedUntil = new Date(clock + 120_000).toISOString();
    await knex('ci_alert_deliveries').update({ claimed_until: claimedUntil });
    expect(await deliverer.deliverDue()).toBe(0);
    expect(sent).toHaveLength(0);
    expect((await alerts.nextDue())?.toISOString()).toBe(claimedUntil);
    // Its claim lapsed (it died): this replica sends it.
    clock += 120_001;
    expect(await deliverer.deliverDue()).toBe(1);
    expect(sent).toHaveLength(1);
    expect(await alerts.nextDue()).toBeUndefined();
  });

  it('previews how often a drafted rule would have fired over 30 days', async () => {
    // Day 1 (11-01) 10:00 fail, 11:00 fail, 12:00 pass; day 3 10:00 fail,
    // 11:00 fail, 12:00 fail; day 5 10:00 pass. With 2 in a row: fires on
    // day 1 at 11:05 and on day 3 at 11:05 → 2. With 3 in a row: once.
    const day = (d: number, h: number) => (d * 24 + h - 10) * 60 - 20 * 24 * 60;
    await store.upsertRuns([
      run(day(1, 10), 'failed'),
      run(day(1, 11), 'failed'),
      run(day(1, 12), 'succeeded'),
      run(day(3, 10), 'failed'),
      run(day(3, 11), 'failed'),
      run(day(3, 12), 'failed'),
      run(day(5, 10), 'succeeded'),
    ]);
    clock = at(0).getTime(); // 11-20 10:00
    const draft = (params: object) =>
      parseRuleInput(
        {
          name: 'draft',
          kind: 'default-branch-broken',
          params,
          severity: 'warning',
          enabled: true,
          notifications: true,
        },
        { slackAllowedHosts: ['hooks.slack.com'] },
      );
    const target = { sourceKeys: [SOURCE.key] };
    const two = await evaluator.preview(draft({ runs: 2 }), target);
    expect(two.days).toBe(30);
    expect(two.firings).toBe(2);
    expect(two.openedAt).toEqual([
      '2026-11-01T12:00:00.000Z',
      '2026-11-03T12:00:00.000Z',
    ]);
    expect((await evaluator.preview(draft({ runs: 3 }), target)).firings).toBe(
      1,
    );
    // A branch without runs: never.
    expect(
      (
        await evaluator.preview(
          { ...draft({ runs: 1 }), branches: ['release'] },
          target,
        )
      ).firings,
    ).toBe(0);
  });

  it('reads the catalog once per pass for all its entities, whatever their number of rules', async () => {
    const reads: string[][] = [];
    const OTHER = 'component:default/other';
    const GONE = 'component:default/removed';
    let failing = false;
    const counting = new AlertEvaluator({
      runs: store,
      store: alerts,
      insights: (await createInsights({ knex, minSample: 1 })).service,
      logger,
      now: () => new Date(clock),
      resolveTargets: async refs => {
        reads.push([...refs].sort());
        if (failing) throw new Error('catalog unavailable');
        return refs.map(ref =>
          ref === GONE ? undefined : { sourceKeys: [SOURCE.key] },
        );
      },
    });
    clock = at(10).getTime();
    await createRule({ name: 'one' });
    await createRule({ name: 'two', params: { minutes: 5 } });
    await createRule({ name: 'three' }, OTHER);
    await createRule({ name: 'four' }, GONE);
    await createRule(
      { name: 'disabled', enabled: false },
      'component:default/x',
    );
    // One read for the three entities of enabled rules (the disabled rule's
    // entity is not read; the removed entity's rule is skipped).
    expect(await counting.evaluateAll()).toMatchObject({ evaluated: 5 });
    expect(reads).toEqual([[OTHER, ENTITY, GONE].sort()]);

    // The catalog failing: each rule's evaluation fails and is logged, the
    // pass ends.
    failing = true;
    logger.error.mockClear();
    expect(await counting.evaluateAll()).toMatchObject({ evaluated: 1 });
    expect(reads).toHaveLength(2);
    expect(logger.error).toHaveBeenCalledTimes(4);
  });

  it('evaluates a success rate from the aggregates', async () => {
    // 11-18..11-20: 3 passed, 2 failed = 60% on 5 runs.
    await store.upsertRuns([
      run(-2 * 24 * 60, 'succeeded'),
      run(-2 * 24 * 60 + 30, 'failed'),
      run(-24 * 60, 'succeeded'),
      run(-24 * 60 + 30, 'failed'),
      run(-60, 'succeeded'),
    ]);
    clock = at(0).getTime();
    const rule = await createRule({
      kind: 'success-rate',
      params: { belowPercent: 70, windowDays: 7, minRuns: 5 },
    });
    await evaluator.evaluateAll();
    const stored = (await alerts.getRule(rule.id))!;
    expect(stored.state).toBe('firing');
    expect(stored.lastDetail).toBe(
      'success rate 60% over 7 days (5 runs), threshold 70%',
    );
    const [firing] = await alerts.listFirings(ENTITY);
    expect(firing.runIds).toHaveLength(2);
  });
});
