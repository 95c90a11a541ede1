import { apiRequest, CI_API_ROUTES } from './generated/routes';

// apiRequest is generated from the backend's OpenAPI spec
// (scripts/openapi.cjs): these pin what it builds from it.
describe('apiRequest', () => {
  it('fills and encodes the path, repeats array query values and skips undefined ones', () => {
    const { method, path, init } = apiRequest('ListEntityRuns', {
      path: { kind: 'component', namespace: 'default', name: 'a/b c' },
      query: {
        status: ['failed', 'running'],
        branch: 'feature/x,y',
        workflow: undefined,
        limit: '10',
      },
    });
    expect(method).toBe('GET');
    expect(path).toBe(
      '/entities/component/default/a%2Fb%20c/runs?status=failed&status=running&branch=feature%2Fx%2Cy&limit=10',
    );
    expect(init).toEqual({ method: 'GET' });
  });

  it('takes the method from the operation and sends its body as JSON', () => {
    const ref = { kind: 'component', namespace: 'default', name: 'svc' };
    const list = apiRequest('ListAlertRules', { path: ref });
    const create = apiRequest('CreateAlertRule', {
      path: ref,
      body: { kind: 'red-default-branch' },
    });
    expect(list.path).toBe(create.path);
    expect([list.method, create.method]).toEqual(['GET', 'POST']);
    expect(create.init).toEqual({
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"kind":"red-default-branch"}',
    });
    expect(apiRequest('DeleteAlertRule', { path: { id: '7' } })).toEqual({
      method: 'DELETE',
      path: '/alert-rules/7',
      init: { method: 'DELETE' },
    });
  });

  it('sends only the query parameters the spec declares', () => {
    const { path } = apiRequest('GetGroupInsights', {
      path: { namespace: 'default', name: 'team-a' },
      // Not in the spec: dropped at run time, and a type error at compile time.
      // @ts-expect-error
      query: { window: '7d', other: 'x' },
    });
    expect(path).toBe('/groups/default/team-a/insights?window=7d');
    expect(CI_API_ROUTES.GetGroupInsights.query).toEqual(['window']);
  });
});
