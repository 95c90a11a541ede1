import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { NEVER, providerModules } from '../__testUtils__/backend';
import { ciExperiencePlugin } from '../plugin';
import {
  findPublishedSecrets,
  PUBLISHED_SECRETS,
  refusePublishedSecrets,
} from './publishedSecrets';

const DEMO = 'simulator-webhook-secret';
// A secret as an adopter generates one (`openssl rand -hex 32`).
const REAL = '9f3c1e7a5b2d4f60818293a4b5c6d7e8f9a0b1c2d3e4f5061728394a5b6c7d8e';

describe('findPublishedSecrets', () => {
  it('names every key, nested or in a list, whose value is published, never the value', () => {
    const config = new ConfigReader({
      integrations: {
        github: [
          { host: 'github.com', token: REAL },
          { host: 'localhost:7008', token: 'simulator-token' },
        ],
      },
      events: { modules: { github: { webhookSecret: DEMO } } },
      ciExperience: {
        providers: {
          jenkins: {
            instances: [
              { name: 'a', apiKey: '11d1e4c0ffee5ba5e0123456789abcde' },
            ],
          },
        },
      },
    });
    const keys = findPublishedSecrets(config);
    expect(keys).toEqual([
      'integrations.github[1].token',
      'events.modules.github.webhookSecret',
      'ciExperience.providers.jenkins.instances[0].apiKey',
    ]);
    expect(keys.join(' ')).not.toContain(DEMO);
  });

  it('looks through every config file, the last one winning', () => {
    const config = ConfigReader.fromConfigs([
      {
        context: 'base',
        data: { events: { modules: { github: { webhookSecret: DEMO } } } },
      },
      {
        context: 'prod',
        data: { events: { modules: { github: { webhookSecret: REAL } } } },
      },
      {
        context: 'other',
        data: { slack: { token: "It's a Secret to Everybody" } },
      },
    ]);
    expect(findPublishedSecrets(config)).toEqual(['slack.token']);
  });

  it('finds nothing in a config with real secrets, and takes an extended list', () => {
    const config = new ConfigReader({ a: { b: [REAL, 'x'] }, c: 1, d: true });
    expect(findPublishedSecrets(config)).toEqual([]);
    expect(
      findPublishedSecrets(config, [
        ...PUBLISHED_SECRETS,
        { value: REAL, where: 'a test' },
      ]),
    ).toEqual(['a.b[0]']);
  });
});

describe('refusePublishedSecrets', () => {
  const config = new ConfigReader({
    events: { modules: { github: { webhookSecret: DEMO } } },
    ciExperience: {
      providers: { jenkins: { webhookToken: 'simulator-jenkins-token' } },
    },
  });

  it('refuses production, naming each key and saying what to do', () => {
    const logger = { warn: jest.fn() };
    expect(() =>
      refusePublishedSecrets({ config, logger, nodeEnv: 'production' }),
    ).toThrow(
      'CI Experience refuses to start in production: events.modules.github.webhookSecret, ciExperience.providers.jenkins.webhookToken hold demo secrets published in the CI Experience repository; set your own',
    );
    expect(logger.warn).not.toHaveBeenCalled();
  });

  it('warns once elsewhere, without the values', () => {
    const logger = { warn: jest.fn() };
    refusePublishedSecrets({ config, logger, nodeEnv: 'development' });
    expect(logger.warn).toHaveBeenCalledTimes(1);
    const [message] = logger.warn.mock.calls[0];
    expect(message).toContain('events.modules.github.webhookSecret');
    expect(message).not.toContain(DEMO);
  });

  it('says nothing about real secrets', () => {
    const logger = { warn: jest.fn() };
    refusePublishedSecrets({
      config: new ConfigReader({
        events: { modules: { github: { webhookSecret: REAL } } },
      }),
      logger,
      nodeEnv: 'production',
    });
    expect(logger.warn).not.toHaveBeenCalled();
  });
});

describe('a backend with the plugin', () => {
  const nodeEnv = process.env.NODE_ENV;
  const started: Array<{ stop(): Promise<void> }> = [];
  afterEach(async () => {
    process.env.NODE_ENV = nodeEnv;
    await Promise.all(started.splice(0).map(b => b.stop()));
  });

  async function start(webhookSecret: string) {
    const logger = mockServices.logger.mock();
    logger.child.mockReturnValue(logger);
    const backend = await startTestBackend({
      features: [
        ciExperiencePlugin,
        ...providerModules,
        logger.factory,
        mockServices.events.factory(),
        catalogServiceMock.factory({ entities: [] }),
        mockServices.rootConfig.factory({
          data: {
            events: { modules: { github: { webhookSecret } } },
            ciExperience: { sync: { schedule: NEVER } },
          },
        }),
      ],
    });
    started.push(backend);
    return logger;
  }

  it('refuses to start in production with a published webhook secret, naming its key', async () => {
    process.env.NODE_ENV = 'production';
    await expect(start(DEMO)).rejects.toThrow(
      /CI Experience refuses to start in production: events\.modules\.github\.webhookSecret holds a demo secret published in the CI Experience repository; set your own/,
    );
  });

  it('starts in production with a secret of its own', async () => {
    process.env.NODE_ENV = 'production';
    const logger = await start(REAL);
    expect(
      logger.warn.mock.calls.filter(([m]) => String(m).includes('demo secret')),
    ).toEqual([]);
  });

  it('starts outside production with a published secret, and warns once', async () => {
    process.env.NODE_ENV = 'development';
    const logger = await start(DEMO);
    const warnings = logger.warn.mock.calls
      .map(([m]) => String(m))
      .filter(m => m.includes('published in the CI Experience repository'));
    expect(warnings).toEqual([
      'events.modules.github.webhookSecret holds a demo secret published in the CI Experience repository: fine for the local demo (app-config.demo.yaml), refused when NODE_ENV=production',
    ]);
  });
});
