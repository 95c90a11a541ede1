import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { InputError } from '@backstage/errors';
import { Knex } from 'knex';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { KnexCiStore } from '../database/KnexCiStore';
import { STORE_TEST_DATABASES } from '../__testUtils__/databases';
import { AlertSecrets } from './AlertSecrets';
import { AlertStore, toApiRule } from './AlertStore';
import { AlertDeliverer, SlackChannel } from './channels';
import { SecretsRotation } from './SecretsRotation';
import { parseRuleInput } from './validation';

const databases = TestDatabases.create({ ids: STORE_TEST_DATABASES });

const SLACK = 'https://hooks.slack.com/services/T111/B222/at-rest-secret-9f8e';
const OLD = {
  id: 'old-2025',
  secret: 'old-key-for-tests-only-0123456789abcdef',
};
const NEW = {
  id: 'new-2026',
  secret: 'new-key-for-tests-only-0123456789abcdef',
};

const posted: string[] = [];
const server = setupServer(
  http.post('https://hooks.slack.com/services/:a/:b/:c', ({ request }) => {
    posted.push(request.url);
    return new HttpResponse('ok');
  }),
);
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());

const rule = (slackWebhookUrl?: string | null) =>
  parseRuleInput(
    {
      name: 'Main broken',
      kind: 'default-branch-broken',
      params: { runs: 1 },
      severity: 'critical',
      enabled: true,
      notifications: false,
      ...(slackWebhookUrl !== undefined ? { slackWebhookUrl } : {}),
    },
    { slackAllowedHosts: ['hooks.slack.com'] },
  );

