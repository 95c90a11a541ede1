import { renderInTestApp } from '@backstage/frontend-test-utils';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { CiExperienceApi, ciExperienceApiRef } from '../../api';
import {
  alertsApiStubs,
  testsApiStubs,
  insightsApiStubs,
  makeEmptyInsights,
  makeInsights,
} from '../../testing/fixtures';
import { CiInsightsHeader } from './CiInsightsHeader';

// jsdom lays nothing out, so a ResponsiveContainer measures 0 × 0 and draws
// no chart: give the charts a fixed size instead.
jest.mock('recharts', () => {
  const actual = jest.requireActual('recharts');
  const { cloneElement } = jest.requireActual('react');
  return {
    ...actual,
    ResponsiveContainer: (props: { children: any }) =>
      cloneElement(props.children, { width: 600, height: 180 }),
  };
});

jest.setTimeout(30_000);

const entityRef = { kind: 'Component', namespace: 'default', name: 'payments' };

function fakeApi(getInsights?: CiExperienceApi['getInsights']) {
  return {
    getRuns: jest.fn(),
    getRun: jest.fn(),
    getJobLog: jest.fn(),
    rerunRun: jest.fn(),
    cancelRun: jest.fn(),
    ...insightsApiStubs(),
    ...alertsApiStubs(),
    ...testsApiStubs(),
    ...(getInsights ? { getInsights: jest.fn(getInsights) } : {}),
  } satisfies CiExperienceApi;
}

function render(api: CiExperienceApi) {
  return renderInTestApp(
    <CiInsightsHeader
      entityRef={entityRef}
      branchesSeen={['main', 'feature/x']}
      workflowsSeen={['CI']}
    />,
    { apis: [[ciExperienceApiRef, api]] },
  );
}

const tile = (label: string) => screen.getByRole('group', { name: label });

