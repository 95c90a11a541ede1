/* eslint-disable @backstage/no-relative-monorepo-imports -- this test reads the provider modules' recorded fixtures */
import { providerModules } from './__testUtils__/backend';
/*
 * End to end: webhooks POSTed to the real events backend
 * (`/api/events/http/<topic>`) reach the plugin's subscribers and show up in
 * `GET /api/ci-experience/entities/.../runs`.
 *
 * Why the events service is given explicitly: `startTestBackend` installs
 * `mockServices.events.factory()` by default, a plugin-scoped factory with no
 * root context, so every plugin gets its own `MockEventsService`. The events
 * backend's HTTP ingress (and the GitHub and GitLab routers, modules of the
 * events plugin) then publish into the `events` plugin's instance, while
 * `ci-experience` subscribed on another one: the POST answers 202 and the
 * delivery reaches nobody. `eventsServiceFactory` of
 * `@backstage/plugin-events-node` (what `createBackend()` of
 * `@backstage/backend-defaults` installs in the portal) shares one
 * `LocalEventBus` between all plugins through its root context.
 */
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { BackendFeature } from '@backstage/backend-plugin-api';
import { Entity } from '@backstage/catalog-model';
import eventsPlugin from '@backstage/plugin-events-backend';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { eventsServiceFactory } from '@backstage/plugin-events-node';
import {
  CiRun,
  CiRunsResponse,
  isFinalStatus,
} from '@ci-experience/plugin-ci-experience-common';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { createHmac, randomUUID } from 'node:crypto';
import path from 'node:path';
import request from 'supertest';
import { signGitlabWebhook } from '@ci-experience/plugin-ci-experience-backend-module-gitlab';
import { ciExperiencePlugin } from './plugin';

/*
 * The GitHub and GitLab events modules are feature loaders whose index
 * `import()`s their two modules (router and webhook ingress); Jest runs
 * CommonJS without `--experimental-vm-modules` and cannot follow that dynamic
 * import. The same module files are required here from the installed
 * packages instead (the packages export only their index).
 */
function loadedModules(pkg: string, files: string[]): BackendFeature[] {
  const dist = path.join(
    path.dirname(require.resolve(`${pkg}/package.json`)),
    'dist',
  );
  return files.map(file => require(path.join(dist, file)).default);
}
const githubEventsModules = loadedModules(
  '@backstage/plugin-events-backend-module-github',
  [
    'service/eventsModuleGithubEventRouter.cjs.js',
    'service/eventsModuleGithubWebhook.cjs.js',
  ],
);
/*
 * Of the GitLab module, only its router (`gitlab` -> `gitlab.<object_kind>`),
 * as the portal's backend installs it: `ciExperienceEventsModule` serves the
 * `gitlab` ingress with the plugin's own validator.
 */
const gitlabEventsModules = loadedModules(
  '@backstage/plugin-events-backend-module-gitlab',
  ['service/eventsModuleGitlabEventRouter.cjs.js'],
);

const webhookExamples: Array<{
  name: string;
  examples: any[];
}> = require('@octokit/webhooks-examples');
const gitlabPipelineHook = require('../../ci-experience-backend-module-gitlab/src/__fixtures__/pipeline-hook.json');
const jenkinsNotification = require('../../ci-experience-backend-module-jenkins/src/__fixtures__/notification.json');
const buildkiteBuildFinished = require('../../ci-experience-backend-module-buildkite/src/__fixtures__/build-finished.json');

// Two backends start and stop here; a slow machine needs more than 5 s.
jest.setTimeout(20_000);

const SECRETS = {
  github: 'github-webhook-secret-for-e2e-0123',
  gitlab: 'gitlab-webhook-secret-for-e2e-0123',
  jenkins: 'jenkins-webhook-token-for-e2e-0123',
  buildkite: 'buildkite-signing-secret-for-e2e-0123',
  circleci: 'circleci-webhook-secret-for-e2e-0123',
};
const WRONG = 'not-the-secret';
/** A Standard Webhooks signing token, as GitLab shows one: whsec_<base64 of 32 bytes>. */
const SIGNING_TOKEN = `whsec_${Buffer.from(
  'gitlab-e2e-signing-key-0123456789',
).toString('base64')}`;