describe.each(databases.eachSupportedId())(
  'Slack URLs at rest on %p',
  databaseId => {
    let knex: Knex;
    const now = new Date('2026-11-20T10:00:00.000Z');
    const storeWith = (...keys: unknown[]) =>
      new AlertStore(knex, {
        secrets: AlertSecrets.create(keys.length ? keys : undefined),
      });
    const stored = async (id: string): Promise<string> =>
      (await knex('ci_alert_rules').where({ id }).first()).slack_webhook_url;

    /** Fires the rule and sends its Slack notice with `store`'s keys. */
    async function deliver(store: AlertStore, ruleId: string) {
      const r = (await store.getRule(ruleId))!;
      await store.apply(
        r,
        { active: true, detail: 'CI: 1 failed run in a row', runIds: [] },
        { now, channels: ['slack'] },
      );
      const logger = mockServices.logger.mock();
      const deliverer = new AlertDeliverer({
        store,
        channels: {
          slack: new SlackChannel({ appBaseUrl: 'http://portal.example.com' }),
        },
        logger,
        now: () => now,
      });
      try {
        await deliverer.deliverDue();
      } finally {
        deliverer.stop();
      }
      const [firing] = await store.listFirings('component:default/svc');
      return { delivery: firing.deliveries[0], logger };
    }

    beforeAll(async () => {
      knex = await databases.init(databaseId);
      await KnexCiStore.fromKnex(knex);
    });

    beforeEach(async () => {
      posted.length = 0;
      for (const t of [
        'ci_alert_deliveries',
        'ci_alert_firings',
        'ci_alert_states',
        'ci_alert_rules',
      ]) {
        await knex(t).delete();
      }
    });

    it('stores the URL encrypted under the first key and sends to it', async () => {
      const store = storeWith(NEW, OLD);
      const created = await store.createRule(
        'component:default/svc',
        rule(SLACK),
        { now },
      );
      const row = await knex('ci_alert_rules')
        .where({ id: created.id })
        .first();
      expect(JSON.stringify(row)).not.toContain('at-rest-secret');
      expect(JSON.stringify(row)).not.toContain('hooks.slack.com');
      expect(row.slack_webhook_url).toMatch(
        /^enc:v1:new-2026:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$/,
      );
      expect(toApiRule(created).channels.slack).toBe(true);
      const { delivery } = await deliver(store, created.id);
      expect(delivery).toMatchObject({ status: 'sent' });
      expect(posted).toEqual([SLACK]);
      // Replaced on update, under the current key again; removed with null.
      await store.updateRule(created.id, rule(`${SLACK}-2`), now);
      expect(await stored(created.id)).toMatch(/^enc:v1:new-2026:/);
      expect(await stored(created.id)).not.toContain('at-rest-secret');
      await store.updateRule(created.id, rule(null), now);
      expect(await stored(created.id)).toBeNull();
    });

    it('binds a value to its rule: copied to another rule, it does not decrypt', async () => {
      const store = storeWith(NEW);
      const a = await store.createRule('component:default/svc', rule(SLACK), {
        now,
      });
      const b = await store.createRule('component:default/svc', rule(), {
        now,
      });
      await knex('ci_alert_rules')
        .where({ id: b.id })
        .update({ slack_webhook_url: await stored(a.id) });
      const { delivery } = await deliver(store, b.id);
      expect(delivery).toMatchObject({ status: 'failed', attempts: 1 });
      expect(delivery.lastError).toContain('could not be decrypted');
      expect(posted).toEqual([]);
    });

    it('re-encrypts values under an older key and plain ones under the new key, and says when none are left', async () => {
      const before = storeWith(OLD);
      const underOld = await before.createRule(
        'component:default/svc',
        rule(SLACK),
        { now },
      );
      const plain = await before.createRule('component:default/svc', rule(), {
        now,
      });
      // Left from before encryption.
      await knex('ci_alert_rules')
        .where({ id: plain.id })
        .update({ slack_webhook_url: SLACK });
      expect(await stored(underOld.id)).toMatch(/^enc:v1:old-2025:/);

      // Rotation: the new key first, the old one kept.
      const secrets = AlertSecrets.create([NEW, OLD]);
      const store = new AlertStore(knex, { secrets });
      // The old key still decrypts before the pass.
      expect((await deliver(store, underOld.id)).delivery.status).toBe('sent');
      const logger = mockServices.logger.mock();
      const rotation = new SecretsRotation({ store, secrets, logger });
      expect(await rotation.run()).toEqual({
        currentKeyId: 'new-2026',
        moved: 2,
        current: 2,
        plain: 0,
        byOtherKey: {},
        unreadable: 0,
      });
      expect(logger.info).toHaveBeenCalledWith(
        'CI alerts: re-encrypted 2 Slack webhook URLs under key "new-2026"; none left under older keys or in plain text: "old-2025" can now be removed from ciExperience.alerts.encryptionKeys',
      );
      for (const id of [underOld.id, plain.id]) {
        expect(await stored(id)).toMatch(/^enc:v1:new-2026:/);
      }
      // A second pass moves nothing and says nothing more.
      expect(await rotation.run()).toMatchObject({ moved: 0, current: 2 });
      expect(logger.info).toHaveBeenCalledTimes(1);

      // The old key removed: both still delivered, to the right URL.
      const after = storeWith(NEW);
      posted.length = 0;
      await knex('ci_alert_deliveries').delete();
      await knex('ci_alert_firings').delete();
      await knex('ci_alert_states').update({ state: 'ok', firing_id: null });
      expect((await deliver(after, plain.id)).delivery.status).toBe('sent');
      expect(posted).toEqual([SLACK]);
      const logged = JSON.stringify([logger.info.mock.calls]);
      expect(logged).not.toContain('at-rest-secret');
    });

    it('fails the delivery for good, naming the key, when a value is under a key no longer configured', async () => {
      const created = await storeWith(OLD).createRule(
        'component:default/svc',
        rule(SLACK),
        { now },
      );
      const store = storeWith(NEW);
      expect(toApiRule((await store.getRule(created.id))!).channels).toEqual({
        notifications: false,
        slack: true,
      });
      const { delivery, logger } = await deliver(store, created.id);
      expect(delivery).toMatchObject({
        channel: 'slack',
        status: 'failed',
        attempts: 1,
      });
      expect(delivery.lastError).toBe(
        'the Slack webhook URL is encrypted under key "old-2025", which is not in ciExperience.alerts.encryptionKeys: add that key back (after the current one) or give the rule a new Slack URL',
      );
      expect(posted).toEqual([]);
      const logged = JSON.stringify(logger.warn.mock.calls);
      expect(logged).toContain('given up');
      expect(logged).not.toContain('at-rest-secret');

      // The pass cannot move it and says so once.
      const rotationLogger = mockServices.logger.mock();
      const secrets = AlertSecrets.create([NEW]);
      const rotation = new SecretsRotation({
        store: new AlertStore(knex, { secrets }),
        secrets,
        logger: rotationLogger,
      });
      expect(await rotation.run()).toMatchObject({
        moved: 0,
        byOtherKey: { 'old-2025': 1 },
      });
      await rotation.run();
      expect(rotationLogger.warn).toHaveBeenCalledTimes(1);
      expect(rotationLogger.warn.mock.calls[0][0]).toBe(
        'CI alerts: 1 Slack webhook URL encrypted under key "old-2025", which is not in ciExperience.alerts.encryptionKeys: their Slack notices fail until that key is configured again (or the rules get a new URL)',
      );
    });

    it('without a key: refuses to store a URL, still delivers plain-text ones and warns how many there are', async () => {
      const store = storeWith();
      await expect(
        store.createRule('component:default/svc', rule(SLACK), { now }),
      ).rejects.toThrow(InputError);
      await expect(
        store.createRule('component:default/svc', rule(SLACK), { now }),
      ).rejects.toThrow(/set ciExperience\.alerts\.encryptionKeys/);
      const created = await store.createRule('component:default/svc', rule(), {
        now,
      });
      await expect(
        store.updateRule(created.id, rule(SLACK), now),
      ).rejects.toThrow(/ciExperience\.alerts\.encryptionKeys/);
      expect(await stored(created.id)).toBeNull();

      await knex('ci_alert_rules')
        .where({ id: created.id })
        .update({ slack_webhook_url: SLACK });
      expect((await deliver(store, created.id)).delivery.status).toBe('sent');
      expect(posted).toEqual([SLACK]);
      const logger = mockServices.logger.mock();
      await new SecretsRotation({
        store,
        secrets: AlertSecrets.create(undefined),
        logger,
      }).run();
      expect(logger.warn).toHaveBeenCalledWith(
        'CI alerts: 1 Slack webhook URL stored in plain text; set ciExperience.alerts.encryptionKeys to encrypt them at rest. They are still delivered, but no rule can be given a new Slack URL until a key is set',
      );
    });
  },
);

