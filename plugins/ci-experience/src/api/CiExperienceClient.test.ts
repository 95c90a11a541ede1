import { registerMswTestHooks } from '@backstage/test-utils';
import { ResponseError } from '@backstage/errors';
import {
  CiAlertRuleInput,
  CiRunsResponse,
} from '@ci-experience/plugin-ci-experience-common';
import {
  makeAlertFiring,
  makeAlertRule,
  makeInsights,
  makeRollup,
} from '../testing/fixtures';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { CiExperienceClient } from './CiExperienceClient';

const baseUrl = 'http://localhost:7007/api/ci-experience';

describe('CiExperienceClient', () => {
  const server = setupServer();
  registerMswTestHooks(server);

  const client = new CiExperienceClient({
    discoveryApi: { getBaseUrl: async () => baseUrl },
    fetchApi: { fetch: (...args) => fetch(...args) },
  });

  const emptyPage: CiRunsResponse = { items: [], sources: [] };

  it('builds the runs URL from the entity ref and the query', async () => {
    let requested: URL | undefined;
    server.use(
      http.get(
        `${baseUrl}/entities/:kind/:namespace/:name/runs`,
        ({ request }) => {
          requested = new URL(request.url);
          return HttpResponse.json(emptyPage);
        },
      ),
    );

    const result = await client.getRuns(
      { kind: 'Component', namespace: 'Default', name: 'my service/x' },
      {
        branch: 'feature/a b',
        status: ['failed', 'running'],
        workflow: 'CI',
        provider: ['github-actions', 'jenkins'],
        limit: 50,
        cursor: 'abc',
      },
    );

    expect(result).toEqual(emptyPage);
    expect(requested?.pathname).toBe(
      '/api/ci-experience/entities/component/default/my%20service%2Fx/runs',
    );
    expect(requested?.searchParams.get('branch')).toBe('feature/a b');
    expect(requested?.searchParams.getAll('status')).toEqual([
      'failed',
      'running',
    ]);
    expect(requested?.searchParams.get('workflow')).toBe('CI');
    expect(requested?.searchParams.getAll('provider')).toEqual([
      'github-actions',
      'jenkins',
    ]);
    expect(requested?.searchParams.get('limit')).toBe('50');
    expect(requested?.searchParams.get('cursor')).toBe('abc');
  });

  it('passes branchScope and attempts through, leaving the defaults out', async () => {
    const requested: URL[] = [];
    server.use(
      http.get(
        `${baseUrl}/entities/:kind/:namespace/:name/runs`,
        ({ request }) => {
          requested.push(new URL(request.url));
          return HttpResponse.json(emptyPage);
        },
      ),
    );
    const ref = { kind: 'component', namespace: 'default', name: 'svc' };

    await client.getRuns(ref, { branchScope: 'default', limit: 100 });
    await client.getRuns(ref, { branchScope: 'allowed', attempts: 'all' });
    await client.getRuns(ref, { branchScope: 'all', attempts: 'latest' });

    expect(requested.map(url => url.search)).toEqual([
      '?branchScope=default&limit=100',
      '?branchScope=allowed&attempts=all',
      '',
    ]);
  });

  it('sends no query string for an empty query', async () => {
    let requested: string | undefined;
    server.use(
      http.get(
        `${baseUrl}/entities/:kind/:namespace/:name/runs`,
        ({ request }) => {
          requested = request.url;
          return HttpResponse.json(emptyPage);
        },
      ),
    );

    await client.getRuns(
      { kind: 'component', namespace: 'default', name: 'svc' },
      {},
    );

    expect(requested).toBe(`${baseUrl}/entities/component/default/svc/runs`);
  });

  it('fetches one run by encoded id', async () => {
    server.use(
      http.get(`${baseUrl}/runs/:id`, ({ params }) =>
        HttpResponse.json({ id: params.id, workflow: 'CI' }),
      ),
    );

    await expect(client.getRun('a/b')).resolves.toMatchObject({
      id: 'a/b',
      workflow: 'CI',
    });
  });

  it('throws a ResponseError carrying the backend error', async () => {
    server.use(
      http.get(`${baseUrl}/entities/:kind/:namespace/:name/runs`, () =>
        HttpResponse.json(
          {
            error: { name: 'InputError', message: 'limit must be 1 to 100' },
            request: { method: 'GET', url: '/runs' },
            response: { statusCode: 400 },
          },
          { status: 400 },
        ),
      ),
    );

    const promise = client.getRuns(
      { kind: 'component', namespace: 'default', name: 'svc' },
      { limit: 1000 },
    );
    await expect(promise).rejects.toBeInstanceOf(ResponseError);
    await expect(promise).rejects.toMatchObject({
      statusCode: 400,
      body: { error: { name: 'InputError' } },
    });
  });

  it('throws a ResponseError for an unknown run', async () => {
    server.use(
      http.get(
        `${baseUrl}/runs/:id`,
        () => new HttpResponse('Not found', { status: 404 }),
      ),
    );

    await expect(client.getRun('nope')).rejects.toMatchObject({
      name: 'ResponseError',
      statusCode: 404,
    });
  });

  it('fetches a job log by encoded run and job id', async () => {
    let requested: string | undefined;
    server.use(
      http.get(`${baseUrl}/runs/:id/jobs/:jobId/log`, ({ request }) => {
        requested = new URL(request.url).pathname;
        return HttpResponse.json({
          text: 'line 1\nline 2',
          truncated: true,
          totalBytes: 2_000_000,
          url: 'https://ci.example.com/job/1/log',
        });
      }),
    );

    await expect(client.getJobLog('run-1', 'build / test')).resolves.toEqual({
      text: 'line 1\nline 2',
      truncated: true,
      totalBytes: 2_000_000,
      url: 'https://ci.example.com/job/1/log',
    });
    expect(requested).toBe(
      '/api/ci-experience/runs/run-1/jobs/build%20%2F%20test/log',
    );
  });

  it('throws a ResponseError with the message of a missing log', async () => {
    server.use(
      http.get(`${baseUrl}/runs/:id/jobs/:jobId/log`, () =>
        HttpResponse.json(
          {
            error: {
              name: 'NotFoundError',
              message: 'The jenkins provider does not serve job logs',
            },
            request: { method: 'GET', url: '/runs/r/jobs/j/log' },
            response: { statusCode: 404 },
          },
          { status: 404 },
        ),
      ),
    );

    await expect(client.getJobLog('r', 'j')).rejects.toMatchObject({
      name: 'ResponseError',
      statusCode: 404,
      body: {
        error: { message: 'The jenkins provider does not serve job logs' },
      },
    });
  });

  it('posts a rerun of the failed jobs as JSON to the entity run path', async () => {
    const requests: Array<{
      path: string;
      contentType: string | null;
      body: unknown;
    }> = [];
    server.use(
      http.post(
        `${baseUrl}/entities/:kind/:namespace/:name/runs/:id/rerun`,
        async ({ request }) => {
          requests.push({
            path: new URL(request.url).pathname,
            contentType: request.headers.get('content-type'),
            body: await request.json(),
          });
          return HttpResponse.json({}, { status: 202 });
        },
      ),
    );

    const ref = { kind: 'Component', namespace: 'Default', name: 'pay ments' };
    await expect(
      client.rerunRun(ref, 'run-9', { failedOnly: true }),
    ).resolves.toBeUndefined();
    await client.rerunRun(ref, 'run-9');

    expect(requests).toEqual([
      {
        path: '/api/ci-experience/entities/component/default/pay%20ments/runs/run-9/rerun',
        contentType: 'application/json',
        body: { failedOnly: true },
      },
      {
        path: '/api/ci-experience/entities/component/default/pay%20ments/runs/run-9/rerun',
        contentType: 'application/json',
        body: {},
      },
    ]);
  });

  it('posts a cancel to the entity run path', async () => {
    let requested: { path: string; method: string } | undefined;
    server.use(
      http.post(
        `${baseUrl}/entities/:kind/:namespace/:name/runs/:id/cancel`,
        ({ request }) => {
          requested = {
            path: new URL(request.url).pathname,
            method: request.method,
          };
          return HttpResponse.json({}, { status: 202 });
        },
      ),
    );

    await client.cancelRun(
      { kind: 'component', namespace: 'default', name: 'svc' },
      'run-3',
    );
    expect(requested).toEqual({
      path: '/api/ci-experience/entities/component/default/svc/runs/run-3/cancel',
      method: 'POST',
    });
  });

  it('throws a ResponseError carrying the message of a refused action', async () => {
    server.use(
      http.post(
        `${baseUrl}/entities/:kind/:namespace/:name/runs/:id/cancel`,
        () =>
          HttpResponse.json(
            {
              error: {
                name: 'NotAllowedError',
                message: 'You may not cancel runs of component:default/svc',
              },
              request: { method: 'POST', url: '/cancel' },
              response: { statusCode: 403 },
            },
            { status: 403 },
          ),
      ),
    );

    const promise = client.cancelRun(
      { kind: 'component', namespace: 'default', name: 'svc' },
      'run-3',
    );
    await expect(promise).rejects.toBeInstanceOf(ResponseError);
    await expect(promise).rejects.toMatchObject({
      statusCode: 403,
      body: {
        error: {
          name: 'NotAllowedError',
          message: 'You may not cancel runs of component:default/svc',
        },
      },
    });
  });

  describe('insights', () => {
    it('asks for a window, a workflow and a branch set, each branch repeated', async () => {
      let requested: URL | undefined;
      server.use(
        http.get(
          `${baseUrl}/entities/:kind/:namespace/:name/insights`,
          ({ request }) => {
            requested = new URL(request.url);
            return HttpResponse.json(makeInsights());
          },
        ),
      );

      const result = await client.getInsights(
        { kind: 'Component', namespace: 'Default', name: 'my service' },
        { window: '7d', workflow: 'CI / build', branches: ['main', 'a,b'] },
      );

      expect(result).toEqual(makeInsights());
      expect(requested?.pathname).toBe(
        '/api/ci-experience/entities/component/default/my%20service/insights',
      );
      expect(requested?.searchParams.get('window')).toBe('7d');
      expect(requested?.searchParams.get('workflow')).toBe('CI / build');
      // A comma inside a branch name survives: repeated, never joined.
      expect(requested?.searchParams.getAll('branch')).toEqual(['main', 'a,b']);
      expect(requested?.searchParams.has('from')).toBe(false);
    });

    it('sends a custom range instead of a window, and nothing for no query', async () => {
      const requested: URL[] = [];
      server.use(
        http.get(
          `${baseUrl}/entities/:kind/:namespace/:name/insights`,
          ({ request }) => {
            requested.push(new URL(request.url));
            return HttpResponse.json(makeInsights());
          },
        ),
      );
      const ref = { kind: 'component', namespace: 'default', name: 'svc' };

      await client.getInsights(ref, {
        window: '90d',
        from: '2024-01-01T00:00:00.000Z',
        to: '2024-02-01T00:00:00.000Z',
      });
      await client.getInsights(ref);

      expect(requested[0].searchParams.get('from')).toBe(
        '2024-01-01T00:00:00.000Z',
      );
      expect(requested[0].searchParams.get('to')).toBe(
        '2024-02-01T00:00:00.000Z',
      );
      expect(requested[0].searchParams.has('window')).toBe(false);
      expect(requested[1].href).toBe(
        `${baseUrl}/entities/component/default/svc/insights`,
      );
    });

    it('reads the roll-ups of a group and of a system', async () => {
      const requested: URL[] = [];
      server.use(
        http.get(
          `${baseUrl}/groups/:namespace/:name/insights`,
          ({ request }) => {
            requested.push(new URL(request.url));
            return HttpResponse.json(makeRollup());
          },
        ),
        http.get(
          `${baseUrl}/systems/:namespace/:name/insights`,
          ({ request }) => {
            requested.push(new URL(request.url));
            return HttpResponse.json(makeRollup({ items: [] }));
          },
        ),
      );

      const group = await client.getGroupInsights(
        { kind: 'Group', namespace: 'Default', name: 'payments team' },
        '90d',
      );
      const system = await client.getSystemInsights({
        kind: 'System',
        namespace: 'default',
        name: 'shop',
      });

      expect(group).toEqual(makeRollup());
      expect(system.items).toEqual([]);
      expect(requested.map(url => `${url.pathname}${url.search}`)).toEqual([
        '/api/ci-experience/groups/default/payments%20team/insights?window=90d',
        '/api/ci-experience/systems/default/shop/insights',
      ]);
    });

    it('throws a ResponseError carrying the message of a bad window', async () => {
      server.use(
        http.get(`${baseUrl}/entities/:kind/:namespace/:name/insights`, () =>
          HttpResponse.json(
            {
              error: {
                name: 'InputError',
                message: 'Invalid window "1y": use 7d, 30d or 90d',
              },
              request: { method: 'GET', url: '/insights' },
              response: { statusCode: 400 },
            },
            { status: 400 },
          ),
        ),
      );

      const promise = client.getInsights(
        { kind: 'component', namespace: 'default', name: 'svc' },
        { window: '30d' },
      );
      await expect(promise).rejects.toBeInstanceOf(ResponseError);
      await expect(promise).rejects.toMatchObject({
        statusCode: 400,
        body: { error: { message: 'Invalid window "1y": use 7d, 30d or 90d' } },
      });
    });
  });

  describe('alerts', () => {
    const ref = { kind: 'Component', namespace: 'Default', name: 'pay ments' };
    const entityPath =
      '/api/ci-experience/entities/component/default/pay%20ments';

    const input: CiAlertRuleInput = {
      name: 'Main is red',
      kind: 'default-branch-broken',
      params: { runs: 3, minutes: 30 },
      branches: [],
      severity: 'critical',
      enabled: true,
      notifications: true,
    };

    const rule = makeAlertRule();
    const firing = makeAlertFiring();

    interface Seen {
      method: string;
      path: string;
      contentType: string | null;
      body: unknown;
    }

    /** Records every request to the alert routes and answers `reply`. */
    function record(reply: (seen: Seen) => Response) {
      const seen: Seen[] = [];
      const handler = async ({ request }: { request: Request }) => {
        const text = await request.text();
        const entry = {
          method: request.method,
          path: new URL(request.url).pathname,
          contentType: request.headers.get('content-type'),
          body: text ? JSON.parse(text) : undefined,
        };
        seen.push(entry);
        return reply(entry);
      };
      server.use(
        http.all(
          `${baseUrl}/entities/:kind/:namespace/:name/alert-rules`,
          handler,
        ),
        http.all(
          `${baseUrl}/entities/:kind/:namespace/:name/alert-rules/preview`,
          handler,
        ),
        http.all(`${baseUrl}/entities/:kind/:namespace/:name/alerts`, handler),
        http.all(`${baseUrl}/alert-rules/:id`, handler),
      );
      return seen;
    }

    it('lists the rules and the firings of an entity', async () => {
      const seen = record(({ path }) =>
        path.endsWith('/alerts')
          ? HttpResponse.json({ firings: [firing] })
          : HttpResponse.json({ rules: [rule] }),
      );

      await expect(client.getAlertRules(ref)).resolves.toEqual({
        rules: [rule],
      });
      await expect(client.getAlertFirings(ref)).resolves.toEqual({
        firings: [firing],
      });
      expect(seen.map(({ method, path }) => [method, path])).toEqual([
        ['GET', `${entityPath}/alert-rules`],
        ['GET', `${entityPath}/alerts`],
      ]);
    });

    it('creates a rule and previews a draft with the input as JSON', async () => {
      const preview = { days: 30, firings: 2, openedAt: ['a', 'b'] };
      const seen = record(({ path }) =>
        path.endsWith('/preview')
          ? HttpResponse.json(preview)
          : HttpResponse.json(rule, { status: 201 }),
      );

      await expect(client.createAlertRule(ref, input)).resolves.toEqual(rule);
      await expect(client.previewAlertRule(ref, input)).resolves.toEqual(
        preview,
      );
      expect(seen).toEqual([
        {
          method: 'POST',
          path: `${entityPath}/alert-rules`,
          contentType: 'application/json',
          body: input,
        },
        {
          method: 'POST',
          path: `${entityPath}/alert-rules/preview`,
          contentType: 'application/json',
          body: input,
        },
      ]);
    });

    it('reads, replaces and deletes a rule by encoded id, sending the Slack URL only when given', async () => {
      const seen = record(({ method }) =>
        method === 'DELETE'
          ? new HttpResponse(null, { status: 204 })
          : HttpResponse.json(makeAlertRule({ id: 'a/b' })),
      );

      await expect(client.getAlertRule('a/b')).resolves.toMatchObject({
        id: 'a/b',
      });
      // Without slackWebhookUrl: the stored webhook is kept.
      await client.updateAlertRule('a/b', input);
      await client.updateAlertRule('a/b', {
        ...input,
        slackWebhookUrl: 'https://hooks.slack.com/services/T/B/x',
      });
      await client.updateAlertRule('a/b', { ...input, slackWebhookUrl: null });
      await expect(client.deleteAlertRule('a/b')).resolves.toBeUndefined();

      const path = '/api/ci-experience/alert-rules/a%2Fb';
      expect(seen.map(({ method, path: p }) => [method, p])).toEqual([
        ['GET', path],
        ['PUT', path],
        ['PUT', path],
        ['PUT', path],
        ['DELETE', path],
      ]);
      expect(seen[1].contentType).toBe('application/json');
      expect(seen[1].body).toEqual(input);
      expect(seen[1].body).not.toHaveProperty('slackWebhookUrl');
      expect(seen[2].body).toEqual({
        ...input,
        slackWebhookUrl: 'https://hooks.slack.com/services/T/B/x',
      });
      expect(seen[3].body).toEqual({ ...input, slackWebhookUrl: null });
      expect(seen[4].body).toBeUndefined();
    });

    it('throws a ResponseError carrying the field the backend names', async () => {
      record(() =>
        HttpResponse.json(
          {
            error: {
              name: 'InputError',
              message: 'params.minutes must be an integer from 1 to 43200',
            },
            request: { method: 'POST', url: '/alert-rules' },
            response: { statusCode: 400 },
          },
          { status: 400 },
        ),
      );

      const promise = client.createAlertRule(ref, input);
      await expect(promise).rejects.toBeInstanceOf(ResponseError);
      await expect(promise).rejects.toMatchObject({
        statusCode: 400,
        body: {
          error: {
            message: 'params.minutes must be an integer from 1 to 43200',
          },
        },
      });
      await expect(client.previewAlertRule(ref, input)).rejects.toMatchObject({
        name: 'ResponseError',
        statusCode: 400,
      });
    });

    it('throws a ResponseError for a refused change or an unknown rule', async () => {
      record(({ method }) =>
        method === 'GET'
          ? new HttpResponse('Not found', { status: 404 })
          : HttpResponse.json(
              {
                error: {
                  name: 'NotAllowedError',
                  message:
                    'You may not change the alerts of component:default/svc',
                },
                request: { method, url: '/alert-rules/r' },
                response: { statusCode: 403 },
              },
              { status: 403 },
            ),
      );

      await expect(client.updateAlertRule('r', input)).rejects.toMatchObject({
        name: 'ResponseError',
        statusCode: 403,
        body: { error: { name: 'NotAllowedError' } },
      });
      await expect(client.deleteAlertRule('r')).rejects.toBeInstanceOf(
        ResponseError,
      );
      await expect(client.getAlertRule('r')).rejects.toMatchObject({
        statusCode: 404,
      });
    });
  });
});
