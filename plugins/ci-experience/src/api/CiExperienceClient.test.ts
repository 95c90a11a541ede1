import { registerMswTestHooks } from '@backstage/test-utils';
import { ResponseError } from '@backstage/errors';
import { CiRunsResponse } from '@ci-experience/plugin-ci-experience-common';
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
});
