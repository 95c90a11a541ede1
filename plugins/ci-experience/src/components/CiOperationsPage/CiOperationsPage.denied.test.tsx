import { mockApis, renderInTestApp } from '@backstage/frontend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { act, screen } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { CiAdminOnly } from './CiAdminOnly';
import { BASE, render, STATUS } from '../../__testUtils__/operatorStatus';

// usePermission keeps its answers in a cache that outlives a render (SWR's,
// per module registry): the tests of an admin are in CiOperationsPage.test.tsx.

// Rendering tables is slow on a loaded 2-core machine; this is no speed target.
jest.setTimeout(30_000);

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

describe('CiOperationsContent for someone who is no admin', () => {
  it('says which permission is missing, and asks the backend nothing', async () => {
    let asked = 0;
    server.use(
      http.get(`${BASE}/admin/status`, () => {
        asked += 1;
        return HttpResponse.json(STATUS);
      }),
    );
    await render(AuthorizeResult.DENY);

    expect(
      await screen.findByText(
        'You need the ci-experience.admin.read permission',
      ),
    ).toBeInTheDocument();
    expect(screen.queryByText('github.com')).not.toBeInTheDocument();
    expect(asked).toBe(0);
  });
});

describe('CiAdminOnly for someone who is no admin', () => {
  it('shows nothing', async () => {
    await act(async () => {
      renderInTestApp(
        <>
          <CiAdminOnly>CI operations</CiAdminOnly>
          <span>rest of the sidebar</span>
        </>,
        { apis: [mockApis.permission({ authorize: AuthorizeResult.DENY })] },
      );
    });
    expect(screen.getByText('rest of the sidebar')).toBeInTheDocument();
    expect(screen.queryByText('CI operations')).not.toBeInTheDocument();
  });
});
