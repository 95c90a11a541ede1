import { coreExtensionData } from '@backstage/frontend-plugin-api';
import {
  createExtensionTester,
  mockApis,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { act, screen, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { ciOperationsPage } from '../../alpha';
import { CiAdminOnly } from './CiAdminOnly';
import { BASE, render, STATUS } from '../../__testUtils__/operatorStatus';

// usePermission keeps its answers in a cache that outlives a render (SWR's,
// per module registry): the tests of a denied user are in
// CiOperationsPage.denied.test.tsx, so that each file sees one answer.

// Rendering tables is slow on a loaded 2-core machine; this is no speed target.
jest.setTimeout(30_000);

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

describe('CiOperationsContent', () => {
  it('shows hosts, sources worst first, webhook intake and queues to an admin', async () => {
    const asked: string[] = [];
    server.use(
      http.get(`${BASE}/admin/status`, ({ request }) => {
        asked.push(new URL(request.url).search);
        return HttpResponse.json(STATUS);
      }),
    );
    await render(AuthorizeResult.ALLOW);

    expect(await screen.findByText('github.com')).toBeInTheDocument();
    expect(asked).toEqual(['']);
    // Budget used and left, breaker state and since when, last error.
    expect(
      screen.getByText(/3,800 used, 200 left of 4,000 \(80 % of 5,000/),
    ).toBeInTheDocument();
    expect(
      screen.getByText(/Breaker open: unreachable since/),
    ).toBeInTheDocument();
    expect(
      screen.getByText(
        'Last error: GitHub did not answer within 30s for demo-org/api',
      ),
    ).toBeInTheDocument();
    expect(screen.getByText('Breaker closed')).toBeInTheDocument();
    expect(
      screen.getByRole('progressbar', { name: 'github.com budget used' }),
    ).toHaveAttribute('aria-valuenow', '95');

    // Sources, worst first, out of the total.
    expect(
      screen.getByText('Sources, worst first (2 of 9,000)'),
    ).toBeInTheDocument();
    const rows = screen
      .getAllByRole('row')
      .filter(r => /demo-org\//.test(r.textContent ?? ''));
    expect(rows.map(r => r.textContent)).toEqual([
      expect.stringMatching(
        /demo-org\/legacy-billing.*quiet.*3 hours ago.*3h 0m.*GitHub refused access.*in 10 minutes.*no \(polled\)/,
      ),
      expect.stringMatching(/demo-org\/payments-service.*webhook.*1m 30s.*yes/),
    ]);

    // Webhook intake by outcome, with its lag.
    const intake = screen.getByText('Webhook intake').closest('.MuiCard-root')!;
    for (const [label, n] of [
      ['Accepted', '120'],
      ['Duplicate', '7'],
      ['Unclaimed', '3'],
      ['Rejected', '1'],
      ['Malformed', '2'],
    ]) {
      expect(
        within(intake as HTMLElement).getByRole('row', {
          name: `${label} ${n}`,
        }),
      ).toBeInTheDocument();
    }
    expect(screen.getByText('Intake lag: p50 1s, p95 4s')).toBeInTheDocument();

    // Queue depths; one at the counting cap shows as "at least".
    const queues = screen.getByText('Queues').closest('.MuiCard-root')!;
    expect(
      within(queues as HTMLElement).getByRole('row', {
        name: 'Failure triage 12',
      }),
    ).toBeInTheDocument();
    expect(
      within(queues as HTMLElement).getByRole('row', {
        name: 'Insights aggregation 100,000+',
      }),
    ).toBeInTheDocument();
  });

  it("shows the backend's refusal when it disagrees with the frontend", async () => {
    server.use(
      http.get(`${BASE}/admin/status`, () =>
        HttpResponse.json(
          {
            error: {
              name: 'NotAllowedError',
              message:
                'The operator status needs the ci-experience.admin.read permission',
            },
            request: { method: 'GET', url: '/admin/status' },
            response: { statusCode: 403 },
          },
          { status: 403 },
        ),
      ),
    );
    await render(AuthorizeResult.ALLOW);

    expect(
      (
        await screen.findAllByText(
          'The operator status needs the ci-experience.admin.read permission',
        )
      ).length,
    ).toBeGreaterThan(0);
    expect(screen.queryByText('github.com')).not.toBeInTheDocument();
  });
});

describe('CiAdminOnly', () => {
  it('shows its children to an admin', async () => {
    await act(async () => {
      renderInTestApp(<CiAdminOnly>CI operations</CiAdminOnly>, {
        apis: [mockApis.permission({ authorize: AuthorizeResult.ALLOW })],
      });
    });
    expect(screen.getByText('CI operations')).toBeInTheDocument();
  });
});

describe('ciOperationsPage (new frontend system)', () => {
  it('is a page at /ci-experience/operations titled CI operations', () => {
    const tester = createExtensionTester(ciOperationsPage);
    expect(tester.get(coreExtensionData.routePath)).toBe(
      '/ci-experience/operations',
    );
    expect(tester.get(coreExtensionData.title)).toBe('CI operations');
    expect(tester.get(coreExtensionData.icon)).toBeDefined();
  });
});
