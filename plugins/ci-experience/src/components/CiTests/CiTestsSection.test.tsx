import { Entity } from '@backstage/catalog-model';
import { mockApis, renderInTestApp } from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { act, fireEvent, screen, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { ciExperienceApiRef, CiExperienceClient } from '../../api';
import { CiTestsSection } from './CiTestsSection';

jest.setTimeout(30_000);

const BASE = 'http://localhost:7007/api/ci-experience';
const DAY = 86400_000;

// GET /entities/{kind}/{namespace}/{name}/tests as the backend answers it
// (plugins/ci-experience-backend/src/routes/testResults.test.ts reads
// the same shape back): flaky first, then broken, fixed and stable.
const TESTS = {
  items: [
    {
      id: 'a'.repeat(32),
      suite: 'api',
      name: 'refunds a payment',
      state: 'flaky',
      runs: 41,
      failures: 3,
      flakeRate: 0.0732,
      timeLostMs: 1_260_000,
      quarantined: false,
    },
    {
      id: 'b'.repeat(32),
      suite: 'api',
      name: 'settles a batch',
      state: 'broken',
      runs: 6,
      failures: 6,
      flakeRate: 0,
      timeLostMs: 0,
      quarantined: false,
    },
    {
      id: 'c'.repeat(32),
      suite: 'api',
      name: 'lists refunds',
      state: 'stable',
      runs: 41,
      failures: 0,
      flakeRate: 0,
      timeLostMs: 0,
      quarantined: false,
    },
  ],
};

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const entity = (name: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name, namespace: 'default' },
  spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
});

async function render(
  name: string,
  permission: AuthorizeResult.ALLOW | AuthorizeResult.DENY,
) {
  await act(async () => {
    renderInTestApp(
      <EntityProvider entity={entity(name)}>
        <CiTestsSection />
      </EntityProvider>,
      {
        apis: [
          [
            ciExperienceApiRef,
            new CiExperienceClient({
              discoveryApi: { getBaseUrl: async () => BASE },
              fetchApi: { fetch: (...args) => fetch(...args) },
            }),
          ],
          mockApis.permission({ authorize: permission }),
        ],
      },
    );
  });
}

describe('CiTestsSection', () => {
  it('lists flaky and broken tests, not stable ones; an owner quarantines one', async () => {
    const puts: unknown[] = [];
    let quarantined = false;
    server.use(
      http.get(`${BASE}/entities/component/default/app/tests`, () =>
        HttpResponse.json({
          items: TESTS.items.map(t =>
            t.id === 'a'.repeat(32) ? { ...t, quarantined } : t,
          ),
        }),
      ),
      http.put(
        `${BASE}/entities/component/default/app/tests/${'a'.repeat(
          32,
        )}/quarantine`,
        async ({ request }) => {
          puts.push(await request.json());
          quarantined = true;
          return HttpResponse.json({});
        },
      ),
    );
    await render('app', AuthorizeResult.ALLOW);
    const flaky = (await screen.findByText('refunds a payment')).closest(
      'tr',
    ) as HTMLElement;
    expect(within(flaky).getByTestId('test-state-flaky')).toBeInTheDocument();
    expect(within(flaky).getByText('7.3 %')).toBeInTheDocument();
    expect(screen.getByTestId('test-state-broken')).toBeInTheDocument();
    expect(screen.queryByText('lists refunds')).not.toBeInTheDocument();

    const before = Date.now();
    fireEvent.click(within(flaky).getByRole('button', { name: 'Quarantine' }));
    fireEvent.change(await screen.findByLabelText(/Reason/), {
      target: { value: 'times out on macOS runners' },
    });
    await act(async () => {
      fireEvent.click(
        within(screen.getByRole('dialog')).getByRole('button', {
          name: 'Quarantine',
        }),
      );
    });
    expect(await screen.findByText('quarantined')).toBeInTheDocument();
    expect(puts).toEqual([
      { reason: 'times out on macOS runners', expiresAt: expect.any(String) },
    ]);
    const expires = Date.parse((puts[0] as { expiresAt: string }).expiresAt);
    expect(expires - before).toBeGreaterThanOrEqual(14 * DAY);
    expect(expires - before).toBeLessThan(15 * DAY);
    // (The closing dialog still hides the page from the accessibility tree.)
    expect(await screen.findByText('Lift quarantine')).toBeInTheDocument();
  });

  it('offers no quarantine to others, and says so when nothing is flaky', async () => {
    server.use(
      http.get(`${BASE}/entities/component/default/other/tests`, () =>
        HttpResponse.json(TESTS),
      ),
      http.get(`${BASE}/entities/component/default/calm/tests`, () =>
        HttpResponse.json({ items: [TESTS.items[2]] }),
      ),
    );
    await render('other', AuthorizeResult.DENY);
    expect(await screen.findByText('refunds a payment')).toBeInTheDocument();
    expect(
      screen.queryByRole('button', { name: 'Quarantine' }),
    ).not.toBeInTheDocument();
    await render('calm', AuthorizeResult.ALLOW);
    expect(
      await screen.findByText(
        /No flaky or broken tests among 1 in the last 30 days/,
      ),
    ).toBeInTheDocument();
  });
  it('shows the trend against the 30 days before, and the slowest and most failing tests', async () => {
    server.use(
      http.get(`${BASE}/entities/component/default/trend/tests`, () =>
        HttpResponse.json({
          items: TESTS.items.map((t, i) => ({
            ...t,
            meanDurationMs: [2000, 500, 90_000][i],
          })),
          window: {
            from: '2026-11-03T00:00:00.000Z',
            to: '2026-12-03T00:00:00.000Z',
          },
          totals: {
            tests: 3,
            flaky: 1,
            broken: 1,
            runs: 88,
            failures: 9,
            timeLostMs: 1_260_000,
          },
          previous: {
            tests: 3,
            flaky: 0,
            broken: 0,
            runs: 80,
            failures: 2,
            timeLostMs: 0,
          },
        }),
      ),
    );
    await render('trend', AuthorizeResult.DENY);
    expect(await screen.findByTestId('tests-trend')).toHaveTextContent(
      '1 flaky (0 flaky the 30 days before) · 10.2 % of test runs failed (2.5 % of test runs failed the 30 days before) · 21m 0s lost to flakes (no time lost to flakes the 30 days before)',
    );
    const names = () =>
      screen
        .getAllByRole('row')
        .slice(1)
        .map(r => within(r).getAllByRole('cell')[0].textContent);
    expect(names()).toEqual([
      expect.stringContaining('refunds a payment'),
      expect.stringContaining('settles a batch'),
    ]);
    fireEvent.mouseDown(
      screen.getByRole('button', { name: /Flaky and broken/ }),
    );
    fireEvent.click(await screen.findByRole('option', { name: 'Slowest' }));
    expect(
      await screen.findByText(/The 20 slowest tests, last 30 days/),
    ).toBeInTheDocument();
    expect(names()).toEqual([
      expect.stringContaining('lists refunds'),
      expect.stringContaining('refunds a payment'),
      expect.stringContaining('settles a batch'),
    ]);
    fireEvent.mouseDown(screen.getByRole('button', { name: /Slowest/ }));
    fireEvent.click(
      await screen.findByRole('option', { name: 'Most failing' }),
    );
    await screen.findByText(/The 20 tests that failed most/);
    expect(names()).toEqual([
      expect.stringContaining('settles a batch'),
      expect.stringContaining('refunds a payment'),
    ]);
  });
});
