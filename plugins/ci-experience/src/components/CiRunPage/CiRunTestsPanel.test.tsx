import { renderInTestApp } from '@backstage/frontend-test-utils';
import { screen, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { ciExperienceApiRef, CiExperienceClient } from '../../api';
import { CiRunTestsPanel, TESTS_GUIDE } from './CiRunTestsPanel';

jest.setTimeout(30_000);

const BASE = 'http://localhost:7007/api/ci-experience';

// What GET /runs/{id}/tests answers for Surefire's flaky.xml fixture
// (plugins/ci-experience-backend/src/routes/testResults.test.ts stores
// that report and reads this answer back), one passing test added.
const ANSWER = {
  items: [
    {
      id: 'a1',
      suite: 'example.ExampleTests',
      classname: 'example.ExampleTests',
      name: 'failsAssertionAlways',
      status: 'failed',
      durationMs: 12,
      message: 'Always fails assertion ==> expected: <1> but was: <2>',
    },
    {
      id: 'a2',
      suite: 'example.ExampleTests',
      classname: 'example.ExampleTests',
      name: 'throwsOnlyFirstAttempt',
      status: 'flaky',
      message: 'First attempt throws exception',
    },
    {
      id: 'a3',
      suite: 'example.ExampleTests',
      classname: 'example.ExampleTests',
      name: 'passes',
      status: 'passed',
      durationMs: 3,
    },
  ],
};

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

function render(runId: string) {
  return renderInTestApp(<CiRunTestsPanel runId={runId} />, {
    apis: [
      [
        ciExperienceApiRef,
        new CiExperienceClient({
          discoveryApi: { getBaseUrl: async () => BASE },
          fetchApi: { fetch: (...args) => fetch(...args) },
        }),
      ],
    ],
  });
}

describe('CiRunTestsPanel', () => {
  it('lists the run’s tests as the backend orders them, failed with its message, flaky marked', async () => {
    server.use(
      http.get(`${BASE}/runs/run%3A7/tests`, () => HttpResponse.json(ANSWER)),
    );
    render('run:7');
    expect(await screen.findByTestId('tests-summary')).toHaveTextContent(
      '3 tests, 1 failed, 1 flaky',
    );
    const rows = screen.getAllByRole('row').slice(1);
    expect(
      rows.map(r => within(r).getAllByRole('cell')[0].textContent),
    ).toEqual([
      expect.stringContaining('failsAssertionAlways'),
      expect.stringContaining('throwsOnlyFirstAttempt'),
      expect.stringContaining('passes'),
    ]);
    expect(
      within(rows[0]).getByText(
        'Always fails assertion ==> expected: <1> but was: <2>',
      ),
    ).toBeInTheDocument();
    expect(
      within(rows[0]).getByTestId('test-status-failed'),
    ).toBeInTheDocument();
    expect(
      within(rows[1]).getByTestId('test-status-flaky'),
    ).toBeInTheDocument();
  });

  it('shows each test’s last results, a quarantine, and the guide its failure matches', async () => {
    // As plugins/ci-experience-backend/src/routes/testResults.test.ts reads
    // it back: a failure whose message the network-timeout rule matches.
    server.use(
      http.get(`${BASE}/runs/r9/tests`, () =>
        HttpResponse.json({
          items: [
            {
              id: 'b1',
              suite: 'api',
              classname: 'api.Refunds',
              name: 'refunds a payment',
              status: 'failed',
              message: 'connect ETIMEDOUT 10.0.0.5:5432',
              history: ['passed', 'flaky', 'passed', 'failed'],
              quarantined: true,
              guide: {
                id: 'network-timeout',
                title: 'Network or DNS timeout',
                url: '/docs/default/component/ci-experience/troubleshooting/network-timeout/',
              },
            },
            {
              id: 'b2',
              suite: 'api',
              name: 'lists refunds',
              status: 'passed',
              history: ['passed'],
            },
          ],
        }),
      ),
    );
    render('r9');
    await screen.findByTestId('tests-summary');
    const [first, second] = screen.getAllByRole('row').slice(1);
    const bars = within(first).getByTestId('test-history');
    expect(bars).toHaveAttribute(
      'aria-label',
      'Last 4 results: 2 passed, 1 failed, 1 flaky',
    );
    expect(
      [...bars.querySelectorAll('rect')].map(r =>
        r.getAttribute('data-status'),
      ),
    ).toEqual(['passed', 'flaky', 'passed', 'failed']);
    expect(within(first).getByTestId('test-quarantined')).toBeInTheDocument();
    expect(within(first).getByTestId('test-guide')).toHaveTextContent(
      'Network or DNS timeout: How to fix',
    );
    expect(
      within(first).getByRole('link', { name: 'How to fix' }),
    ).toHaveAttribute(
      'href',
      '/docs/default/component/ci-experience/troubleshooting/network-timeout/',
    );
    expect(within(second).queryByTestId('test-quarantined')).toBeNull();
    expect(within(second).queryByTestId('test-guide')).toBeNull();
  });

  it('says how to send results when the run has none, and why it could not read them', async () => {
    server.use(
      http.get(`${BASE}/runs/empty/tests`, () =>
        HttpResponse.json({ items: [] }),
      ),
      http.get(`${BASE}/runs/hidden/tests`, () =>
        HttpResponse.json(
          { error: { name: 'NotFoundError', message: 'No run hidden' } },
          { status: 404 },
        ),
      ),
    );
    render('empty');
    expect(
      await screen.findByRole('link', { name: 'Test results' }),
    ).toHaveAttribute('href', TESTS_GUIDE);
    render('hidden');
    expect(await screen.findByText(/No run hidden/)).toBeInTheDocument();
  });
});