/*
 * Every provider API is out of reach: a sync fails at once (404) and records
 * its source with the error, so runs can only come from the webhooks.
 */
const apis = setupServer(
  http.all(/^https?:\/\/(?!localhost|127\.0\.0\.1|\[::1\])/, () =>
    HttpResponse.json({ message: 'Not Found' }, { status: 404 }),
  ),
);
beforeAll(() => apis.listen({ onUnhandledRequest: 'bypass' }));
afterAll(() => apis.close());

const component = (name: string, annotations: Record<string, string>) =>
  ({
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default', annotations },
    spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
  } satisfies Entity);

const GITLAB_HOST = new URL(gitlabPipelineHook.project.web_url).host;

const entities = [
  component('gh-app', { 'github.com/project-slug': 'octo-org/octo-repo' }),
  component('gl-app', {
    'gitlab.com/project-slug': gitlabPipelineHook.project.path_with_namespace,
    'gitlab.com/instance': GITLAB_HOST,
  }),
  component('jenkins-app', { 'jenkins.io/job-full-name': 'team-a/payments' }),
  component('bk-app', {
    'buildkite.com/pipeline-slug': 'my-great-org/my-pipeline',
  }),
  component('circle-app', {
    'circleci.com/project-slug': 'gh/circleci/webhook-service',
  }),
];

const config = (useEventBus: 'never' | 'auto') => ({
  events: {
    useEventBus,
    // Long polls of the bus end within a second, so the backend stops soon.
    notifyTimeoutMs: 1000,
    modules: {
      github: { webhookSecret: SECRETS.github },
    },
  },
  integrations: {
    github: [{ host: 'github.com', token: 'ghp_e2e-token-0123456789' }],
    gitlab: [
      {
        host: GITLAB_HOST,
        apiBaseUrl: `http://${GITLAB_HOST}/api/v4`,
        token: 'glpat-e2e-token-0123',
      },
    ],
  },
  ciExperience: {
    // The entities here have no catalog location for a source to match:
    // every test source is allowed by config, so only webhooks decide.
    sources: {
      allow: [
        'github-actions',
        'gitlab',
        'jenkins',
        'buildkite',
        'circleci',
      ].map(provider => ({ provider, source: '*' })),
    },
    sync: {
      // Only views start syncs.
      schedule: {
        frequency: { hours: 24 },
        timeout: { minutes: 1 },
        initialDelay: { hours: 24 },
      },
    },
    providers: {
      gitlab: {
        webhookSecret: SECRETS.gitlab,
        webhookSigningToken: SIGNING_TOKEN,
      },
      jenkins: {
        instances: [
          {
            name: 'ci',
            baseUrl: 'https://jenkins.example.com',
            username: 'bot',
            apiKey: 'jenkins-api-key',
          },
        ],
        webhookToken: SECRETS.jenkins,
      },
      buildkite: {
        apiToken: 'bkua_e2e-token',
        webhookSigningSecret: SECRETS.buildkite,
      },
      circleci: {
        apiToken: 'circle-e2e-token',
        webhookSecret: SECRETS.circleci,
      },
    },
  },
});

async function startBackend(
  options: { useEventBus?: 'never' | 'auto'; sharedEvents?: boolean } = {},
) {
  const { server } = await startTestBackend({
    features: [
      eventsPlugin,
      ...githubEventsModules,
      ...gitlabEventsModules,
      ciExperiencePlugin,
      ...providerModules,
      ...(options.sharedEvents === false ? [] : [eventsServiceFactory]),
      // Requests without a token are unauthenticated, not a default user.
      mockServices.httpAuth.factory({
        defaultCredentials: mockCredentials.none(),
      }),
      // SQLite in memory (`mockServices.database` is the default too).
      mockServices.database.factory(),
      catalogServiceMock.factory({ entities }),
      mockServices.rootConfig.factory({
        data: config(options.useEventBus ?? 'never'),
      }),
    ],
  });
  return server;
}