describe('AlertSecrets from config', () => {
  it('skips unusable keys with a clear log line, never the secret, and starts', () => {
    const logger = mockServices.logger.mock();
    const secrets = AlertSecrets.fromConfig(
      new ConfigReader({
        ciExperience: {
          alerts: {
            encryptionKeys: [
              { id: 'short', secret: 'too-short-secret' },
              { id: 'has:colon', secret: NEW.secret },
              'not-an-object',
              NEW,
              { id: 'new-2026', secret: OLD.secret },
              OLD,
            ],
          },
        },
      }),
      logger,
    );
    expect(secrets.keyIds).toEqual(['new-2026', 'old-2025']);
    expect(logger.error.mock.calls.map(c => c[0])).toEqual([
      'ciExperience.alerts.encryptionKeys[0] skipped: secret of "short" must be a string of at least 32 characters (for example: openssl rand -base64 32)',
      'ciExperience.alerts.encryptionKeys[1] skipped: id must be 1 to 64 letters, digits, ".", "_" or "-"',
      'ciExperience.alerts.encryptionKeys[2] skipped: each key must be an object with id and secret',
      'ciExperience.alerts.encryptionKeys[4] skipped: an earlier key has the id "new-2026"',
    ]);
    expect(JSON.stringify(logger.error.mock.calls)).not.toContain(
      'too-short-secret',
    );

    const wrongShape = mockServices.logger.mock();
    expect(
      AlertSecrets.fromConfig(
        new ConfigReader({
          ciExperience: { alerts: { encryptionKeys: 'a-single-string' } },
        }),
        wrongShape,
      ).currentKeyId,
    ).toBeUndefined();
    expect(wrongShape.error).toHaveBeenCalledWith(
      'ciExperience.alerts.encryptionKeys must be a list of { id, secret }; it is ignored, so Slack webhook URLs cannot be stored',
    );
  });

  it('derives the key from any long string: the same secret reads what it wrote', () => {
    const a = AlertSecrets.create([
      { id: 'b64', secret: Buffer.alloc(32, 7).toString('base64') },
    ]);
    const sealed = a.seal(SLACK, 'rule-1');
    expect(sealed).not.toContain('at-rest-secret');
    expect(a.seal(SLACK, 'rule-1')).not.toBe(sealed); // a fresh IV each time
    expect(
      AlertSecrets.create([
        { id: 'b64', secret: Buffer.alloc(32, 7).toString('base64') },
      ]).open(sealed, 'rule-1'),
    ).toBe(SLACK);
    expect(() =>
      AlertSecrets.create([
        { id: 'b64', secret: Buffer.alloc(32, 8).toString('base64') },
      ]).open(sealed, 'rule-1'),
    ).toThrow('could not be decrypted');
  });
});