describe('CiInsightsHeader', () => {
  it('shows each figure with its sample, the previous value and a trend arrow coloured by whether the move is good', async () => {
    const api = fakeApi(async () => makeInsights());
    await render(api);

    await screen.findByText('90%');
    expect(api.getInsights).toHaveBeenCalledWith(entityRef, {
      window: '30d',
      workflow: undefined,
      branches: undefined,
    });
    // The window and the branch counted, from the response.
    expect(
      screen.getByText(
        '1 May 2024 – 30 May 2024 on main; arrows compare with the previous 30 days.',
      ),
    ).toBeInTheDocument();

    // Success rate 0.9 on 40 runs, 0.8 before: up, which is good.
    const success = tile('Success rate');
    expect(within(success).getByText('90%')).toBeInTheDocument();
    expect(within(success).getByText('on 40 runs')).toBeInTheDocument();
    expect(within(success).getByText('previous: 80%')).toBeInTheDocument();
    expect(
      within(success).getByRole('img', {
        name: 'up, better than the previous window',
      }),
    ).toHaveTextContent('↑');

    // Duration p50 2m 30s against 2m 0s: up, which is bad.
    const p50 = tile('Duration p50');
    expect(within(p50).getByText('2m 30s')).toBeInTheDocument();
    expect(within(p50).getByText('previous: 2m 0s')).toBeInTheDocument();
    expect(
      within(p50).getByRole('img', {
        name: 'up, worse than the previous window',
      }),
    ).toHaveTextContent('↑');

    // Duration p95 9m 0s against 10m 0s: down, which is good.
    expect(
      within(tile('Duration p95')).getByRole('img', {
        name: 'down, better than the previous window',
      }),
    ).toHaveTextContent('↓');
    // Queue p50 5s both times: flat.
    expect(
      within(tile('Queue p50')).getByRole('img', {
        name: 'unchanged from the previous window',
      }),
    ).toHaveTextContent('→');
    // More runs is neither good nor bad.
    expect(within(tile('Runs')).getByText('42')).toBeInTheDocument();
    expect(
      within(tile('Runs')).getByRole('img', {
        name: 'up from the previous window',
      }),
    ).toBeInTheDocument();
    // 42 runs / 30 days.
    expect(within(tile('Throughput')).getByText('1.4/day')).toBeInTheDocument();
    // Flaky rate 5% on 20 commits against 10%: down, good.
    const flaky = tile('Flaky rate');
    expect(within(flaky).getByText('5%')).toBeInTheDocument();
    expect(within(flaky).getByText('on 20 commits')).toBeInTheDocument();
    expect(
      within(flaky).getByRole('img', {
        name: 'down, better than the previous window',
      }),
    ).toBeInTheDocument();
  });

  it('shows a figure below the minimum sample as such, greyed and without an arrow', async () => {
    await render(fakeApi(async () => makeInsights()));

    await screen.findByText('90%');
    // Time to recovery: 1 h on 3 recoveries, minimum 10.
    const recovery = tile('Time to recovery');
    const value = within(recovery).getByText('1h 0m');
    expect(value.className).toMatch(/low/);
    expect(
      within(recovery).getByText('too few recoveries (3 of 10)'),
    ).toBeInTheDocument();
    expect(within(recovery).queryByRole('img')).not.toBeInTheDocument();
    expect(within(recovery).getByText('previous: —')).toBeInTheDocument();
    expect(
      within(tile('Worst recovery')).getByText('too few recoveries (3 of 10)'),
    ).toBeInTheDocument();
    // A confident figure is not greyed.
    expect(within(tile('Success rate')).getByText('90%').className).not.toMatch(
      /low/,
    );
  });

  it('says so when there are no runs rather than showing zeros as figures', async () => {
    await render(fakeApi(async () => makeEmptyInsights()));

    const success = await screen.findByRole('group', { name: 'Success rate' });
    await waitFor(() => expect(within(success).getByText('—')).toBeVisible());
    expect(within(success).getByText('no runs')).toBeInTheDocument();
    expect(within(tile('Flaky rate')).getByText('no commits')).toBeVisible();
    expect(screen.queryAllByRole('img')).toHaveLength(0);
  });

  it('refetches when the window, the workflow or the branch set changes', async () => {
    const api = fakeApi(async (_ref, query) =>
      makeInsights({
        window: {
          from: '2024-05-24T00:00:00.000Z',
          to: '2024-05-31T00:00:00.000Z',
          label: query?.window ?? '30d',
        },
        branches: query?.branches ?? ['main'],
        workflow: query?.workflow,
      }),
    );
    await render(api);
    await screen.findByText('90%');

    fireEvent.change(screen.getByLabelText('Window'), {
      target: { value: '7d' },
    });
    await waitFor(() =>
      expect(api.getInsights).toHaveBeenLastCalledWith(entityRef, {
        window: '7d',
        workflow: undefined,
        branches: undefined,
      }),
    );
    await screen.findByText(/arrows compare with the previous 7 days/);

    fireEvent.change(screen.getByLabelText('Workflows'), {
      target: { value: 'Deploy' },
    });
    await waitFor(() =>
      expect(api.getInsights).toHaveBeenLastCalledWith(entityRef, {
        window: '7d',
        workflow: 'Deploy',
        branches: undefined,
      }),
    );
    await screen.findByText(/, workflow Deploy;/);

    // Another branch from those seen in the runs.
    const branches = screen.getByLabelText('Branches');
    fireEvent.mouseDown(branches);
    fireEvent.click(await screen.findByRole('option', { name: 'feature/x' }));
    await waitFor(() =>
      expect(api.getInsights).toHaveBeenLastCalledWith(entityRef, {
        window: '7d',
        workflow: 'Deploy',
        branches: ['feature/x'],
      }),
    );
    await screen.findByText(/ on feature\/x, workflow Deploy;/);
    expect(api.getInsights).toHaveBeenCalledTimes(4);
  });

  it('shows an API error, and retries', async () => {
    let fail = true;
    const api = fakeApi(async () => {
      if (fail) {
        throw new Error('Invalid window "1y": use 7d, 30d or 90d');
      }
      return makeInsights();
    });
    await render(api);

    expect(
      await screen.findByText(
        'Could not load the CI health: Invalid window "1y": use 7d, 30d or 90d',
      ),
    ).toBeInTheDocument();
    expect(screen.queryByRole('group', { name: 'Success rate' })).toBeNull();
    // The pickers stay, so another window can be chosen.
    expect(screen.getByLabelText('Window')).toBeInTheDocument();

    fail = false;
    fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
    await screen.findByText('90%');
    expect(screen.queryByText(/Could not load/)).not.toBeInTheDocument();
  });

  it('draws the charts and rankings once unfolded, each failure class linking to its guide', async () => {
    await render(fakeApi(async () => makeInsights()));
    await screen.findByText('90%');

    // Folded away at first, so that the runs below stay in view.
    expect(screen.queryByTestId('ci-chart-duration')).not.toBeInTheDocument();
    fireEvent.click(screen.getByText('Show charts and rankings'));

    const duration = await screen.findByTestId('ci-chart-duration');
    // Two lines, p50 and p95, over the three days of the trend.
    await waitFor(() =>
      expect(duration.querySelectorAll('.recharts-line-curve').length).toBe(2),
    );
    expect(within(duration).getByText('p50')).toBeInTheDocument();
    expect(within(duration).getByText('p95')).toBeInTheDocument();
    const success = screen.getByTestId('ci-chart-success');
    expect(success.querySelectorAll('.recharts-line-curve')).toHaveLength(1);
    // Two classes, two bars.
    const failures = screen.getByTestId('ci-chart-failures');
    expect(failures.querySelectorAll('.recharts-bar-rectangle')).toHaveLength(
      2,
    );
    expect(
      within(failures).getByRole('link', { name: 'Failing tests' }),
    ).toHaveAttribute(
      'href',
      '/docs/default/component/ci-experience/troubleshooting/failing-tests/',
    );
    expect(within(failures).getByText(/: 5 failed jobs/)).toBeInTheDocument();
    // Without a guide, no link.
    expect(
      within(failures).queryByRole('link', { name: 'Out of memory' }),
    ).toBeNull();

    const flakyJobs = screen.getByRole('table', { name: 'Flakiest jobs' });
    expect(within(flakyJobs).getByText('e2e-tests')).toBeInTheDocument();
    // 1,200,000 ms lost to 2 flaky breaks: 20m 0s.
    expect(within(flakyJobs).getByText('20m 0s')).toBeInTheDocument();
    const slowest = screen.getByRole('table', { name: 'Slowest jobs' });
    expect(within(slowest).getByText('7m 0s')).toBeInTheDocument();
    expect(within(slowest).getByText('15m 0s')).toBeInTheDocument();
    const failing = screen.getByRole('table', { name: 'Most failing jobs' });
    expect(within(failing).getByText('5 of 42')).toBeInTheDocument();
    expect(
      screen.getByRole('table', { name: 'Flakiest workflows' }),
    ).toHaveTextContent('25m 0s');
  });

  it('says why a chart is empty instead of drawing nothing', async () => {
    await render(fakeApi(async () => makeEmptyInsights()));
    await screen.findByText('Show charts and rankings');
    fireEvent.click(screen.getByText('Show charts and rankings'));

    expect(
      await screen.findByText(
        'No finished run with a duration in this window.',
      ),
    ).toBeInTheDocument();
    expect(
      screen.getByText('No classified job failure in this window.'),
    ).toBeInTheDocument();
    expect(
      screen.getByText('No flaky job in this window.'),
    ).toBeInTheDocument();
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
  });
});