type Server = Awaited<ReturnType<typeof startBackend>>;

const runsPath = (entity: string) =>
  `/api/ci-experience/entities/component/default/${entity}/runs`;

async function listRuns(server: Server, entity: string) {
  const res = await request(server)
    .get(`${runsPath(entity)}?limit=100`)
    .set('Authorization', mockCredentials.user.header());
  expect(res.status).toBe(200);
  return res.body as CiRunsResponse;
}

async function until<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${timeoutMs} ms`);
    }
    await new Promise(r => setTimeout(r, 50));
  }
}

/** Views the entity, which records its source, and waits for the first sync. */
async function claim(server: Server, entity: string, provider: string) {
  // Webhooks carry no Backstage token (the ingress is unauthenticated);
  // reading runs needs one.
  expect((await request(server).get(runsPath(entity))).status).toBe(401);
  const state = await until(
    `first sync of ${entity}`,
    () => listRuns(server, entity),
    body => body.sources.length > 0 && body.sources.every(s => !s.syncing),
  );
  expect(state.items).toEqual([]);
  // The provider's API is unreachable: recorded, with its error.
  expect(state.sources).toEqual([
    expect.objectContaining({ provider, error: expect.anything() }),
  ]);
}

const hmacHex = (secret: string, data: string) =>
  createHmac('sha256', secret).update(data).digest('hex');

interface ProviderCase {
  /** The topic of the HTTP ingress, `/api/events/http/<topic>`. */
  topic: string;
  entity: string;
  provider: string;
  payload: object;
  /** The same delivery for another run: only ever sent with bad secrets. */
  forged: object;
  /** The request headers for a body, with the secret given (or none). */
  headers(body: string, secret: string | undefined): Record<string, string>;
  /** What the events module answers without a secret. */
  missingStatus: number;
  expected: Partial<CiRun>;
  forgedRunNumber: number;
}

const githubRun = webhookExamples
  .find(w => w.name === 'workflow_run')!
  .examples.find(
    e => e.action === 'completed' && e.workflow_run.conclusion === 'success',
  );

const circleciWorkflowCompleted = {
  // In the shape of CircleCI's webhooks reference (see
  // the CircleCI module's webhook.test.ts); project slugs there are `github/...`.
  type: 'workflow-completed',
  id: '3888f21b-eaa7-38e3-8f3d-75a63bba8895',
  happened_at: '2026-11-01T22:49:34.317Z',
  webhook: {
    id: 'cf8c4fdd-0587-4da1-b4ca-4846e9640af9',
    name: 'Sample Webhook',
  },
  project: {
    id: '84996744-a854-4f5e-aea3-04e2851dc1d2',
    name: 'webhook-service',
    slug: 'github/circleci/webhook-service',
  },
  organization: {
    id: 'f22b6566-597d-46d5-ba74-99ef5bb3d85c',
    name: 'circleci',
  },
  workflow: {
    id: 'fda08377-fe7e-46b1-8992-3a7aaecac9c3',
    name: 'build-test-deploy',
    created_at: '2026-11-01T22:49:03.616Z',
    stopped_at: '2026-11-01T22:49:34.170Z',
    url: 'https://app.circleci.com/pipelines/github/circleci/webhook-service/130/workflows/fda08377-fe7e-46b1-8992-3a7aaecac9c3',
    status: 'failed',
  },
  pipeline: {
    id: '1285fe1d-d3a6-44fc-8886-8979558254c4',
    number: 130,
    created_at: '2026-11-01T22:49:03.544Z',
    trigger: { type: 'webhook' },
    vcs: {
      provider_name: 'github',
      origin_repository_url: 'https://github.com/circleci/webhook-service',
      target_repository_url: 'https://github.com/circleci/webhook-service',
      revision: '1dc6aa69429bff4806ad6afe58d3d8f57e25973e',
      commit: {
        subject: 'Description of change',
        body: 'More details about the change',
      },
      branch: 'main',
    },
  },
};

const cases: ProviderCase[] = [
  {
    topic: 'github',
    entity: 'gh-app',
    provider: 'github-actions',
    payload: githubRun,
    forged: {
      ...githubRun,
      workflow_run: {
        ...githubRun.workflow_run,
        id: githubRun.workflow_run.id + 1,
        run_number: 999,
      },
    },
    headers: (body, secret) => ({
      'x-github-event': 'workflow_run',
      'x-github-delivery': randomUUID(),
      'x-github-hook-id': '7007',
      ...(secret
        ? { 'x-hub-signature-256': `sha256=${hmacHex(secret, body)}` }
        : {}),
    }),
    // The Backstage module refuses any bad signature with 403.
    missingStatus: 403,
    expected: {
      provider: 'github-actions',
      source: 'octo-org/octo-repo',
      runNumber: githubRun.workflow_run.run_number,
      status: 'succeeded',
    },
    forgedRunNumber: 999,
  },
  {
    topic: 'gitlab',
    entity: 'gl-app',
    provider: 'gitlab',
    payload: gitlabPipelineHook,
    forged: {
      ...gitlabPipelineHook,
      object_attributes: {
        ...gitlabPipelineHook.object_attributes,
        id: 999,
        iid: 999,
        url: undefined,
      },
    },
    headers: (_body, secret) => {
      const uuid = randomUUID();
      return {
        'x-gitlab-event': 'Pipeline Hook',
        'x-gitlab-event-uuid': uuid,
        'idempotency-key': uuid,
        ...(secret ? { 'x-gitlab-token': secret } : {}),
      };
    },
    // The plugin's validator: 401 for a missing token, 403 for a wrong one.
    missingStatus: 401,
    expected: {
      provider: 'gitlab',
      source: 'gitlab-org/gitlab-test',
      runNumber: gitlabPipelineHook.object_attributes.iid,
      status: 'succeeded',
      branch: 'master',
    },
    forgedRunNumber: 999,
  },
  {
    topic: 'jenkins',
    entity: 'jenkins-app',
    provider: 'jenkins',
    payload: jenkinsNotification,
    forged: {
      ...jenkinsNotification,
      build: {
        ...jenkinsNotification.build,
        number: 999,
        full_url: 'https://jenkins.example.com/job/team-a/job/payments/999/',
        url: 'job/team-a/job/payments/999/',
      },
    },
    headers: (_body, secret): Record<string, string> =>
      secret ? { 'x-jenkins-token': secret } : {},
    missingStatus: 401,
    expected: {
      provider: 'jenkins',
      source: 'team-a/payments',
      runNumber: 41,
      status: 'failed',
      branch: 'main',
    },
    forgedRunNumber: 999,
  },
  {
    topic: 'buildkite',
    entity: 'bk-app',
    provider: 'buildkite',
    payload: buildkiteBuildFinished,
    forged: {
      ...buildkiteBuildFinished,
      build: {
        ...buildkiteBuildFinished.build,
        id: '00000000-10f9-4790-bc1c-e2c3a0c80983',
        number: 999,
        url: 'https://api.buildkite.com/v2/organizations/my-great-org/pipelines/my-pipeline/builds/999',
        web_url: 'https://buildkite.com/my-great-org/my-pipeline/builds/999',
      },
    },
    headers: (body, secret) => {
      const timestamp = Math.floor(Date.now() / 1000);
      return {
        'x-buildkite-event': 'build.finished',
        ...(secret
          ? {
              'x-buildkite-signature': `timestamp=${timestamp},signature=${hmacHex(
                secret,
                `${timestamp}.${body}`,
              )}`,
            }
          : {}),
      };
    },
    missingStatus: 401,
    expected: {
      provider: 'buildkite',
      source: 'my-great-org/my-pipeline',
      runNumber: 1,
      status: 'succeeded',
      branch: 'main',
    },
    forgedRunNumber: 999,
  },
  {
    topic: 'circleci',
    entity: 'circle-app',
    provider: 'circleci',
    payload: circleciWorkflowCompleted,
    forged: {
      ...circleciWorkflowCompleted,
      id: '00000000-eaa7-38e3-8f3d-75a63bba8895',
      workflow: {
        ...circleciWorkflowCompleted.workflow,
        id: '00000000-fe7e-46b1-8992-3a7aaecac9c3',
      },
      pipeline: {
        ...circleciWorkflowCompleted.pipeline,
        id: '00000000-d3a6-44fc-8886-8979558254c4',
        number: 999,
      },
    },
    headers: (body, secret) => ({
      'circleci-event-type': 'workflow-completed',
      ...(secret
        ? { 'circleci-signature': `v1=${hmacHex(secret, body)}` }
        : {}),
    }),
    missingStatus: 401,
    expected: {
      provider: 'circleci',
      source: 'gh/circleci/webhook-service',
      runNumber: 130,
      status: 'failed',
      branch: 'main',
    },
    forgedRunNumber: 999,
  },
];

/** A delivery as its CI system sends it: the exact bytes its headers sign. */
function delivery(c: ProviderCase, payload: object, secret?: string) {
  const body = JSON.stringify(payload);
  return { body, headers: c.headers(body, secret) };
}

function post(server: Server, c: ProviderCase, d: ReturnType<typeof delivery>) {
  return request(server)
    .post(`/api/events/http/${c.topic}`)
    .set('Content-Type', 'application/json')
    .set(d.headers)
    .send(d.body);
}

describe.each(['never', 'auto'] as const)(
  'webhooks through the events backend (events.useEventBus: %s)',
  useEventBus => {
    let server: Server;
    beforeAll(async () => {
      server = await startBackend({ useEventBus });
    });

    it.each(cases.map(c => [c.topic, c] as const))(
      '%s: refuses bad secrets, stores nothing, then stores a signed delivery',
      async (_topic, c) => {
        await claim(server, c.entity, c.provider);

        const secret = SECRETS[c.topic as keyof typeof SECRETS];
        const missing = await post(server, c, delivery(c, c.forged));
        expect(missing.status).toBe(c.missingStatus);
        const wrong = await post(server, c, delivery(c, c.forged, WRONG));
        expect(wrong.status).toBe(403);
        expect(JSON.stringify([missing.body, wrong.body])).not.toContain(
          secret,
        );

        expect((await listRuns(server, c.entity)).items).toEqual([]);

        const signed = delivery(c, c.payload, secret);
        const ok = await post(server, c, signed);
        expect(ok.status).toBe(202);

        const body = await until(
          `${c.topic} run of ${c.entity}`,
          () => listRuns(server, c.entity),
          b => b.items.length > 0,
        );
        // Only the signed delivery: the refused ones reached no subscriber.
        expect(body.items).toEqual([expect.objectContaining(c.expected)]);
        expect(body.items.some(r => r.runNumber === c.forgedRunNumber)).toBe(
          false,
        );

        const run = await request(server)
          .get(`/api/ci-experience/runs/${body.items[0].id}`)
          .set('Authorization', mockCredentials.user.header());
        expect(run.status).toBe(200);
        expect(run.body).toMatchObject(c.expected);
        // Finished by the delivery (each example is a finished run), before
        // any sync read its job list: the next sync reads it.
        expect(isFinalStatus(run.body.status)).toBe(true);
        expect(run.body.jobsPending).toBe(true);

        // Redelivered as is (same delivery id, same bytes): applied once.
        const again = await post(server, c, signed);
        expect(again.status).toBe(202);
        expect((await listRuns(server, c.entity)).items).toHaveLength(1);
      },
    );
  },
);

describe('webhooks straight to the plugin (POST /api/ci-experience/webhooks/<provider>)', () => {
  let server: Server;
  beforeAll(async () => {
    // The bus as Backstage sets it for several replicas: the direct route
    // does not go through it.
    server = await startBackend({ useEventBus: 'auto' });
  });

  const postDirect = (name: string, d: ReturnType<typeof delivery>) =>
    request(server)
      .post(`/api/ci-experience/webhooks/${name}`)
      .set('Content-Type', 'application/json')
      .set(d.headers)
      .send(d.body);

  it.each(cases.map(c => [c.topic, c] as const))(
    '%s: refuses bad secrets; a 202 comes after the run is stored',
    async (_topic, c) => {
      await claim(server, c.entity, c.provider);
      const secret = SECRETS[c.topic as keyof typeof SECRETS];
      const missing = await postDirect(c.topic, delivery(c, c.forged));
      expect(missing.status).toBe(c.missingStatus);
      const wrong = await postDirect(c.topic, delivery(c, c.forged, WRONG));
      expect(wrong.status).toBe(403);
      expect(JSON.stringify([missing.body, wrong.body])).not.toContain(secret);

      const signed = delivery(c, c.payload, secret);
      const ok = await postDirect(c.topic, signed);
      expect(ok.status).toBe(202);
      expect(ok.body).toEqual({ status: 'accepted' });
      // No waiting: the answer came after the commit.
      const body = await listRuns(server, c.entity);
      expect(body.items).toEqual([expect.objectContaining(c.expected)]);

      // Redelivered as is: applied once, and said so.
      const again = await postDirect(c.topic, signed);
      expect(again.status).toBe(202);
      expect(again.body).toEqual({ status: 'duplicate' });
      expect((await listRuns(server, c.entity)).items).toHaveLength(1);
    },
  );

  it('answers an unknown provider 404, a body that is not JSON 415 or 400, a malformed delivery 400', async () => {
    const github = cases.find(c => c.topic === 'github')!;
    const unknown = await postDirect('teamcity', delivery(github, {}));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain('github');

    const form = await request(server)
      .post('/api/ci-experience/webhooks/github')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('payload=%7B%7D');
    expect(form.status).toBe(415);

    const garbage = '{"workflow_run": ';
    const notJson = await request(server)
      .post('/api/ci-experience/webhooks/github')
      .set('Content-Type', 'application/json')
      .set(github.headers(garbage, SECRETS.github))
      .send(garbage);
    expect(notJson.status).toBe(400);

    // Signed, but not a workflow run GitHub would send.
    const malformed = delivery(
      github,
      { ...githubRun, workflow_run: { ...githubRun.workflow_run, id: 'x' } },
      SECRETS.github,
    );
    const refused = await postDirect('github', malformed);
    expect(refused.status).toBe(400);
    expect(refused.body.error.name).toBe('InputError');

    // An event runs are not made of: taken and ignored.
    const ping = { zen: 'Keep it logically awesome.', hook_id: 7007 };
    const pingBody = JSON.stringify(ping);
    const pinged = await request(server)
      .post('/api/ci-experience/webhooks/github')
      .set('Content-Type', 'application/json')
      .set({
        ...github.headers(pingBody, SECRETS.github),
        'x-github-event': 'ping',
      })
      .send(pingBody);
    expect(pinged.status).toBe(202);
    expect(pinged.body).toEqual({ status: 'ignored' });
  });

  it('refuses a body over 5 MiB with 413', async () => {
    const big = JSON.stringify({ padding: 'x'.repeat(5 * 1024 * 1024 + 1) });
    const res = await request(server)
      .post('/api/ci-experience/webhooks/github')
      .set('Content-Type', 'application/json')
      .send(big);
    expect(res.status).toBe(413);
  });
});

describe("GitLab webhooks through the plugin's validator", () => {
  let server: Server;
  beforeAll(async () => {
    server = await startBackend();
    await claim(server, 'gl-app', 'gitlab');
  });

  /** A pipeline hook of another pipeline of the same project. */
  const pipeline = (n: number) => ({
    ...gitlabPipelineHook,
    object_attributes: {
      ...gitlabPipelineHook.object_attributes,
      id: 70_000 + n,
      iid: 700 + n,
      url: undefined,
    },
  });

  function send(
    payload: object,
    auth: {
      token?: string;
      signWith?: string;
      signedAt?: number;
      tamper?: boolean;
    },
  ) {
    const body = JSON.stringify(payload);
    const id = randomUUID();
    const headers: Record<string, string> = {
      'x-gitlab-event': 'Pipeline Hook',
      'x-gitlab-event-uuid': id,
      'idempotency-key': id,
    };
    if (auth.token !== undefined) {
      headers['x-gitlab-token'] = auth.token;
    }
    if (auth.signWith) {
      // GitLab's webhook-id is the delivery's Idempotency-Key.
      const at = Math.floor((auth.signedAt ?? Date.now()) / 1000);
      headers['webhook-id'] = id;
      headers['webhook-timestamp'] = String(at);
      headers['webhook-signature'] = signGitlabWebhook(
        auth.signWith,
        id,
        at,
        auth.tamper ? `${body} ` : body,
      );
    }
    return request(server)
      .post('/api/events/http/gitlab')
      .set('Content-Type', 'application/json')
      .set(headers)
      .send(body);
  }

  async function storedNumbers() {
    return (await listRuns(server, 'gl-app')).items.map(r => r.runNumber);
  }

  it('accepts the right X-Gitlab-Token (run stored); refuses a wrong one with 403 whatever its length, a missing one with 401', async () => {
    const secret = SECRETS.gitlab;
    const refused = [
      { token: `${secret.slice(0, -1)}x`, status: 403 },
      { token: `${secret}0`, status: 403 },
      { token: secret.slice(0, -1), status: 403 },
      { token: 'x', status: 403 },
      { token: undefined, status: 401 },
    ];
    for (const [i, { token, status }] of refused.entries()) {
      const res = await send(pipeline(i), { token });
      expect([token?.length, res.status]).toEqual([token?.length, status]);
      expect(JSON.stringify(res.body)).not.toContain(secret);
    }
    const ok = await send(pipeline(10), { token: secret });
    expect(ok.status).toBe(202);
    const numbers = await until('the accepted pipeline', storedNumbers, n =>
      n.includes(710),
    );
    expect(numbers.filter(n => n >= 700 && n < 710)).toEqual([]);
  });

  it('accepts a delivery signed with the signing token and no X-Gitlab-Token; refuses a bad signature with 403 and a stale one with 401', async () => {
    // Today's wiring (Backstage's module) refuses it: no X-Gitlab-Token.
    const ok = await send(pipeline(30), { signWith: SIGNING_TOKEN });
    expect(ok.status).toBe(202);

    const other = `whsec_${Buffer.from(
      'another-signing-key-0123456789ab',
    ).toString('base64')}`;
    const bad = await send(pipeline(20), { signWith: other });
    expect(bad.status).toBe(403);
    const tampered = await send(pipeline(21), {
      signWith: SIGNING_TOKEN,
      tamper: true,
    });
    expect(tampered.status).toBe(403);
    const stale = await send(pipeline(22), {
      signWith: SIGNING_TOKEN,
      signedAt: Date.now() - 10 * 60_000,
    });
    expect(stale.status).toBe(401);
    // Signed, but carrying a wrong token: the token must be right too.
    const wrongToken = await send(pipeline(23), {
      signWith: SIGNING_TOKEN,
      token: WRONG,
    });
    expect(wrongToken.status).toBe(403);

    const numbers = await until('the signed pipeline', storedNumbers, n =>
      n.includes(730),
    );
    expect(numbers.filter(n => n >= 720 && n < 730)).toEqual([]);
  });
});

describe('the test backend default events service', () => {
  it('keeps one events service per plugin: a 202 delivery reaches nobody', async () => {
    const server = await startBackend({ sharedEvents: false });
    const [jenkins] = cases.filter(c => c.topic === 'jenkins');
    await claim(server, jenkins.entity, jenkins.provider);
    const ok = await post(
      server,
      jenkins,
      delivery(jenkins, jenkins.payload, SECRETS.jenkins),
    );
    expect(ok.status).toBe(202);
    // Published before the 202 (the mock awaits its subscribers), to none of ours.
    expect((await listRuns(server, jenkins.entity)).items).toEqual([]);
  });
});
